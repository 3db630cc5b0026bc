"""The standing-orders API as a purchasing system uses it (rolled back per test): create, list
with the next week, skip it (once), and company B's key cannot skip company A's (404)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.builders import auth
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.test_ordering_api import company_key

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")
PATH = "/api/v1/wholesale/standing-orders"


async def test_create_list_and_skip_by_api_key(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours, theirs = await buyer(db_session), await buyer(db_session)
    key, other_key = await company_key(db_session, ours), await company_key(db_session, theirs)

    made = await client.post(
        PATH,
        json={"address_id": ours.address.id, "weekday": 2, "lines": [{"sku": sausage.sku, "cases": 2}]},
        headers=auth(key),
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["lines"] == [{"sku": sausage.sku, "cases": 2, "quantity": None}]
    assert body["next_week"]["trip_date"] == "2026-12-08" and body["next_week"]["skipped"] is False

    bad = await client.post(
        PATH,
        json={"address_id": ours.address.id, "weekday": 2, "lines": [{"sku": "NOPE", "cases": 1}]},
        headers=auth(key),
    )
    assert bad.status_code == 422 and bad.json()["error"] == "basket_invalid"

    assert (await client.post(f"{PATH}/{body['id']}/skip", headers=auth(other_key))).status_code == 404
    assert (await client.get(PATH, headers=auth(other_key))).json() == []

    skipped = await client.post(f"{PATH}/{body['id']}/skip", headers=auth(key))
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["next_week"]["skipped"] is True
    assert skipped.json()["skipped_dates"] == ["2026-12-08"]
    again = await client.post(f"{PATH}/{body['id']}/skip", headers=auth(key))
    assert again.status_code == 409 and again.json()["error"] == "standing_already_skipped"

    listed = await client.get(PATH, headers=auth(key))
    assert [s["id"] for s in listed.json()] == [body["id"]]
