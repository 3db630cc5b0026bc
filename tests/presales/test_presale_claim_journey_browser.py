"""One customer's whole story on a 390 px phone, in a real browser (issue 18): she finds the open
pre-sale wave on the shop's home page (countdown, "还剩 N 份"), orders 2 boxes for pickup at her
village station, paying at pickup, as a guest (the presale form proves her phone for the order
page). Behind the scenes the harvest comes in as two lots, the wave is allocated after its cut-off
(FEFO: a neighbour who ordered first gets the sooner lot, she the later one), and the route run
packs, dispatches, scans in and hands over her parcel against its pickup code. Back on her phone
the order is collected and offers 申请理赔; she claims 1 box with a reason and a camera-sized photo
(shrunk by claims.js before upload) and the order shows the claim waiting for review.

The database then holds the claim on her order line and on the lot that filled her pre-sale order,
and her order's notices read the allocation and the claim_filed texts. Screens go to the test's
tmp dir and are copied to ``/work/shots/journey`` when that folder's parent exists."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.claims.models import Claim, ClaimLine, ClaimLineLot, ClaimPhoto, ClaimStatus
from app.db import create_sessionmaker
from app.kit import clock
from app.notifications.models import NotificationMessage
from app.notifications.templates import signature
from app.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from app.presales import allocation, service
from tests.claims.helpers import big_photo, claim_in_browser, hand_over_all
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, new_page
from tests.fixtures.builders import make_route, make_user, receive
from tests.presales.helpers import make_wave, order_from_home_page, order_in

pytestmark = needs_chromium
SHOTS_COPY = Path("/work/shots/journey")
PRICE = 8800


async def test_a_customer_joins_a_presale_wave_and_later_claims_a_spoiled_box_with_a_photo(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid4().hex[:4]  # the committed database outlives the test
    start = clock.now()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_wave(
            session,
            cap=20,
            price_minor=PRICE,
            pay_at_pickup=True,
            per_phone=3,
            stations=1,
            cutoff_in=timedelta(hours=2, minutes=30),
            title=f"始兴枇杷 一级 5 千克箱装 · 预售 {tag}",
        )
        # A neighbour ordered 3 boxes first: she is served first at allocation.
        neighbour = await service.place(
            session, order_in(setup, "3", i=9100, method=PaymentMethod.pay_at_pickup), stripe_enabled=False
        )
        route = await make_route(session, *setup.stations)
        operator = await make_user(
            session, Role.station_operator, username=f"jr-op-{tag}", station_id=setup.stations[0].id
        )
        await session.commit()

    shots = Shots("journey", root=tmp_path)
    data_dir = tmp_path / "data"
    async with app_in_browser(committed_database_url, data_dir) as (base, browser):
        phone = await new_page(browser, viewport=PHONE)

        # 1. The wave on the home page, its page, the order for 2 boxes paid at pickup.
        number = await order_from_home_page(
            phone,
            base,
            setup,
            shots,
            left=17,
            quantity="2",
            contact_name="黄阿姨",
            contact_phone="13800138078",
        )
        await expect(phone.locator(".status-box")).to_contain_text("到站付款")
        await expect(phone.get_by_text("取货时付款 ¥176.00")).to_be_visible()

        # 2. Behind the scenes, after the cut-off: the harvest in two lots, allocation in order of
        # placement (FEFO), then the route run through the station and the handover.
        with clock.pinned(start + timedelta(hours=3)):
            async with sessionmaker() as session:
                sooner = await receive(session, setup.variant, "3", best_before=clock.today() + timedelta(days=12))
                later = await receive(session, setup.variant, "2", best_before=clock.today() + timedelta(days=18))
                done = await allocation.allocate(session, setup.wave.code, actor_user_id=None)
                assert done.filled == [neighbour.number, number]
                await session.commit()
                handed = await hand_over_all(session, operator, route_code=route.code)
        assert sorted(handed) == sorted([neighbour.number, number])

        # 3. Her phone again (the same guest, phone proven by the presale form): collected, claim.
        with clock.pinned(start + timedelta(hours=4)):
            await phone.goto(f"{base}/orders/{number}")
            await expect(phone.locator(".status-line .status").first).to_have_text("已完成")
            await expect(phone.get_by_role("link", name="申请理赔")).to_be_visible()
            await expect(phone.locator("section[aria-labelledby=h-pickup] .facts")).to_contain_text("已在村站取货。")
            await shots(phone, "order-collected-phone")
            photo = big_photo()
            await claim_in_browser(
                phone,
                base,
                number,
                shots,
                quantity="1",
                reason="开箱有 4 个枇杷发霉、压烂",
                photo=photo,
                shot="order-claim-waiting-phone",
            )

    # 4. The database: the claim on her line and on the lot that filled her order; her notices.
    async with sessionmaker() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.status is OrderStatus.completed
        line = await session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        assert line is not None and line.variant_id == setup.variant.id
        claim = await session.scalar(select(Claim).where(Claim.order_id == order.id))
        assert claim is not None
        assert (claim.status, claim.claimed_minor, claim.reason) == (
            ClaimStatus.submitted,
            PRICE,
            "开箱有 4 个枇杷发霉、压烂",
        )
        claim_lines = (await session.execute(select(ClaimLine).where(ClaimLine.claim_id == claim.id))).scalars().all()
        assert [(cl.order_line_id, cl.quantity, cl.amount_minor) for cl in claim_lines] == [
            (line.id, Decimal(1), PRICE)
        ]
        lots = (
            await session.execute(
                select(ClaimLineLot.lot_id, ClaimLineLot.quantity).where(
                    ClaimLineLot.claim_line_id == claim_lines[0].id
                )
            )
        ).all()
        # The neighbour took the sooner lot's 3 boxes; hers came from the later lot.
        assert [tuple(row) for row in lots] == [(later.id, Decimal(1))] and later.id != sooner.id
        stored = (await session.scalars(select(ClaimPhoto).where(ClaimPhoto.claim_id == claim.id))).all()
        notices = dict(
            (
                await session.execute(
                    select(NotificationMessage.template, NotificationMessage.body).where(
                        NotificationMessage.reference == number,
                        NotificationMessage.template.in_(["presale_allocated", "claim_filed"]),
                    )
                )
            ).all()
        )
    # Shrunk in the browser before upload: the longest side is 1600 px, not the camera's 3000.
    assert [(p.width, p.height) for p in stored] == [(1600, 1067)]
    assert (data_dir / "uploads" / stored[0].path).stat().st_size < len(photo)
    sign = signature()  # the brand's 【签名】, from the settings
    assert notices == {
        "presale_allocated": f"{sign}预售订单{number}到货：订2份配到2份，到站后短信通知取货码。",
        "claim_filed": f"{sign}订单{number}的售后理赔申请（第{claim.id}号）已收到，审核后短信告知结果。",
    }
    assert len(shots.taken()) == 6
    shots.copy_to(SHOTS_COPY)
