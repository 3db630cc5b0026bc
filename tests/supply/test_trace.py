"""The public trace page (``GET /t/{lot_code}``): what grew where and how it travelled — and
nothing about who handled it, why, or for which order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.kit import clock
from app.supply import reservations, service, transfers
from app.supply.models import Location, Lot, Supplier
from app.supply.reservations import ReserveLine
from app.supply.trace import StepKind, lot_trace
from tests.fixtures.builders import (
    ensure_warehouse,
    make_location,
    make_product,
    make_supplier,
    make_user,
    make_variant,
    receive,
    receive_expired,
)

HTML = {"accept": "text/html"}
ORDER_REFS = ("NP-SECRET-ORDER-1", "NP-SECRET-ORDER-2")
REASON = "张三打翻了一箱"


@dataclass
class Story:
    lot: Lot
    supplier: Supplier
    warehouse: Location
    store: Location
    actor: User
    transfer_number: str


async def travelled_lot(session: AsyncSession) -> Story:
    """Received at the warehouse, 6 boxes shipped to a store and received there, two web orders
    (2 + 3 boxes) sold from the warehouse, one box knocked over at the store, and a hold that
    was released."""
    product = await make_product(
        session,
        name_zh="始兴枇杷",
        name_en="Shixing Loquat",
        shelf_life_days=10,
        certifications=[{"type": "geographical_indication", "name": "国家地理标志产品", "number": "GI-TEST-9"}],
    )
    variant = await make_variant(session, product=product, name_zh="特级鲜果 5 千克礼盒", grade="特级")
    supplier = await make_supplier(
        session,
        name="东湖坪枇杷种植专业合作社",
        township="太平镇",
        village="东湖坪村",
        contact_name="李永红",
        contact_phone="+8613902201001",
        certifications=[{"type": "green_food", "name": "绿色食品", "number": "LB-TEST-0101"}],
    )
    warehouse = await ensure_warehouse(session)
    store = await make_location(session, "store", name="南岭明珠始兴旗舰店")
    actor = await make_user(session, Role.warehouse, display_name="邓国强", phone="+8613902208002")
    lot = await receive(session, variant, "40", harvest_days_ago=2, supplier=supplier, location=warehouse)

    shipped = await transfers.ship(
        session,
        from_code=warehouse.code,
        to_code=store.code,
        lines=[transfers.ShipLine(lot.code, Decimal(6))],
        note="周末促销补货",
        actor_user_id=actor.id,
    )
    await transfers.receive(session, shipped.number, received=[], actor_user_id=actor.id)

    for reference, order, quantity in (("R-TRACE-1", ORDER_REFS[0], 2), ("R-TRACE-2", ORDER_REFS[1], 3)):
        held = await reservations.reserve(
            session,
            reference=reference,
            channel="shop",
            location_id=warehouse.id,
            expires_at=None,
            lines=[ReserveLine(variant.id, Decimal(quantity), clock.today())],
            actor_user_id=actor.id,
        )
        await reservations.convert_to_sale(
            session, held.id, document_type="order", document_ref=order, actor_user_id=actor.id
        )
    hold = await reservations.reserve(
        session,
        reference="R-TRACE-HOLD",
        channel="wholesale",
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(1), clock.today())],
    )
    await reservations.release(session, hold.id, reason="客户取消")

    await service.adjust(
        session,
        location_code=store.code,
        lot_code=lot.code,
        kind="spoilage",
        quantity=Decimal(1),
        reason=REASON,
        actor_user_id=actor.id,
    )
    return Story(lot, supplier, warehouse, store, actor, shipped.number)


def journey_html(page: str) -> str:
    match = re.search(r'<ol class="journey">(.*?)</ol>', page, re.S)
    assert match, "journey list missing"
    return match.group(1)


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment)).strip()


async def test_trace_page_shows_origin_and_journey(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    story = await travelled_lot(db_session)
    lot = story.lot

    response = await client.get(f"/t/{lot.code}", headers=HTML)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for shown in (
        "始兴枇杷",
        "Shixing Loquat",
        "特级鲜果 5 千克礼盒",
        "东湖坪枇杷种植专业合作社",
        "专业合作社",  # the kind label
        "太平镇东湖坪村",
        f"{lot.harvest_date.year}年{lot.harvest_date.month}月{lot.harvest_date.day}日",
        f"{lot.best_before.year}年{lot.best_before.month}月{lot.best_before.day}日",
        "HG-TEST-1",
        "绿色食品",
        "LB-TEST-0101",
        "国家地理标志产品",
        lot.code,
    ):
        assert shown in page, shown
    assert "该批次已过保质期" not in page

    steps = [text_of(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", journey_html(page), re.S)]
    today = clock.today()
    day = f"{today.month}月{today.day}日"
    assert steps == [
        f"{day} 入库 · 测试仓（40 箱）",
        f"{day} 调拨发出 · 测试仓 · 发往 南岭明珠始兴旗舰店（6 箱）",
        f"{day} 调拨到达 · 南岭明珠始兴旗舰店 · 来自 测试仓（6 箱）",
        f"{day} 网店售出 · 测试仓",  # two orders, one line: sales are summed per day, channel and place
        f"{day} 损耗/盘点 · 南岭明珠始兴旗舰店",
    ]


async def test_trace_page_reveals_no_people_reasons_or_documents(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    story = await travelled_lot(db_session)

    page = (await client.get(f"/t/{story.lot.code}", headers=HTML)).text

    forbidden = [
        *ORDER_REFS,
        story.transfer_number,
        "R-TRACE",  # reservation references
        REASON,
        "张三",
        "客户取消",
        "周末促销补货",  # the transfer's note
        "收货：",  # the receipt's ledger reason
        story.actor.username,
        story.actor.display_name,
        "8002",  # the actor's phone
        story.supplier.contact_name,
        "13902201001",  # the grower's contact phone
        "预留",
        "释放",
        "批发",  # only the released wholesale hold used that channel: holds are not steps
        "在途",  # the in-transit legs of a transfer are bookkeeping
    ]
    leaked = [word for word in forbidden if word and word in page]
    assert leaked == []


async def test_journey_model(db_session: AsyncSession) -> None:
    story = await travelled_lot(db_session)
    trace = await lot_trace(db_session, story.lot.code)
    assert [(s.kind, s.place, s.quantity) for s in trace.journey] == [
        (StepKind.received, "测试仓", Decimal(40)),
        (StepKind.shipped, "测试仓", Decimal(6)),
        (StepKind.arrived, "南岭明珠始兴旗舰店", Decimal(6)),
        (StepKind.sold, "测试仓", Decimal(5)),
        (StepKind.loss, "南岭明珠始兴旗舰店", None),
    ]
    assert (trace.grower.kind_label, trace.origin, trace.expired, trace.unit_label_zh) == (
        "专业合作社",
        "receipt",
        False,
        "箱",
    )


async def test_expired_lot_says_so(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    lot = await receive_expired(db_session, variant, "5")

    page = (await client.get(f"/t/{lot.code}", headers=HTML)).text

    assert "该批次已过保质期" in page


async def test_code_typed_in_lower_case_still_finds_the_lot(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    lot = await receive(db_session, await make_variant(db_session), "5", supplier=await make_supplier(db_session))
    assert (await client.get(f"/t/{lot.code.lower()}", headers=HTML)).status_code == 200


async def test_unknown_lot_is_the_normal_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/t/LT000000-NOSUCH", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "找不到该批次" in response.text and "lot_not_found" in response.text
    too_long = await client.get("/t/" + "X" * 200, headers=HTML)
    assert too_long.status_code == 404


async def test_trace_page_is_public_in_the_route_table(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    """No session, no token, no cookie: a phone that scans the QR is enough."""
    lot = await receive(db_session, await make_variant(db_session), "5")
    response = await client.get(f"/t/{lot.code}", headers=HTML)
    assert response.status_code == 200
    assert "/login" not in str(response.url)


def test_household_grower_names_are_masked() -> None:
    from app.supply.models import SupplierKind
    from app.supply.trace import public_grower_name

    assert public_grower_name("李秀英", SupplierKind.household) == "李**"
    assert public_grower_name("王五", SupplierKind.household) == "王*"
    assert public_grower_name("始兴县太平镇枇杷专业合作社", SupplierKind.cooperative) == "始兴县太平镇枇杷专业合作社"
