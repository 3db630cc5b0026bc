"""Receiving checks (issue 11 item 9): the harvest date is required, and a lot comes from a
registered grower of its product — or from another supplier under an exception a warehouse user
confirms with a reason, recorded on the lot; the public trace page then names that supplier as the
source, never as the producer.

The story is the issue's: honey received from the bamboo-shoot co-operative."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.catalog.models import Product, Variant
from app.kit import clock
from app.supply.models import Lot, Supplier, SupplierKind
from tests.fixtures.builders import (
    auth,
    ensure_warehouse,
    make_product,
    make_supplier,
    make_user,
    make_variant,
    token_for,
)

HTML = {"accept": "text/html"}
TABLES = ("lots", "stock_levels", "stock_ledger", "supplier_products", "suppliers", "idempotency_keys")
REASON = "经销：瑶山蜂场的蜂蜜由竹笋合作社代收转交"


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    state = {}
    for table in TABLES:
        state[table] = [tuple(r) for r in await session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
    return state


@dataclass
class Honey:
    product: Product
    variant: Variant
    beekeeper: Supplier  # the registered grower
    bamboo: Supplier  # grows bamboo shoots, not honey
    keeper: User  # a warehouse user
    headers: dict[str, str]


@pytest.fixture
async def honey(db_session: AsyncSession) -> Honey:
    await ensure_warehouse(db_session)
    product = await make_product(db_session, slug="yaoshan-honey-t", name_zh="瑶山百花蜜", shelf_life_days=540)
    variant = await make_variant(db_session, product=product, sku="HONEY-T-500", name_zh="500 克瓶装")
    bamboo_shoots = await make_product(db_session, slug="dried-bamboo-t", name_zh="笋干")
    beekeeper = await make_supplier(
        db_session,
        code="SUP-T-HONEY",
        name="瑶山蜜蜂养殖家庭农场",
        kind=SupplierKind.farm,
        certifications=[{"type": "compliance", "name": "食品生产许可证", "number": "SC-HONEY-1"}],
        grows=[product],
    )
    bamboo = await make_supplier(
        db_session,
        code="SUP-T-BSH",
        name="满堂竹笋专业合作社",
        township="隘子镇",
        village="满堂村",
        certifications=[{"type": "other", "name": "林下经济示范基地", "number": "LX-BSH-9"}],
        grows=[bamboo_shoots],
    )
    keeper = await make_user(db_session, Role.warehouse, username="cangguan-t")
    return Honey(product, variant, beekeeper, bamboo, keeper, auth(await token_for(db_session, keeper)))


async def bearer(session: AsyncSession, role: Role) -> dict[str, str]:
    return auth(await token_for(session, await make_user(session, role)))


def receipt(honey: Honey, supplier: Supplier, **kw: Any) -> dict[str, Any]:
    return {
        "sku": honey.variant.sku,
        "supplier_code": supplier.code,
        "quantity": "24",
        "harvest_date": (clock.today() - timedelta(days=3)).isoformat(),
        "certificate_no": "HG-HONEY-1",
        **kw,
    }


async def post_receipt(client: httpx.AsyncClient, honey: Honey, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/admin/lots", headers=honey.headers, json=body)


# ---- the harvest date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error_type"),
    [({"harvest_date": None}, "missing"), ({"harvest_date": ""}, "date_from_datetime_parsing")],
    ids=["missing", "empty"],
)
async def test_a_receipt_without_a_harvest_date_is_refused_naming_the_field(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey, change: dict[str, Any], error_type: str
) -> None:
    body = receipt(honey, honey.beekeeper)
    if change["harvest_date"] is None:
        del body["harvest_date"]
    else:
        body.update(change)
    before = await snapshot(db_session)

    response = await post_receipt(client, honey, body)

    assert response.status_code == 422
    out = response.json()
    assert out["error"] == "validation_error"
    assert [(d["field"], d["type"]) for d in out["detail"]] == [("harvest_date", error_type)]
    # Not defaulted to today: nothing was received.
    assert await snapshot(db_session) == before


async def test_a_null_harvest_date_is_refused_too(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    before = await snapshot(db_session)
    response = await post_receipt(client, honey, receipt(honey, honey.beekeeper, harvest_date=None))
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == ["harvest_date"]
    assert await snapshot(db_session) == before


# ---- the grower rule ----------------------------------------------------------------------------


async def test_a_registered_grower_delivers_an_ordinary_lot(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    response = await post_receipt(client, honey, receipt(honey, honey.beekeeper))

    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["supplier_code"], out["supplier_is_grower"]) == ("SUP-T-HONEY", True)
    assert (out["grower_exception_reason"], out["grower_exception_by"]) == (None, None)
    lot = await db_session.scalar(select(Lot).where(Lot.code == out["code"]))
    assert lot is not None
    assert (lot.grower_exception_reason, lot.grower_exception_by_id) == (None, None)


async def test_honey_from_the_bamboo_shoot_cooperative_is_refused_naming_both(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    before = await snapshot(db_session)

    response = await post_receipt(client, honey, receipt(honey, honey.bamboo))

    assert response.status_code == 422
    out = response.json()
    assert out["error"] == "supplier_not_grower"
    assert out["message"].startswith("供应商“满堂竹笋专业合作社”（SUP-T-BSH）未登记为“瑶山百花蜜”的生产者。")
    assert out["detail"] == {
        "supplier_code": "SUP-T-BSH",
        "supplier_name": "满堂竹笋专业合作社",
        "product": "yaoshan-honey-t",
        "product_name_zh": "瑶山百花蜜",
    }
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    "change",
    [{"grower_exception": False, "grower_exception_reason": REASON}, {"grower_exception_reason": REASON}],
    ids=["flag-false", "reason-only"],
)
async def test_a_reason_without_the_confirmation_is_not_an_exception(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey, change: dict[str, Any]
) -> None:
    before = await snapshot(db_session)
    response = await post_receipt(client, honey, receipt(honey, honey.bamboo, **change))
    assert response.status_code == 422
    assert response.json()["error"] == "supplier_not_grower"
    assert await snapshot(db_session) == before


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
async def test_a_confirmed_exception_needs_a_reason(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey, reason: str
) -> None:
    before = await snapshot(db_session)

    response = await post_receipt(
        client, honey, receipt(honey, honey.bamboo, grower_exception=True, grower_exception_reason=reason)
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": "grower_exception_reason_required",
        "message": "按例外收货须填写原因（例如：经销商供货、代收农户产品）",
        "detail": {"field": "grower_exception_reason"},
    }
    assert await snapshot(db_session) == before


async def test_a_confirmed_exception_is_received_and_recorded_on_the_lot(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    response = await post_receipt(
        client, honey, receipt(honey, honey.bamboo, grower_exception=True, grower_exception_reason=f"  {REASON} ")
    )

    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["supplier_code"], out["supplier_is_grower"]) == ("SUP-T-BSH", False)
    assert (out["grower_exception_reason"], out["grower_exception_by"]) == (REASON, "cangguan-t")
    lot = await db_session.scalar(select(Lot).where(Lot.code == out["code"]))
    assert lot is not None
    assert (lot.supplier_id, lot.grower_exception_reason, lot.grower_exception_by_id) == (
        honey.bamboo.id,
        REASON,
        honey.keeper.id,
    )
    # The ledger's receipt row says so too (staff only).
    reasons = list(await db_session.scalars(text("SELECT reason FROM stock_ledger WHERE lot_id = :id"), {"id": lot.id}))
    assert reasons == [f"收货：满堂竹笋专业合作社，合格证 HG-HONEY-1，非登记生产者（{REASON}）"]
    # Registering nothing: the co-op is still not a grower of honey.
    again = await post_receipt(client, honey, receipt(honey, honey.bamboo))
    assert again.json()["error"] == "supplier_not_grower"

    # The console's lot detail (API and lots page) shows the exception, who confirmed it and why.
    detail = await client.get(f"/api/v1/admin/lots/{lot.code}", headers=honey.headers)
    assert detail.status_code == 200
    assert {k: detail.json()[k] for k in ("supplier_is_grower", "grower_exception_reason", "grower_exception_by")} == {
        "supplier_is_grower": False,
        "grower_exception_reason": REASON,
        "grower_exception_by": "cangguan-t",
    }


async def test_a_confirmation_for_a_registered_grower_is_not_recorded(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    response = await post_receipt(
        client, honey, receipt(honey, honey.beekeeper, grower_exception=True, grower_exception_reason=REASON)
    )
    assert response.status_code == 201, response.text
    assert (response.json()["supplier_is_grower"], response.json()["grower_exception_reason"]) == (True, None)


async def test_the_trace_page_names_an_exception_supplier_as_the_source_not_the_producer(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    grown = (await post_receipt(client, honey, receipt(honey, honey.beekeeper))).json()["code"]
    dealt = (
        await post_receipt(
            client, honey, receipt(honey, honey.bamboo, grower_exception=True, grower_exception_reason=REASON)
        )
    ).json()["code"]

    grown_page = await client.get(f"/t/{grown}", headers=HTML)
    dealt_page = await client.get(f"/t/{dealt}", headers=HTML)

    assert grown_page.status_code == dealt_page.status_code == 200
    assert '<h2 id="h-grower">生产者</h2>' in grown_page.text
    assert "瑶山蜜蜂养殖家庭农场" in grown_page.text and "食品生产许可证" in grown_page.text
    assert "生产者交售入库" in grown_page.text

    assert '<h2 id="h-grower">供货方</h2>' in dealt_page.text
    assert '<h2 id="h-grower">生产者</h2>' not in dealt_page.text
    assert "本批次由以下供货方经销或代收，并非其自产。" in dealt_page.text
    assert "满堂竹笋专业合作社" in dealt_page.text
    assert "经销/代收入库（非供货方自产）" in dealt_page.text and "生产者交售入库" not in dealt_page.text
    # Its certifications are about its bamboo shoots; the reason and who confirmed stay inside.
    assert "林下经济示范基地" not in dealt_page.text
    assert REASON not in dealt_page.text and "cangguan-t" not in dealt_page.text


async def test_a_station_operator_cannot_receive_into_the_warehouse(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    """Only warehouse staff and admins receive lots, so only they can confirm an exception."""
    operator = await bearer(db_session, Role.station_operator)
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/admin/lots",
        headers=operator,
        json=receipt(honey, honey.bamboo, grower_exception=True, grower_exception_reason=REASON),
    )
    assert response.status_code == 403
    assert await snapshot(db_session) == before


# ---- what a supplier grows ----------------------------------------------------------------------


async def test_suppliers_list_what_they_grow_and_an_admin_registers_more(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    admin = await bearer(db_session, Role.admin)

    listed = await client.get("/api/v1/admin/suppliers", headers=honey.headers)
    grows = {s["code"]: s["grows"] for s in listed.json()}
    assert (grows["SUP-T-HONEY"], grows["SUP-T-BSH"]) == (["yaoshan-honey-t"], ["dried-bamboo-t"])

    # A warehouse user cannot register growers (that is master data); an admin can.
    refused = await client.put(
        "/api/v1/admin/suppliers/SUP-T-BSH/grows", headers=honey.headers, json={"grows": ["yaoshan-honey-t"]}
    )
    assert refused.status_code == 403
    registered = await client.put(
        "/api/v1/admin/suppliers/SUP-T-BSH/grows", headers=admin, json={"grows": ["dried-bamboo-t", "yaoshan-honey-t"]}
    )
    assert registered.status_code == 200
    assert registered.json()["grows"] == ["dried-bamboo-t", "yaoshan-honey-t"]
    ordinary = await post_receipt(client, honey, receipt(honey, honey.bamboo))
    assert ordinary.status_code == 201 and ordinary.json()["supplier_is_grower"] is True

    # Replacing the list removes what is no longer grown.
    replaced = await client.put("/api/v1/admin/suppliers/SUP-T-BSH/grows", headers=admin, json={"grows": []})
    assert replaced.json()["grows"] == []
    assert (await post_receipt(client, honey, receipt(honey, honey.bamboo))).json()["error"] == "supplier_not_grower"


async def test_registering_unknown_products_or_suppliers_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    admin = await bearer(db_session, Role.admin)
    before = await snapshot(db_session)

    unknown_product = await client.put(
        "/api/v1/admin/suppliers/SUP-T-BSH/grows", headers=admin, json={"grows": ["yaoshan-honey-t", "no-such-thing"]}
    )
    unknown_supplier = await client.put(
        "/api/v1/admin/suppliers/NO-SUCH/grows", headers=admin, json={"grows": ["yaoshan-honey-t"]}
    )
    created = await client.post(
        "/api/v1/admin/suppliers",
        headers=admin,
        json={"code": "SUP-T-NEW", "name": "新合作社", "kind": "cooperative", "township": "太平镇", "grows": ["nope"]},
    )

    assert unknown_product.status_code == 422
    assert unknown_product.json() == {
        "error": "products_not_found",
        "message": "找不到这些商品：no-such-thing",
        "detail": {"products": ["no-such-thing"]},
    }
    assert (unknown_supplier.status_code, unknown_supplier.json()["error"]) == (404, "supplier_not_found")
    assert (created.status_code, created.json()["error"]) == (422, "products_not_found")
    assert await snapshot(db_session) == before


async def test_a_new_supplier_is_created_with_what_it_grows(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    admin = await bearer(db_session, Role.admin)
    created = await client.post(
        "/api/v1/admin/suppliers",
        headers=admin,
        json={
            "code": "SUP-T-BEE2",
            "name": "司前蜂农合作社",
            "kind": "cooperative",
            "township": "司前镇",
            "grows": ["yaoshan-honey-t"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["grows"] == ["yaoshan-honey-t"]
    received = await post_receipt(client, honey, {**receipt(honey, honey.beekeeper), "supplier_code": "SUP-T-BEE2"})
    assert received.status_code == 201 and received.json()["supplier_is_grower"] is True


async def test_a_products_usual_supplier_is_registered_as_its_grower(
    client: httpx.AsyncClient, db_session: AsyncSession, honey: Honey
) -> None:
    """Naming a product's supplier in the catalog (create or edit) registers it as a grower."""
    admin = await bearer(db_session, Role.admin)
    tea = await make_product(db_session, slug="tea-t", supplier_code="SUP-T-BSH")
    tea_sku = await make_variant(db_session, product=tea)
    patched = await client.patch(
        f"/api/v1/admin/products/{honey.product.id}", headers=admin, json={"supplier_code": "SUP-T-BSH"}
    )
    assert patched.status_code == 200, patched.text

    listed = {s["code"]: s["grows"] for s in (await client.get("/api/v1/admin/suppliers", headers=admin)).json()}
    assert listed["SUP-T-BSH"] == ["dried-bamboo-t", "tea-t", "yaoshan-honey-t"]
    received = await post_receipt(client, honey, {**receipt(honey, honey.bamboo), "sku": tea_sku.sku})
    assert received.status_code == 201 and received.json()["supplier_is_grower"] is True
