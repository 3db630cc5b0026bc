"""The centre edits a company's delivery addresses on the console (rolled back per test): add,
change (checked as at application: a PRD city, the address, receiving hours, contact and phone —
every problem named), deactivate. An address open orders go to may be changed (the orders keep its
id, so their pages and the trip board show it as changed); deactivating one with undelivered
orders is refused 409 naming them; a deactivated address cannot be ordered to. Each change is a
company event with who did it."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.orders import service as order_service
from app.wholesale import addresses, amend_errors, errors, ordering, service
from app.wholesale.models import CompanyAction
from app.wholesale.ordering import BasketLine
from tests.fixtures.builders import make_user
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.helpers import as_principal, sign_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

HTML = {"accept": "text/html"}


def entry(**changes: str) -> service.AddressInput:
    values = {
        "city": "佛山",
        "address": "佛山市南海区里水镇水果批发市场 C 区 12 档",
        "receiving_from": "05:30",
        "receiving_until": "09:00",
        "contact_name": "陈小姐",
        "contact_phone": "13926010088",
    }
    return service.AddressInput(**{**values, **changes})


async def test_add_change_and_deactivate_are_recorded(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))

    added = await addresses.add_address(db_session, admin, ours.company.id, entry())
    assert (added.city, added.receiving_hours, added.contact_phone) == ("佛山", "05:30–09:00", "+8613926010088")
    changed = await addresses.update_address(
        db_session, admin, ours.company.id, added.id, entry(receiving_until="10:30", contact_name="陈经理")
    )
    assert changed.id == added.id and changed.receiving_hours == "05:30–10:30" and changed.contact_name == "陈经理"
    await addresses.deactivate_address(db_session, admin, ours.company.id, added.id)

    assert [a.id for a in (await service.profile(db_session, ours.company.id)).addresses] == [ours.address.id]
    events = [(e.action, e.detail, who) for e, who in await service.events(db_session, ours.company.id)]
    assert [(action, who) for action, _, who in events[:3]] == [
        (CompanyAction.address_deactivated.value, admin.username),
        (CompanyAction.address_changed.value, admin.username),
        (CompanyAction.address_added.value, admin.username),
    ]
    assert events[1][1]["changed"] == {"receiving_until": "10:30:00", "contact_name": "陈经理"}
    assert events[1][1]["address"] == "佛山 佛山市南海区里水镇水果批发市场 C 区 12 档"
    # A deactivated address is not ordered to.
    sausage = await supply_sku(db_session)
    with pytest.raises(errors.DeliveryAddressNotFound):
        await ordering.place_order(db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=added.id)
    # The same place added again comes back (one row per place), with the new details.
    again = await addresses.add_address(db_session, admin, ours.company.id, entry(contact_name="何先生"))
    assert again.id == added.id and again.is_active and again.contact_name == "何先生"
    with pytest.raises(amend_errors.AddressTaken):
        await addresses.add_address(db_session, admin, ours.company.id, entry())


async def test_every_problem_is_named_and_nothing_changes(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    before = ours.address.address

    with pytest.raises(amend_errors.AddressInvalid) as refused:
        await addresses.update_address(
            db_session,
            admin,
            ours.company.id,
            ours.address.id,
            entry(city="北京", receiving_from="10:00", receiving_until="09:00", contact_phone="12345"),
        )

    assert refused.value.status_code == 422
    assert set(refused.value.detail["fields"]) == {"city", "receiving_until", "contact_phone"}
    await db_session.refresh(ours.address)
    assert ours.address.address == before
    other = await buyer(db_session)
    with pytest.raises(amend_errors.AddressNotFound):  # another company's address id
        await addresses.update_address(db_session, admin, ours.company.id, other.address.id, entry())


async def test_an_address_with_open_orders_is_changed_but_not_deactivated(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    sausage = await supply_sku(db_session)
    first = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )
    second = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )

    await addresses.update_address(
        db_session, admin, ours.company.id, ours.address.id, entry(city="广州", address="广州市白云区新市场 9 档")
    )
    view = await ordering.order_for(db_session, ours.principal, first.order.number)
    assert view.address.address == "广州市白云区新市场 9 档"  # the order keeps the address id
    board = await ordering.orders_by_trip(db_session, [first.wholesale.trip_id])
    assert {o.address for o in board[first.wholesale.trip_id]} == {"广州市白云区新市场 9 档"}

    with pytest.raises(amend_errors.AddressInUse) as refused:
        await addresses.deactivate_address(db_session, admin, ours.company.id, ours.address.id)
    assert refused.value.status_code == 409
    assert refused.value.detail["orders"] == [first.order.number, second.order.number]
    assert first.order.number in refused.value.text

    # Once the orders are no longer open, it may go.
    for placed in (first, second):
        await order_service.cancel(db_session, placed.order, reason="测试", actor_user_id=None)
    await addresses.deactivate_address(db_session, admin, ours.company.id, ours.address.id)


def _hidden(page: httpx.Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


async def test_the_console_pages(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    admin = await make_user(db_session, Role.admin)
    sausage = await supply_sku(db_session)
    placed = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )
    token = await sign_in(client, admin.username)
    base = f"/admin/companies/{ours.company.id}"

    company_page = await client.get(base, headers=HTML)
    assert f'href="{base}/addresses/{ours.address.id}"' in company_page.text
    assert f'href="{base}/addresses/new"' in company_page.text
    new = await client.get(f"{base}/addresses/new", headers=HTML)
    assert new.status_code == 200 and '<option value="佛山"' in new.text

    form = {"csrf_token": token, **vars(entry())}
    bad = await client.post(f"{base}/addresses", data={**form, "city": "北京", "receiving_from": "9点"})
    assert bad.status_code == 422 and "请选择珠三角城市" in bad.text and "请填写开始收货时间" in bad.text
    assert "佛山市南海区里水镇水果批发市场" in bad.text  # what was typed is kept
    added = await client.post(f"{base}/addresses", data=form)
    assert added.status_code == 303 and added.headers["location"].startswith(f"{base}?notice=")
    shown = await client.get(added.headers["location"], headers=HTML)
    assert "佛山市南海区里水镇水果批发市场 C 区 12 档：已添加" in shown.text  # the notice
    assert "新增收货地址" in shown.text  # the event in the company's record

    edit = await client.get(f"{base}/addresses/{ours.address.id}", headers=HTML)
    assert edit.status_code == 200 and "装车清单" in edit.text
    saved = await client.post(
        f"{base}/addresses/{ours.address.id}", data={**form, "city": "广州", "address": "广州市白云区新市场 9 档"}
    )
    assert saved.status_code == 303, saved.text
    refused = await client.post(f"{base}/addresses/{ours.address.id}/deactivate", data={"csrf_token": token})
    assert refused.status_code == 409 and placed.order.number in refused.text
    assert "广州市白云区新市场 9 档" in refused.text  # the form shows the address as it is


async def test_the_address_pages_are_for_admins(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    token = await sign_in(client, ours.user.username)
    base = f"/admin/companies/{ours.company.id}/addresses"
    assert (await client.get(f"{base}/{ours.address.id}", headers=HTML)).status_code == 403
    posted = await client.post(f"{base}/{ours.address.id}/deactivate", data={"csrf_token": token})
    assert posted.status_code == 403
