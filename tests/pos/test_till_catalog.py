"""Scanning and the till's catalog over the POS API (issue 14, items 2 and 9): a scanned code
becomes a basket line priced by the one pricing function (retail list) and rounded once; the
catalog snapshot carries an ETag that answers 304 until something the till shows changes; only a
clerk signed in at a till gets either."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import ean

from app.accounts import service as accounts
from app.accounts.models import Role, TokenKind
from app.catalog.models import PriceListKind, Variant
from app.kit.quantities import Unit
from app.pos.models import Store
from tests.fixtures.builders import (
    auth,
    ensure_price_list,
    make_company,
    make_location,
    make_product,
    make_store,
    make_user,
    make_variant,
    receive,
    seq,
    set_price,
    token_for,
)
from tests.fixtures.pos import PIN, make_counter, till_headers


def with_check(body: str) -> str:
    return body + ean.calc_check_digit(body)


class Shelf:
    def __init__(self, box: Variant, jin: Variant, kg: Variant) -> None:
        self.box, self.jin, self.kg = box, jin, kg


async def shelf(session: AsyncSession) -> Shelf:
    """A boxed item with a barcode (¥128.00), loquats by the 斤 (¥16.80 / 斤) and pears by the kg
    (¥18.50 / kg), each with its PLU, on the retail list."""
    await ensure_price_list(session, "retail", PriceListKind.retail)
    n = seq()
    box = await make_variant(session, unit=Unit.box, barcode=with_check(f"6974051{n:05d}"), net_weight_grams=2500)
    loquat = await make_product(session)
    jin = await make_variant(session, product=loquat, unit=Unit.jin, plu=100 + n)
    kg = await make_variant(session, unit=Unit.kg, plu=300 + n)
    await set_price(session, "retail", box, 12800)
    await set_price(session, "retail", jin, 1680)
    await set_price(session, "retail", kg, 1850)
    return Shelf(box, jin, kg)


async def at_till(client: httpx.AsyncClient, session: AsyncSession) -> tuple[dict[str, str], Store]:
    counter = await make_counter(session)
    answer = await client.post(
        "/api/v1/pos/session",
        headers=till_headers(counter.device),
        json={"username": counter.clerk.username, "pin": PIN},
    )
    assert answer.status_code == 201, answer.text
    return auth(answer.json()["access_token"]), counter.store


def label(prefix: str, plu: int, value: int) -> str:
    return with_check(f"{prefix}{plu:05d}{value:05d}")


async def test_a_product_barcode_adds_one_unit_at_the_retail_price(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    goods = await shelf(db_session)
    clerk, _ = await at_till(client, db_session)
    answer = await client.post("/api/v1/pos/scan", headers=clerk, json={"code": goods.box.barcode})
    assert answer.status_code == 200, answer.text
    line = answer.json()
    assert (line["source"], line["sku"], line["quantity"], line["unit_price_minor"], line["line_total_minor"]) == (
        "product",
        goods.box.sku,
        "1",
        12800,
        12800,
    )


async def test_a_weight_label_is_the_weight_in_the_unit_of_sale_rounded_once(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    goods = await shelf(db_session)
    clerk, _ = await at_till(client, db_session)

    async def scan(code: str) -> dict[str, object]:
        answer = await client.post("/api/v1/pos/scan", headers=clerk, json={"code": code})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert goods.jin.plu is not None and goods.kg.plu is not None
    # 500 g: 1 斤 of the 斤-priced loquats, 0.5 kg of the kg-priced pears — never a silent ×2.
    jin = await scan(label("20", goods.jin.plu, 500))
    assert (jin["source"], jin["unit"], jin["quantity"], jin["grams"], jin["line_total_minor"]) == (
        "weight_label",
        "jin",
        "1",
        500,
        1680,
    )
    kg = await scan(label("20", goods.kg.plu, 500))
    assert (kg["unit"], kg["quantity"], kg["line_total_minor"]) == ("kg", "0.5", 925)
    # 1.235 kg × ¥18.50 = 2284.75 fen → 2285, once; 523 g = 1.046 斤 × ¥16.80 = 1757.28 → 1757.
    assert (await scan(label("21", goods.kg.plu, 1235)))["line_total_minor"] == 2285
    odd = await scan(label("20", goods.jin.plu, 523))
    assert (odd["quantity"], odd["line_total_minor"]) == ("1.046", 1757)


async def test_a_price_label_keeps_the_scale_price(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    goods = await shelf(db_session)
    clerk, _ = await at_till(client, db_session)
    assert goods.jin.plu is not None
    even = (
        await client.post("/api/v1/pos/scan", headers=clerk, json={"code": label("25", goods.jin.plu, 2520)})
    ).json()
    assert (even["source"], even["quantity"], even["line_total_minor"], even["label_price_minor"]) == (
        "price_label",
        "1.5",
        2520,
        2520,
    )
    # ¥20.00 at ¥16.80 / 斤: 1.190 斤 is what the receipt says; the customer pays the label's ¥20.00.
    odd = (await client.post("/api/v1/pos/scan", headers=clerk, json={"code": label("26", goods.jin.plu, 2000)})).json()
    assert (odd["quantity"], odd["unit_price_minor"], odd["line_total_minor"]) == ("1.19", 1680, 2000)


async def test_what_cannot_be_sold_is_a_clear_refusal(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    goods = await shelf(db_session)
    clerk, _ = await at_till(client, db_session)
    assert goods.box.barcode is not None
    cases = [
        (with_check("697405199999"), 404, "barcode_unknown"),
        (goods.box.barcode[:-1] + str((int(goods.box.barcode[-1]) + 1) % 10), 422, "barcode_check_digit_wrong"),
        (label("20", 99999, 500), 404, "plu_unknown"),
        (label("20", 0, 500), 422, "scale_label_unreadable"),
        ("NOT-A-CODE", 422, "barcode_unreadable"),
    ]
    for code, status, error in cases:
        answer = await client.post("/api/v1/pos/scan", headers=clerk, json={"code": code})
        assert (answer.status_code, answer.json()["error"]) == (status, error), code
    # A boxed item given a PLU is not sold by weight: a scale label for it is refused.
    boxed_plu = 900 + seq()
    await make_variant(db_session, unit=Unit.box, plu=boxed_plu)
    answer = await client.post("/api/v1/pos/scan", headers=clerk, json={"code": label("20", boxed_plu, 500)})
    assert answer.json()["error"] == "scale_item_not_weighed"


async def test_a_plu_key_takes_the_weight_in_the_unit_the_price_is_shown_in(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    goods = await shelf(db_session)
    clerk, _ = await at_till(client, db_session)
    body = {"plu": goods.jin.plu, "weight": "1.5", "unit": "jin"}
    line = (await client.post("/api/v1/pos/plu-line", headers=clerk, json=body)).json()
    assert (line["source"], line["quantity"], line["grams"], line["line_total_minor"]) == ("plu_key", "1.5", 750, 2520)
    # Typed in kg for an item priced by the 斤: refused, not doubled behind the clerk's back.
    wrong = await client.post("/api/v1/pos/plu-line", headers=clerk, json={**body, "unit": "kg"})
    assert (wrong.status_code, wrong.json()["error"]) == (422, "weight_unit_mismatch")
    zero = await client.post("/api/v1/pos/plu-line", headers=clerk, json={**body, "weight": "0"})
    assert zero.status_code == 422
    junk = await client.post("/api/v1/pos/plu-line", headers=clerk, json={**body, "weight": "1e3"})
    assert (junk.status_code, junk.json()["error"]) == (422, "weight_invalid")


async def test_the_catalog_snapshot_answers_304_until_a_price_changes(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    goods = await shelf(db_session)
    clerk, store = await at_till(client, db_session)
    location = await make_location(db_session, "store", store_id=store.id)
    await receive(db_session, goods.jin, "12.5", location=location)

    first = await client.get("/api/v1/pos/catalog", headers=clerk)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag == f'"{first.json()["version"]}"' and not etag.startswith("W/")
    items = {item["sku"]: item for item in first.json()["items"]}
    assert {goods.box.sku, goods.jin.sku, goods.kg.sku} <= set(items)
    loquat = items[goods.jin.sku]
    assert (loquat["plu"], loquat["unit"], loquat["weighed"], loquat["unit_price_minor"], loquat["stock"]) == (
        goods.jin.plu,
        "jin",
        True,
        1680,
        "12.5",
    )
    assert items[goods.box.sku]["barcode"] == goods.box.barcode and items[goods.kg.sku]["stock"] == "0"

    same = await client.get("/api/v1/pos/catalog", headers={**clerk, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag

    await set_price(db_session, "retail", goods.jin, 1880)
    changed = await client.get("/api/v1/pos/catalog", headers={**clerk, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert {i["sku"]: i["unit_price_minor"] for i in changed.json()["items"]}[goods.jin.sku] == 1880


async def test_only_a_clerk_at_a_till_may_scan_or_read_the_catalog(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await shelf(db_session)
    counter = await make_counter(db_session)
    customer = await token_for(db_session, await make_user(db_session, Role.customer))
    operator = await make_user(db_session, Role.station_operator)
    pda = await accounts.issue_device_token(
        db_session, kind=TokenKind.station_pda, user_id=operator.id, label="PDA", station_id=operator.station_id
    )
    buyer = await make_user(db_session, Role.buyer, company=await make_company(db_session), is_company_owner=True)
    key = await accounts.issue_company_key(db_session, buyer, "ERP")
    other_store_clerk = await token_for(
        db_session, await make_user(db_session, Role.clerk, store_id=(await make_store(db_session)).id)
    )
    for who, token in (
        ("customer", customer),
        ("station PDA", pda.token),
        ("wholesale key", key.token),
        ("a clerk's own token, not at a till", other_store_clerk),
        ("the till's device token", counter.device),
    ):
        read = await client.get("/api/v1/pos/catalog", headers=auth(token))
        scan = await client.post("/api/v1/pos/scan", headers=auth(token), json={"code": with_check("697405180001")})
        assert read.status_code in (401, 403) and scan.status_code in (401, 403), (
            who,
            read.status_code,
            scan.status_code,
        )
    assert (await client.get("/api/v1/pos/catalog")).status_code == 401


async def test_a_variant_gets_its_plu_through_the_variant_edit(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    first = await make_variant(db_session, unit=Unit.jin)
    second = await make_variant(db_session, unit=Unit.kg)
    plu = 5000 + seq()
    answer = await client.patch(f"/api/v1/admin/variants/{first.id}", headers=admin, json={"plu": plu})
    assert answer.status_code == 200 and answer.json()["plu"] == plu, answer.text
    taken = await client.patch(f"/api/v1/admin/variants/{second.id}", headers=admin, json={"plu": plu})
    assert (taken.status_code, taken.json()["error"]) == (409, "plu_taken")
    cleared = await client.patch(f"/api/v1/admin/variants/{first.id}", headers=admin, json={"plu": None})
    assert cleared.status_code == 200 and cleared.json()["plu"] is None
    assert (
        await client.patch(f"/api/v1/admin/variants/{second.id}", headers=admin, json={"plu": plu})
    ).status_code == 200


async def test_the_console_sets_and_shows_a_variant_plu(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    from tests.web.test_stock_pages import HTML, form_post, log_in

    await log_in(client, db_session, Role.admin)
    variant = await make_variant(db_session, unit=Unit.jin, name_zh="散装称重")
    page_url = f"/admin/products/{variant.product_id}"
    form = {"name_zh": "散装称重", "name_en": "Loose", "barcode": "", "grade": "", "is_active": "on", "plu": "4321"}
    saved = await form_post(client, page_url, f"{page_url}/variants/{variant.id}", form)
    assert saved.status_code == 303, saved.text
    await db_session.refresh(variant)
    assert variant.plu == 4321
    page = await client.get(page_url, headers=HTML)
    assert 'name="plu" value="4321"' in page.text
    bad = await form_post(client, page_url, f"{page_url}/variants/{variant.id}", {**form, "plu": "1234567"})
    assert bad.status_code == 422 and "PLU" in bad.text
