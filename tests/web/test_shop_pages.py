"""The consumer shop pages driven like a browser: the cookie cart priced by the server, checkout
through the same path as the API, the order page for its owner or a guest who proves the phone,
guest lookup, and the ops console's order pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.catalog.models import Variant
from app.config import Settings
from app.kit.outbox import RecordingSender
from app.kit.quantities import Unit
from app.main import create_app
from app.notifications.models import NotificationMessage
from app.orders import payments
from app.orders import repository as orders_repository
from app.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundState
from app.orders.stripe_provider import StripeProvider
from app.supply.models import Reservation
from app.web.cart import CART_COOKIE
from tests.fixtures.builders import make_variant, set_price
from tests.fixtures.fake_stripe import FakeStripeServer
from tests.fixtures.shop import Storefront
from tests.web.test_stock_pages import HTML, field, log_in


@pytest.fixture
async def second_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser: its own cookies (no cart, no session, no proven phone)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        yield other


HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


def hidden_fields(page: httpx.Response, form_action: str) -> dict[str, list[str]]:
    """Every hidden field of the form that posts to ``form_action``."""
    start = page.text.index(f'action="{form_action}"')
    end = page.text.index("</form>", start)
    found: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(page.text[start:end]):
        found.setdefault(name, []).append(value)
    return found


async def add(
    client: httpx.AsyncClient, slug: str, sku: str, quantity: str = "", other: str = "", **extra: str
) -> httpx.Response:
    page = await client.get(f"/products/{slug}", headers=HTML)
    assert page.status_code == 200, page.text
    data = {"csrf_token": field(page, "csrf_token"), "sku": sku, "quantity": quantity, "quantity_other": other}
    return await client.post("/cart/add", data={**data, "next": f"/products/{slug}", **extra}, headers=HTML)


async def fill_cart(client: httpx.AsyncClient, shop: Storefront, boxes: str = "2", taro: str = "1.235") -> None:
    assert (await add(client, shop.loquat_slug, shop.box_sku, boxes)).status_code == 303
    assert (await add(client, shop.taro_slug, shop.taro_sku, "1", other=taro)).status_code == 303


def checkout_form(page: httpx.Response, shop: Storefront, **overrides: str) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {
        **hidden_fields(page, "/checkout"),
        "contact_name": "李阿姨",
        "contact_phone": "138 0013 8000",
        "delivery_method": "station_pickup",
        "station_code": shop.station_code,
        "payment_method": "pay_at_pickup",
    }
    data.update(overrides)
    return data


async def check_out(client: httpx.AsyncClient, shop: Storefront, **overrides: str) -> httpx.Response:
    page = await client.get("/checkout", headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post("/checkout", data=checkout_form(page, shop, **overrides), headers=HTML)


async def order_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


def number_of(response: httpx.Response) -> str:
    found = re.match(r"^/orders/(NP\d+)", response.headers["location"])
    assert found is not None, response.headers.get("location")
    return found.group(1)


# ---- cart ---------------------------------------------------------------------------------------


async def test_the_cart_shows_server_prices(client: httpx.AsyncClient, storefront: Storefront) -> None:
    added = await add(client, storefront.loquat_slug, storefront.box_sku, "2", price="0.01", unit_price_minor="1")
    assert added.status_code == 303
    assert added.headers["location"] == f"/products/{storefront.loquat_slug}?added={storefront.box_sku}"
    back = await client.get(added.headers["location"], headers=HTML)
    assert "已加入购物车：始兴枇杷 特级 5斤装，购物车中共 2 箱" in back.text
    # A weighed line: the free weight field wins over the ready-made choice.
    weighed = await add(client, storefront.taro_slug, storefront.taro_sku, "1", other="1.235")
    assert weighed.status_code == 303

    cart = await client.get("/cart", headers=HTML)

    assert cart.status_code == 200
    text = cart.text
    assert "始兴枇杷" in text and "¥136.00" in text  # 2 × ¥68.00
    assert "始兴香芋" in text and 'value="1.235"' in text and "¥22.85" in text  # 1.235 kg × ¥18.50 = 22.8475
    assert '商品合计 <strong class="price">¥158.85</strong>' in text
    assert '<span class="count" aria-hidden="true">2</span><span class="visually-hidden">（2 种商品）</span>' in text


async def test_adding_again_adds_up_and_bad_quantities_are_refused(
    client: httpx.AsyncClient, storefront: Storefront
) -> None:
    below = await add(client, storefront.taro_slug, storefront.taro_sku, "", other="0.2")
    assert below.status_code == 422 and "最小起订量为 0.5 千克" in below.text
    await fill_cart(client, storefront)
    # What counts is the cart's total for the SKU: 0.2 kg more on top of 1.235 kg is fine.
    assert (await add(client, storefront.taro_slug, storefront.taro_sku, "", other="0.2")).status_code == 303
    assert (await add(client, storefront.taro_slug, storefront.taro_sku, "0.5")).status_code == 303
    precise = await add(client, storefront.taro_slug, storefront.taro_sku, "", other="1.2345")
    assert precise.status_code == 422 and "数量最多三位小数" in precise.text
    half_box = await add(client, storefront.loquat_slug, storefront.box_sku, "1.5")
    assert half_box.status_code == 422 and "整数倍" in half_box.text

    cart = await client.get("/cart", headers=HTML)
    assert 'value="1.935"' in cart.text and "¥35.80" in cart.text  # 1.935 × 18.50 = 35.7975


async def test_update_and_remove(client: httpx.AsyncClient, storefront: Storefront) -> None:
    await fill_cart(client, storefront)
    page = await client.get("/cart", headers=HTML)
    token = field(page, "csrf_token")
    updated = await client.post("/cart/update", data={"csrf_token": token, "sku": storefront.box_sku, "quantity": "3"})
    assert updated.status_code == 303
    assert "¥204.00" in (await client.get("/cart", headers=HTML)).text
    bad = await client.post("/cart/update", data={"csrf_token": token, "sku": storefront.box_sku, "quantity": "-1"})
    assert bad.status_code == 422 and "数量必须大于 0" in bad.text
    removed = await client.post("/cart/remove", data={"csrf_token": token, "sku": storefront.box_sku})
    assert removed.status_code == 303
    cart = await client.get("/cart", headers=HTML)
    assert "始兴枇杷" not in cart.text and "¥22.85" in cart.text
    no_csrf = await client.post("/cart/remove", data={"sku": storefront.taro_sku})
    assert no_csrf.status_code == 403


async def test_a_tampered_cart_cookie_is_ignored(client: httpx.AsyncClient, storefront: Storefront) -> None:
    await fill_cart(client, storefront)
    genuine = client.cookies[CART_COOKIE]
    payload, _, signature = genuine.rpartition(".")

    for forged in (
        payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],  # signature changed
        '[{"sku":"' + storefront.box_sku + '","quantity":"2"}]',  # unsigned JSON
        "garbage",
    ):
        client.cookies.set(CART_COOKIE, forged)
        cart = await client.get("/cart", headers=HTML)
        assert cart.status_code == 200
        assert "购物车是空的" in cart.text and "始兴枇杷" not in cart.text
        assert 'class="count"' not in cart.text

    client.cookies.set(CART_COOKIE, genuine)
    assert "¥158.85" in (await client.get("/cart", headers=HTML)).text


async def test_a_line_that_no_longer_prices_is_shown_apart(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    # The minimum goes up after the line was added: the line stays, shown with its reason.
    kg = await db_session.scalar(select(Variant).where(Variant.sku == storefront.taro_sku))
    assert kg is not None
    await set_price(db_session, "retail", kg, 1850, min_quantity="2", increment="0.001")

    cart = await client.get("/cart", headers=HTML)

    assert "最小起订量为 2 千克" in cart.text and "此商品不计入合计" in cart.text
    assert '商品合计 <strong class="price">¥136.00</strong>' in cart.text


# ---- product and home pages ----------------------------------------------------------------------


async def test_stock_states_and_add_forms(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    product = await client.get(f"/products/{storefront.loquat_slug}", headers=HTML)
    assert product.status_code == 200
    assert "现货" in product.text and "加入购物车" in product.text
    weighed = await client.get(f"/products/{storefront.taro_slug}", headers=HTML)
    for option in ("0.5", "1", "1.5", "2"):
        assert f'name="quantity" value="{option}"' in weighed.text
    assert "其他重量" in weighed.text

    empty = await make_variant(db_session, product=None, unit=Unit.box, name_zh="空箱")
    await set_price(db_session, "retail", empty, 1000)
    await db_session.refresh(empty, ["product"])
    sold_out = await client.get(f"/products/{empty.product.slug}", headers=HTML)
    assert "售罄" in sold_out.text and "已售罄</button>" in sold_out.text and "disabled" in sold_out.text

    home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert "始兴枇杷" in home.text and "售罄" in home.text and "现货" in home.text


# ---- checkout -----------------------------------------------------------------------------------


async def test_checkout_with_station_pickup_and_pay_at_pickup(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    page = await client.get("/checkout", headers=HTML)
    assert page.status_code == 200
    assert storefront.station_name in page.text and "到站付款" in page.text
    assert "在线支付暂未开通" in page.text  # no payment provider in this app

    placed = await client.post("/checkout", data=checkout_form(page, storefront), headers=HTML)

    assert placed.status_code == 303, placed.text
    number = number_of(placed)
    assert placed.headers["location"] == f"/orders/{number}?done=placed"
    assert CART_COOKIE not in client.cookies  # the cart is emptied
    order = await orders_repository.order_by_number(db_session, number)
    assert order is not None
    assert (order.status, order.payment_status, order.total_minor) == (
        OrderStatus.confirmed,
        PaymentStatus.unpaid,
        15885,
    )
    assert order.contact_phone == "+8613800138000" and order.customer_user_id is None
    assert [(line.sku, line.quantity) for line in order.lines] == [
        (storefront.box_sku, Decimal("2.000")),
        (storefront.taro_sku, Decimal("1.235")),
    ]
    notices = (
        await db_session.scalars(select(NotificationMessage.template).where(NotificationMessage.reference == number))
    ).all()
    assert notices == ["order_placed"]

    shown = await client.get(placed.headers["location"], headers=HTML)
    assert shown.status_code == 200
    for text in (number, "下单成功", "已确认", storefront.station_name, "顾客选择的自提点", "¥158.85", "订单已提交"):
        assert text in shown.text, text
    assert "取消订单" in shown.text


async def test_a_double_submitted_checkout_makes_one_order(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    page = await client.get("/checkout", headers=HTML)
    data = checkout_form(page, storefront)

    first = await client.post("/checkout", data=data, headers=HTML)
    second = await client.post("/checkout", data=data, headers=HTML)  # the cart cookie is gone by now

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await order_count(db_session) == 1
    assert await db_session.scalar(select(func.count()).select_from(Reservation)) == 1


async def test_insufficient_stock_names_the_short_line_and_creates_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront, boxes="11")

    refused = await check_out(client, storefront)

    assert refused.status_code == 409
    assert "库存不足" in refused.text and "始兴枇杷 特级 5斤装：需要 11，现有 10" in refused.text
    assert 'value="李阿姨"' in refused.text  # what was typed is kept
    assert await order_count(db_session) == 0
    assert await db_session.scalar(select(func.count()).select_from(Reservation)) == 0
    assert CART_COOKIE in client.cookies


async def test_bad_checkout_input_is_explained(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    bad_phone = await check_out(client, storefront, contact_phone="12345")
    assert bad_phone.status_code == 422 and "手机号：手机号码无效" in bad_phone.text
    online = await check_out(client, storefront, payment_method="stripe", online_method="alipay")
    assert online.status_code == 422 and "在线支付暂未开通" in online.text
    assert await order_count(db_session) == 0


# ---- order page, lookup, access -----------------------------------------------------------------


async def test_guest_lookup(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    number = number_of(await check_out(client, storefront))
    # Another browser knows only the number: the order does not exist for it.
    assert (await second_client.get(f"/orders/{number}", headers=HTML)).status_code == 404

    page = await second_client.get("/orders/lookup", headers=HTML)
    token = field(page, "csrf_token")
    wrong = await second_client.post(
        "/orders/lookup", data={"csrf_token": token, "number": number, "phone": "13900000000"}, headers=HTML
    )
    assert wrong.status_code == 404 and "没有找到与该手机号匹配的订单" in wrong.text
    unknown = await second_client.post(
        "/orders/lookup", data={"csrf_token": token, "number": "NP000000000000", "phone": "13800138000"}, headers=HTML
    )
    assert unknown.status_code == 404 and unknown.text.count("没有找到与该手机号匹配的订单") == 1

    right = await second_client.post(
        "/orders/lookup", data={"csrf_token": token, "number": number.lower(), "phone": "13800138000"}, headers=HTML
    )
    assert right.status_code == 303 and right.headers["location"] == f"/orders/{number}"
    shown = await second_client.get(f"/orders/{number}", headers=HTML)
    assert shown.status_code == 200 and number in shown.text and "138****8000" in shown.text


async def test_a_phone_in_the_address_proves_nothing(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, storefront: Storefront
) -> None:
    """Phones stay out of addresses (access logs, history): only the look-up form proves one."""
    await fill_cart(client, storefront)
    number = number_of(await check_out(client, storefront))
    typed = await second_client.get(f"/orders/{number}", params={"phone": "13800138000"}, headers=HTML)
    assert typed.status_code == 404
    assert second_client.cookies.get(f"np_o_{number}") is None
    api = await second_client.get(f"/api/v1/orders/{number}", params={"phone": "13800138000"})
    assert api.status_code == 404


async def test_a_customer_sees_only_their_own_orders(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    db_session: AsyncSession,
    storefront: Storefront,
) -> None:
    owner_id = await log_in(client, db_session, Role.customer)
    await fill_cart(client, storefront)
    number = number_of(await check_out(client, storefront))
    order = await orders_repository.order_by_number(db_session, number)
    assert order is not None and order.customer_user_id == owner_id
    mine = await client.get("/account/orders", headers=HTML)
    assert mine.status_code == 200 and number in mine.text and "已确认" in mine.text

    await log_in(second_client, db_session, Role.customer)
    assert (await second_client.get(f"/orders/{number}", headers=HTML)).status_code == 404
    theirs = await second_client.get("/account/orders", headers=HTML)
    assert number not in theirs.text and "还没有订单" in theirs.text


async def test_the_customer_cancels(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    number = number_of(await check_out(client, storefront))
    page = await client.get(f"/orders/{number}", headers=HTML)

    cancelled = await client.post(f"/orders/{number}/cancel", data={"csrf_token": field(page, "csrf_token")})

    assert cancelled.status_code == 303
    shown = await client.get(cancelled.headers["location"], headers=HTML)
    assert "订单已取消" in shown.text and "已取消" in shown.text and "取消订单</button>" not in shown.text
    order = await orders_repository.order_by_number(db_session, number)
    assert order is not None and order.status is OrderStatus.cancelled
    again = await client.post(f"/orders/{number}/cancel", data={"csrf_token": field(page, "csrf_token")})
    assert again.status_code == 409


# ---- ops console --------------------------------------------------------------------------------


async def test_admin_order_pages_cancel_and_refund(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    db_session: AsyncSession,
    storefront: Storefront,
) -> None:
    await fill_cart(second_client, storefront)
    number = number_of(await check_out(second_client, storefront))
    admin_id = await log_in(client, db_session, Role.admin)
    order = await orders_repository.order_by_number(db_session, number)
    assert order is not None
    await payments.collect_at_pickup(db_session, order, method="cash", actor_user_id=admin_id)  # ¥158.85 in cash

    listing = await client.get("/admin/orders", params={"q": "8000"}, headers=HTML)
    assert listing.status_code == 200 and number in listing.text and "+86 138****8000" in listing.text
    assert number not in (await client.get("/admin/orders", params={"status": "cancelled"}, headers=HTML)).text
    detail = await client.get(f"/admin/orders/{number}", headers=HTML)
    assert detail.status_code == 200 and "可退 ¥158.85" in detail.text and "订单已提交" in detail.text

    too_much = await client.post(
        f"/admin/orders/{number}/refund",
        data={**hidden_fields(detail, f"/admin/orders/{number}/refund"), "amount": "200", "reason": "测试"},
        headers=HTML,
    )
    assert too_much.status_code == 422 and "最多可退 158.85 元" in too_much.text

    detail = await client.get(f"/admin/orders/{number}", headers=HTML)
    refund_form = {**hidden_fields(detail, f"/admin/orders/{number}/refund"), "amount": "10.50", "reason": "果品有损"}
    refunded = await client.post(f"/admin/orders/{number}/refund", data=refund_form, headers=HTML)
    twice = await client.post(f"/admin/orders/{number}/refund", data=refund_form, headers=HTML)
    assert refunded.status_code == twice.status_code == 303
    refunds = (await db_session.scalars(select(Refund).where(Refund.order_id == order.id))).all()
    assert [(r.amount_minor, r.state) for r in refunds] == [(1050, RefundState.succeeded)]

    detail = await client.get(f"/admin/orders/{number}", headers=HTML)
    assert "退款已登记" not in detail.text and "可退 ¥148.35" in detail.text
    cancelled = await client.post(
        f"/admin/orders/{number}/cancel",
        data={**hidden_fields(detail, f"/admin/orders/{number}/cancel"), "reason": "顾客电话要求取消"},
        headers=HTML,
    )
    assert cancelled.status_code == 303
    shown = await client.get(cancelled.headers["location"], headers=HTML)
    assert "订单已取消，已通知顾客" in shown.text and "订单已取消：顾客电话要求取消" in shown.text
    order = await orders_repository.order_by_number(db_session, number)
    assert order is not None
    assert (order.status, order.refunded_minor, order.payment_status) == (
        OrderStatus.cancelled,
        15885,
        PaymentStatus.refunded,
    )
    templates = (
        await db_session.scalars(
            select(NotificationMessage.template)
            .where(NotificationMessage.reference == number)
            .order_by(NotificationMessage.id)
        )
    ).all()
    assert "order_cancelled" in templates and templates.count("refund_issued") == 2


@pytest.mark.parametrize("path", ["/admin/orders", "/admin/orders/NP000000000000"])
async def test_order_console_is_for_admins(client: httpx.AsyncClient, db_session: AsyncSession, path: str) -> None:
    anonymous = await client.get(path, headers=HTML)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={path}"
    await log_in(client, db_session, Role.customer)
    assert (await client.get(path, headers=HTML)).status_code == 403


# ---- online payment (Stripe through the local fake) ---------------------------------------------


@pytest.fixture
async def online_client(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
    fake_stripe: FakeStripeServer,
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on a shop whose online payment is switched on."""
    provider = StripeProvider(fake_stripe.api_key, "whsec_pages", api_base=fake_stripe.base_url)
    app = create_app(
        settings, engine=engine, sessionmaker=sessionmaker, task_sender=task_sender, payment_provider=provider
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as online:
        yield online
    await provider.close()


async def test_online_payment_pages(
    online_client: httpx.AsyncClient, db_session: AsyncSession, fake_stripe: FakeStripeServer, storefront: Storefront
) -> None:
    client = online_client
    await fill_cart(client, storefront)
    checkout = await client.get("/checkout", headers=HTML)
    assert "在线支付" in checkout.text and "微信支付" in checkout.text and "送货上门" in checkout.text
    placed = await client.post(
        "/checkout",
        data=checkout_form(checkout, storefront, payment_method="stripe", online_method="wechat_pay"),
        headers=HTML,
    )
    assert placed.status_code == 303, placed.text
    number = number_of(placed)
    assert placed.headers["location"] == f"/orders/{number}/pay?method=wechat_pay"
    page = await client.get(placed.headers["location"], headers=HTML)
    assert page.status_code == 200 and "¥158.85" in page.text and 'value="wechat_pay" checked' in page.text

    qr = await client.post(
        f"/orders/{number}/pay", data={"csrf_token": field(page, "csrf_token"), "method": "wechat_pay"}, headers=HTML
    )
    assert qr.status_code == 303 and qr.headers["location"] == f"/orders/{number}/pay?method=wechat_pay"
    shown = await client.get(qr.headers["location"], headers=HTML)
    assert 'src="data:image/png;base64,' in shown.text and "请用微信扫一扫完成支付" in shown.text
    assert f'data-poll="/orders/{number}/status"' in shown.text
    status = await client.get(f"/orders/{number}/status")
    assert status.json() == {"status": "pending_payment", "payment_status": "unpaid"}

    alipay = await client.post(
        f"/orders/{number}/pay", data={"csrf_token": field(page, "csrf_token"), "method": "alipay"}, headers=HTML
    )
    assert alipay.status_code == 303 and alipay.headers["location"].startswith(fake_stripe.base_url.rsplit("/v1", 1)[0])
    methods = (await db_session.scalars(select(Payment.method).join(Order).where(Order.number == number))).all()
    assert sorted(methods) == ["alipay", "wechat_pay"]
    # The order page offers the payment while it is pending; nobody else can poll it.
    assert "去支付 ¥158.85" in (await client.get(f"/orders/{number}", headers=HTML)).text
    client.cookies.clear()
    assert (await client.get(f"/orders/{number}/status")).status_code == 404


async def test_home_delivery_adds_the_fee(
    online_client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    assert (await add(online_client, storefront.taro_slug, storefront.taro_sku, "", other="1.235")).status_code == 303
    page = await online_client.get("/checkout", headers=HTML)
    assert "始兴县乡镇" in page.text and "¥8.00" in page.text  # the rate card for this subtotal
    cash_home = checkout_form(page, storefront, delivery_method="home_delivery", home_township="马市镇", detail="12 号")
    refused = await online_client.post("/checkout", data=cash_home, headers=HTML)
    assert refused.status_code == 409 and "到站付款只适用于村站自提" in refused.text
    assert await order_count(db_session) == 0
    data = checkout_form(
        page,
        storefront,
        delivery_method="home_delivery",
        home_township="马市镇",
        home_village="红梨村",
        detail="红梨村 12 号",
        payment_method="stripe",
        online_method="alipay",
    )
    placed = await online_client.post("/checkout", data=data, headers=HTML)
    assert placed.status_code == 303, placed.text
    order = await orders_repository.order_by_number(db_session, number_of(placed))
    assert order is not None
    assert (order.subtotal_minor, order.delivery_fee_minor, order.total_minor) == (2285, 800, 3085)
    assert order.delivery_address is not None and order.delivery_address["detail"] == "红梨村 12 号"
