"""Cart sanity: a per-line maximum (``CART_MAX_LINE_QUANTITY``, per unit of sale) and plain decimal
quantities, refused at add-to-cart with a clear message — and never a total built on them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import DEMO_SECRET_KEY, Settings, get_settings
from app.orders.models import Order
from app.web.cart import CART_COOKIE
from tests.web.test_shop_pages import HTML, Storefront, add, check_out, fill_cart
from tests.web.test_stock_pages import field


@pytest.fixture
def three_boxes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CART_MAX_LINE_QUANTITY", "box=3, kg=2.5")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CART_MAX_LINE_QUANTITY")
    get_settings.cache_clear()


async def test_absurd_quantities_are_refused_when_added(client: httpx.AsyncClient, storefront: Storefront) -> None:
    for quantity, other, message in (
        ("99999999", "", "每单最多 50 箱，更大数量请走批发采购"),
        ("1e3", "", "数量请写成普通数字，例如 2 或 1.5（不能用科学计数法等写法）"),
        ("Infinity", "", "数量请写成普通数字"),
    ):
        refused = await add(client, storefront.loquat_slug, storefront.box_sku, quantity, other=other)
        assert refused.status_code == 422 and message in refused.text, quantity
        assert CART_COOKIE not in client.cookies
    for other, message in (("100000", "每单最多 100 千克"), ("1E3", "数量请写成普通数字")):
        refused = await add(client, storefront.taro_slug, storefront.taro_sku, "1", other=other)
        assert refused.status_code == 422 and message in refused.text, other
        assert CART_COOKIE not in client.cookies
    # Full-width digits from a Chinese input method are the same number.
    assert (await add(client, storefront.loquat_slug, storefront.box_sku, "２")).status_code == 303
    assert "¥136.00" in (await client.get("/cart", headers=HTML)).text


async def test_the_maximum_counts_what_the_cart_already_holds(
    client: httpx.AsyncClient, storefront: Storefront
) -> None:
    assert (await add(client, storefront.loquat_slug, storefront.box_sku, "30")).status_code == 303
    more = await add(client, storefront.loquat_slug, storefront.box_sku, "21")
    assert more.status_code == 422 and f"{storefront.box_sku} 每单最多 50 箱" in more.text
    assert (await add(client, storefront.loquat_slug, storefront.box_sku, "20")).status_code == 303  # 50: allowed
    page = await client.get("/cart", headers=HTML)
    assert 'value="50"' in page.text and "¥3,400.00" in page.text
    token = field(page, "csrf_token")
    updated = await client.post("/cart/update", data={"csrf_token": token, "sku": storefront.box_sku, "quantity": "51"})
    assert updated.status_code == 422 and "每单最多 50 箱" in updated.text
    exponent = await client.post(
        "/cart/update", data={"csrf_token": token, "sku": storefront.box_sku, "quantity": "5e1"}
    )
    assert exponent.status_code == 422 and "数量请写成普通数字" in exponent.text
    assert 'value="50"' in (await client.get("/cart", headers=HTML)).text


async def test_the_product_page_says_the_maximum(client: httpx.AsyncClient, storefront: Storefront) -> None:
    boxed = await client.get(f"/products/{storefront.loquat_slug}", headers=HTML)
    assert 'max="50"' in boxed.text and "每单最多 50 箱" in boxed.text
    weighed = await client.get(f"/products/{storefront.taro_slug}", headers=HTML)
    assert "每单最多 100 千克" in weighed.text


async def test_a_cookie_from_before_the_limit_is_not_totalled(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, storefront: Storefront
) -> None:
    """A cart written before the limit (or forged with our key) shows the line as a problem: not
    priced, not in the total, and checkout refuses it with the same reason."""
    assert settings.secret_key.get_secret_value() == DEMO_SECRET_KEY
    signer = URLSafeTimedSerializer(DEMO_SECRET_KEY, salt="np-cart")
    client.cookies.set(
        CART_COOKIE,
        signer.dumps(
            [
                {"sku": storefront.box_sku, "quantity": "99999999"},
                {"sku": storefront.taro_sku, "quantity": "1.5"},
            ]
        ),
    )
    cart = await client.get("/cart", headers=HTML)
    assert "每单最多 50 箱" in cart.text and "此商品不计入合计" in cart.text
    assert '商品合计 <strong class="price">¥27.75</strong>' in cart.text  # 1.5 kg × ¥18.50 only
    assert "4,680" not in cart.text and "6,799,999" not in cart.text


async def test_the_maximum_is_configurable(
    three_boxes: None, client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    refused = await add(client, storefront.loquat_slug, storefront.box_sku, "4")
    assert refused.status_code == 422 and "每单最多 3 箱" in refused.text
    assert 'max="3"' in refused.text
    weighed = await add(client, storefront.taro_slug, storefront.taro_sku, "", other="2.501")
    assert weighed.status_code == 422 and "每单最多 2.5 千克" in weighed.text
    await fill_cart(client, storefront, boxes="3", taro="2.5")
    placed = await check_out(client, storefront)
    assert placed.status_code == 303, placed.text
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_bad_setting_stops_the_start() -> None:
    for bad in ("box=0", "crate=5", "box=lots", "kg=-1", "box=NaN"):
        with pytest.raises(ValueError, match="CART_MAX_LINE_QUANTITY 无法识别"):
            Settings(cart_max_line_quantity=bad)
    assert Settings(cart_max_line_quantity="kg=20").cart_line_maximums == {
        "piece": 200,
        "box": 50,
        "kg": 20,
        "jin": 200,
    }
