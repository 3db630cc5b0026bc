"""The till prices offline in JavaScript (storefront/static/pos/pricing.js): run in chromium, it must
give what the server gives — every scan and PLU weight below goes both through the JS module (with
the catalog snapshot the till keeps) and through the POS API (``/scan``, ``/plu-line``: the Python
scanning and pricing functions), and the lines or refusals must be equal. Scale-label layouts with
inner price check digits are compared with ``app.pos.scanning.decode`` directly."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit.errors import AppError
from app.pos.scanning import decode, parse_layouts, price_check_digit
from app.pos.till_catalog import scale_layout
from tests.fixtures.browser import PC, app_in_browser, needs_chromium
from tests.fixtures.pos import PIN
from tests.fixtures.pos_till import committed_stocked_till, scale_label, with_check

pytestmark = needs_chromium

COMPARED = ("source", "variant_id", "quantity", "unit_price_minor", "line_total_minor", "grams", "label_price_minor")

JS_LINES = """async ([scans, plus]) => {
  const m = await import('/static/pos/pricing.js');
  const token = window.__token;
  const catalog = await (await fetch('/api/v1/pos/catalog', {headers: {Authorization: `Bearer ${token}`}})).json();
  const index = m.indexCatalog(catalog);
  const run = (f) => { try { const l = f(); return {...l, quantity: m.formatQuantity(l.quantity)}; }
                       catch (e) { if (e instanceof m.ScanError) return {error: e.code}; throw e; } };
  return {
    scans: scans.map((code) => run(() => m.lineForScan(index, code))),
    plus: plus.map(([plu, weight, unit]) => run(() => m.lineForPlu(index, plu, weight, unit))),
  };
}"""


def _server_line(answer: Any) -> dict[str, Any]:
    if "error" in answer:
        return {"error": answer["error"]}
    return {key: answer[key] for key in COMPARED}


async def test_js_scans_and_plu_weights_price_as_the_server_does(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    shop = await committed_stocked_till(committed_engine)
    loquat, pear = shop.loquat.plu, shop.pear.plu
    assert loquat is not None and pear is not None and shop.box.barcode is not None
    bad_digit = shop.box.barcode[:-1] + str((int(shop.box.barcode[-1]) + 1) % 10)
    scans = [
        shop.box.barcode,
        f" {shop.box.barcode}\n",
        bad_digit,
        with_check("697000000000"),  # nobody's barcode
        with_check("03600029145"),  # UPC-A, unknown here
        "abc",
        "12345",
        *(scale_label("21", loquat, grams) for grams in (1, 333, 2499, 2500, 2501, 12345, 99999)),
        *(scale_label("20", pear, grams) for grams in (1, 999, 1235, 50000)),
        *(scale_label("26", loquat, fen) for fen in (1, 1234, 8400, 99999)),
        scale_label("25", pear, 1850),
        scale_label("25", pear, 0),  # unreadable: a zero price
        scale_label("21", 99_999, 500),  # unknown PLU
    ]
    plus = [
        [loquat, "0.5", "jin"],
        [loquat, "5", "jin"],
        [loquat, "4.999", "jin"],
        [loquat, "1.2345", "jin"],
        [loquat, "1", "kg"],  # the price is per 斤: never converted silently
        [pear, "1.235", "kg"],
        [pear, "0.001", "kg"],
        [pear, "2", "jin"],
        [12_345, "1", "kg"],
    ]
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        context = await browser.new_context(viewport=PC, locale="zh-CN", bypass_csp=True)
        page = await context.new_page()
        await page.goto(f"{base}/pos/enrol?code={shop.enrol_code}")
        await page.get_by_role("button", name="登记本机").click()
        await page.wait_for_selector("#enrolled-till")
        signed = await page.request.post(
            f"{base}/api/v1/pos/session", data={"username": shop.clerk.username, "pin": PIN}
        )
        assert signed.status == 201, await signed.text()
        token = (await signed.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        await page.evaluate("t => { window.__token = t; }", token)
        js = await page.evaluate(JS_LINES, [scans, plus])
        server_scans = [
            _server_line(
                await (await page.request.post(f"{base}/api/v1/pos/scan", data={"code": c}, headers=headers)).json()
            )
            for c in scans
        ]
        server_plus = []
        for plu, weight, unit in plus:
            answer = await page.request.post(
                f"{base}/api/v1/pos/plu-line", data={"plu": plu, "weight": weight, "unit": unit}, headers=headers
            )
            server_plus.append(_server_line(await answer.json()))

    def pick(line: dict[str, Any]) -> dict[str, Any]:
        return line if "error" in line else {key: line[key] for key in COMPARED}

    for code, mine, theirs in zip(scans, js["scans"], server_scans, strict=True):
        assert pick(mine) == theirs, f"scan {code!r}: JS {json.dumps(mine, ensure_ascii=False)}"
    for key, mine, theirs in zip(plus, js["plus"], server_plus, strict=True):
        assert pick(mine) == theirs, f"PLU {key}: JS {json.dumps(mine, ensure_ascii=False)}"
    # The set really covers what it claims: tiers, rounding, labels, refusals of each kind.
    errors = {line["error"] for line in server_scans + server_plus if "error" in line}
    assert errors >= {
        "barcode_check_digit_wrong",
        "barcode_unknown",
        "barcode_unreadable",
        "scale_label_unreadable",
        "plu_unknown",
        "weight_unit_mismatch",
        "weight_invalid",
    }
    prices = {line["unit_price_minor"] for line in server_scans if line.get("variant_id") == shop.loquat.id}
    assert prices == {1680, 1500}


async def test_js_decodes_layouts_with_price_check_digits_as_python_does(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    layouts_text = "20-21:weight:5:5,25:price:5:5,27:price:4:5:check,28:price:5:4:check,29:weight:4:6"
    layouts = parse_layouts(layouts_text)
    as_json = [
        {
            "prefixes": sorted(layout.prefixes),
            "value": layout.value.value,
            "item_digits": layout.item_digits,
            "value_digits": layout.value_digits,
            "price_check": layout.price_check,
        }
        for layout in layouts
    ]
    assert scale_layout()  # the snapshot's form is the same shape as built here
    assert set(scale_layout()[0]) == set(as_json[0])
    rng = random.Random(14)
    codes: list[str] = []
    for _ in range(150):
        prefix = rng.choice(["20", "21", "25", "27", "28", "29", "22", "26"])
        body = prefix + "".join(rng.choice("0123456789") for _ in range(10))
        if prefix == "27":  # a right inner check digit most of the time
            body = prefix + body[2:6] + price_check_digit(body[7:12]) + body[7:12]
        elif prefix == "28" and rng.random() < 0.8:
            body = prefix + body[2:7] + price_check_digit(body[8:12]) + body[8:12]
        codes.append(with_check(body) if rng.random() < 0.9 else body + "0")
    values = [f"{rng.randrange(10_000):04d}" for _ in range(60)] + [f"{rng.randrange(100_000):05d}" for _ in range(60)]

    def python(code: str) -> dict[str, Any]:
        try:
            scan = decode(code, layouts)
        except AppError as exc:
            return {"error": exc.code}
        return {
            "kind": scan.kind.value,
            "code": scan.code,
            "plu": scan.plu,
            "grams": scan.grams,
            "price_minor": scan.price_minor,
        }

    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        await page.goto(f"{base}/pos")
        js = await page.evaluate(
            """async ([codes, values, layouts]) => {
              const m = await import('/static/pos/pricing.js');
              const out = codes.map((c) => { try { return m.decode(c, layouts); }
                                             catch (e) { return {error: e.code}; } });
              return {decoded: out, checks: values.map((v) => m.priceCheckDigit(v))};
            }""",
            [codes, values, as_json],
        )
    assert js["checks"] == [price_check_digit(v) for v in values]
    for code, mine in zip(codes, js["decoded"], strict=True):
        assert mine == python(code), code
    kinds = {python(c).get("kind") or python(c)["error"] for c in codes}
    assert {
        "weight_label",
        "price_label",
        "product",
        "scale_price_check_digit_wrong",
        "barcode_check_digit_wrong",
    } <= kinds
