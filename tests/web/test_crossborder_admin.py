"""The Alibaba.com (ICBU) pages of the ops console (/admin/crossborder), driven like a browser: sign in
through /login, read each form as rendered (CSRF token, textareas, ticked boxes), post it, and check
what changed in the database — and what must not have.

Connecting runs against the local fake ICBU gateway over real HTTP: connect → the fake's
/oauth/authorize (302 back with a code and our state) → the callback exchanges the code.
The last test does the editor in real Chromium (desktop and a 390 px phone), with screenshots in
``test-output/crossborder-browser/``.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.catalog.models import ProductImage
from app.config import AppEnv, Settings
from app.crossborder.crypto import cipher_for
from app.crossborder.models import (
    AlibabaConnection,
    AlibabaOrder,
    ConnectionStatus,
    Listing,
    ListingState,
    SyncLogEntry,
)
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import OutboxMessage, RecordingSender
from app.main import create_app
from tests.fixtures.builders import DEFAULT_PASSWORD, make_product, make_user, make_variant, seq
from tests.fixtures.fake_icbu import FakeIcbuServer, fake_icbu_fixture, fake_icbu_server_fixture  # noqa: F401
from tests.web.test_shop_browser import serve
from tests.web.test_stock_pages import HTML, field, log_in

LADDER = [
    {"min_quantity": 20, "price_cents": 1980},
    {"min_quantity": 100, "price_cents": 1850},
    {"min_quantity": 300, "price_cents": 1720},
]
TITLE = "Fresh Chinese Loquat Grade A 5kg Box, Shixing Guangdong Orchard Direct"
NOT_CONFIGURED = "未配置应用，商品只保存在本地，不会发送任何数据"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "crossborder-browser"
PC = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


# ---- set-up -------------------------------------------------------------------------------------


def listing_fields(product_id: int, variant_id: int, image_path: str, **kw: Any) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "variant_id": variant_id,
        "model_number": f"NLP-XB-T{seq():04d}",
        "title_en": TITLE,
        "description_en": "Grade A loquats from the hill orchards of Taiping Town.\nPacked 5 kg per carton.",
        "keywords": ["fresh loquat", "chinese loquat fruit"],
        "category_id": "100003019",
        "attributes": [
            {"attribute_name": "Place of Origin", "attribute_value": "Guangdong, China"},
            {"attribute_name": "Grade", "attribute_value": "Grade A"},
        ],
        "image_paths": [image_path],
        "price_tiers": [dict(t) for t in LADDER],
        "moq": 20,
        "unit": "Box",
        "lead_time_days": 3,
        "weight_kg": Decimal("5.600"),
        "size_cm": {"length": 40, "width": 30, "height": 18},
        "shipping_template_id": None,
        "state": ListingState.not_connected,
        "desired_online": True,
        **kw,
    }


async def make_listing(session: AsyncSession, **kw: Any) -> Listing:
    """A demo-like listing of a loquat box whose catalog product has two images (one chosen)."""
    product = await make_product(session, name_zh="始兴枇杷", name_en="Shixing loquat")
    variant = await make_variant(session, product=product, name_zh="特级 5斤装")
    images = [
        ProductImage(
            product_id=product.id,
            path=f"products/{product.id}/{name}.jpg",
            content_type="image/jpeg",
            width=800,
            height=600,
            byte_size=2048,
            alt_zh=alt,
            sort_order=n,
        )
        for n, (name, alt) in enumerate([("loquat", "枇杷特写"), ("orchard", "果园")])
    ]
    session.add_all(images)
    await session.flush()
    listing = Listing(**listing_fields(product.id, variant.id, images[0].path, **kw))
    session.add(listing)
    await session.flush()
    return listing


async def reload(session: AsyncSession, listing: Listing) -> Listing:
    await session.refresh(listing)
    return listing


@pytest.fixture
def icbu_settings(settings: Settings, fake_icbu: FakeIcbuServer) -> Settings:
    """An app configured for the fake gateway (the seller account still has to be connected)."""
    return Settings(
        app_env=AppEnv.test,
        app_data_dir=settings.app_data_dir,
        database_url=settings.database_url,
        public_base_url="http://testserver",
        alibaba_gateway_url=fake_icbu.base_url,
        alibaba_authorize_url=fake_icbu.base_url + "/oauth/authorize",
        alibaba_app_key=fake_icbu.app_key,
        alibaba_app_secret=fake_icbu.app_secret,
        alibaba_token_key=Fernet.generate_key().decode(),
    )


@pytest.fixture
async def icbu_client(
    icbu_settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(icbu_settings, engine=engine, sessionmaker=sessionmaker, task_sender=task_sender)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


class _FormReader(HTMLParser):
    """The fields a browser submits from the form posting to ``action``: inputs, ticked boxes and
    textareas (without the one newline after ``<textarea>`` that HTML drops)."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: dict[str, Any] = {}
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        if name == "image_paths":
            self.fields.setdefault(name, []).append(value)
        else:
            self.fields[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.inside = found.get("action") == self.action
        elif self.inside and tag == "input" and found.get("name"):
            if found.get("type") == "checkbox" and "checked" not in found:
                return
            self._add(str(found["name"]), found.get("value") or "")
        elif self.inside and tag == "textarea":
            self._textarea, self._text = str(found["name"]), []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self._add(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None


def read_form(page: httpx.Response, action: str) -> dict[str, Any]:
    reader = _FormReader(action)
    reader.feed(page.text)
    assert "csrf_token" in reader.fields, f"no form posting to {action}"
    return reader.fields


async def save(client: httpx.AsyncClient, listing: Listing, **changes: Any) -> httpx.Response:
    """Open the editor, change some fields, press 保存."""
    url = f"/admin/crossborder/listings/{listing.id}"
    page = await client.get(url, headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(url, data={**read_form(page, url), **changes}, headers=HTML)


async def press(client: httpx.AsyncClient, page_url: str, action: str) -> httpx.Response:
    """Press a one-button form (connect, sync) on the page."""
    page = await client.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(action, data=read_form(page, action), headers=HTML)


def text_of(html: str) -> str:
    """What a reader sees of a piece of the page (tags dropped)."""
    return re.sub(r"<[^>]+>", "", html)


async def connections(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AlibabaConnection)) or 0)


async def nudges(session: AsyncSession) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.task_name == "alibaba.sync_due")
    return int(await session.scalar(query) or 0)


# ---- the pages and who may see them -------------------------------------------------------------


async def test_the_pages_render_for_an_admin_when_no_app_is_configured(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    listing = await make_listing(db_session, category_id=None, remote_product_id=None)
    await log_in(client, db_session, Role.admin)

    index = await client.get("/admin/crossborder", headers=HTML)
    assert index.status_code == 200
    assert '<a href="/admin/crossborder" aria-current="page">国际站</a>' in index.text
    assert NOT_CONFIGURED in index.text
    assert "连接阿里巴巴国际站</button>" in index.text and " disabled" in index.text
    assert listing.model_number in index.text and "始兴枇杷" in index.text and TITLE in index.text
    # Shown as not connected whatever the stored state, with the one problem (no category) counted.
    assert '<span class="tag off">未连接</span>' in index.text
    assert '<span class="tag warn">1 项</span>' in index.text
    assert "（北京时间）" not in index.text.split("<tbody>")[1]  # never synced, nothing planned
    assert f'href="/admin/crossborder/listings/{listing.id}"' in index.text
    assert 'href="/admin/crossborder/orders"' in index.text

    editor = await client.get(f"/admin/crossborder/listings/{listing.id}", headers=HTML)
    assert editor.status_code == 200
    assert "编辑国际站商品信息" in editor.text and "未配置应用：保存只改本地数据" in editor.text
    assert "当前保存的内容有 1 处会被阿里巴巴国际站拒绝" in editor.text
    assert "请选择阿里巴巴国际站类目（类目 ID）" in editor.text
    form = read_form(editor, f"/admin/crossborder/listings/{listing.id}")
    assert form["price_tiers"] == "20 19.80\n100 18.50\n300 17.20"
    assert form["attributes"] == "Place of Origin: Guangdong, China\nGrade: Grade A"
    assert form["keywords"] == "fresh loquat\nchinese loquat fruit"
    assert form["image_paths"] == [listing.image_paths[0]]  # the other catalog image is offered, unticked
    assert (form["weight_kg"], form["size_length"], form["size_width"], form["size_height"]) == (
        "5.600",
        "40",
        "30",
        "18",
    )
    assert form["desired_online"] == "on"
    assert f'src="/media/products/{listing.product_id}/orchard.jpg"' in editor.text
    assert "还没有同步记录" in editor.text

    orders = await client.get("/admin/crossborder/orders", headers=HTML)
    assert orders.status_code == 200
    assert "还没有从阿里巴巴国际站拉取到订单" in orders.text and "每 10 分钟" in orders.text
    assert "未配置应用" in orders.text

    platform_orders = await client.get("/admin/orders", headers=HTML)
    assert (
        '<a class="button secondary small-btn" href="/admin/crossborder/orders">国际站订单</a>' in platform_orders.text
    )


@pytest.mark.parametrize("role", [Role.clerk, Role.station_operator, Role.warehouse, Role.customer])
async def test_other_roles_are_refused_and_visitors_sent_to_login(
    client: httpx.AsyncClient, db_session: AsyncSession, role: Role
) -> None:
    listing = await make_listing(db_session)
    pages = [
        "/admin/crossborder",
        f"/admin/crossborder/listings/{listing.id}",
        "/admin/crossborder/orders",
        "/admin/crossborder/log",
        "/admin/crossborder/callback?code=x&state=y",
    ]
    for path in pages:
        anonymous = await client.get(path, headers=HTML)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")

    await log_in(client, db_session, role)
    for path in pages:
        refused = await client.get(path, headers=HTML)
        assert refused.status_code == 403 and "没有权限" in refused.text
    token = field(await client.get("/login", headers=HTML), "csrf_token")
    for action in ("/admin/crossborder/sync", f"/admin/crossborder/listings/{listing.id}/sync"):
        assert (await client.post(action, data={"csrf_token": token}, headers=HTML)).status_code == 403
    posted = await client.post(
        f"/admin/crossborder/listings/{listing.id}", data={"csrf_token": token, "title_en": "Hacked"}, headers=HTML
    )
    assert posted.status_code == 403
    listing = await reload(db_session, listing)
    assert (listing.title_en, listing.next_attempt_at) == (TITLE, None)


async def test_connect_and_sync_are_refused_without_an_app(
    client: httpx.AsyncClient, db_session: AsyncSession, task_sender: RecordingSender
) -> None:
    listing = await make_listing(db_session)
    await log_in(client, db_session, Role.admin)
    token = field(await client.get("/admin/crossborder", headers=HTML), "csrf_token")

    connect = await client.post("/admin/crossborder/connect", data={"csrf_token": token}, headers=HTML)
    assert connect.status_code == 409 and "location" not in connect.headers
    assert "未配置阿里巴巴国际站应用（ALIBABA_APP_KEY / ALIBABA_APP_SECRET）" in connect.text
    for action, page in (
        ("/admin/crossborder/sync", "阿里巴巴国际站 <small"),
        (f"/admin/crossborder/listings/{listing.id}/sync", "编辑国际站商品信息"),
    ):
        refused = await client.post(action, data={"csrf_token": token}, headers=HTML)
        assert refused.status_code == 409 and "location" not in refused.headers
        assert "未配置阿里巴巴国际站应用" in refused.text and page in refused.text
    callback = await client.get("/admin/crossborder/callback?code=code_x&state=x", headers=HTML)
    assert callback.status_code == 400
    listing = await reload(db_session, listing)
    assert listing.next_attempt_at is None
    assert await nudges(db_session) == 0 and task_sender.sent == []
    assert await connections(db_session) == 0


# ---- editing ------------------------------------------------------------------------------------


async def test_an_untouched_form_saves_nothing(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    listing = await make_listing(db_session)
    await log_in(client, db_session, Role.admin)

    saved = await save(client, listing)

    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/crossborder/listings/{listing.id}?notice=unchanged"
    listing = await reload(db_session, listing)
    assert (listing.content_version, listing.price_version, listing.next_attempt_at) == (1, 1, None)
    assert listing.price_tiers == LADDER and listing.image_paths == [f"products/{listing.product_id}/loquat.jpg"]
    page = await client.get(saved.headers["location"], headers=HTML)
    assert "没有改动，无需同步。" in page.text


async def test_a_valid_edit_bumps_the_versions_once_and_schedules_a_push(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    listing = await make_listing(db_session)
    await log_in(client, db_session, Role.admin)
    orchard = f"products/{listing.product_id}/orchard.jpg"
    changes = {
        "title_en": "  Fresh Loquat Grade A 5kg Box  ",
        "price_tiers": "20 18.80\r\n100: 17.5\r\n\r\n300\t$16.90\r\n",
        "keywords": "fresh loquat\r\nloquat fruit\r\n\r\nchinese loquat",
        "attributes": "Place of Origin：Guangdong, China\r\nGrade: Grade A\r\nStorage Type: Cool 2-8 C",
        "image_paths": [orchard, f"products/{listing.product_id}/loquat.jpg"],
        "weight_kg": "5.65",
        "size_height": "20",
        "shipping_template_id": "880012",
    }
    before = datetime.now(UTC)

    first = await save(client, listing, **changes)
    after = datetime.now(UTC)

    assert first.status_code == 303
    assert first.headers["location"] == f"/admin/crossborder/listings/{listing.id}?notice=saved"
    listing = await reload(db_session, listing)
    assert (listing.content_version, listing.price_version) == (2, 2)
    assert listing.title_en == "Fresh Loquat Grade A 5kg Box"
    assert listing.price_tiers == [
        {"min_quantity": 20, "price_cents": 1880},
        {"min_quantity": 100, "price_cents": 1750},
        {"min_quantity": 300, "price_cents": 1690},
    ]
    assert listing.keywords == ["fresh loquat", "loquat fruit", "chinese loquat"]
    assert listing.attributes[0] == {"attribute_name": "Place of Origin", "attribute_value": "Guangdong, China"}
    assert len(listing.attributes) == 3
    assert listing.image_paths == [orchard, f"products/{listing.product_id}/loquat.jpg"]  # main image first
    assert listing.weight_kg == Decimal("5.650") and listing.size_cm == {"length": 40, "width": 30, "height": 20}
    assert listing.shipping_template_id == "880012"
    assert listing.description_en == "Grade A loquats from the hill orchards of Taiping Town.\nPacked 5 kg per carton."
    assert listing.next_attempt_at is not None
    # Half a minute after the save, whenever in the request it was taken (a loaded machine can take
    # more than a second over the request: CI once measured 31.07 s from before it).
    assert before + timedelta(seconds=29) <= listing.next_attempt_at <= after + timedelta(seconds=31)
    scheduled = listing.next_attempt_at
    page = await client.get(first.headers["location"], headers=HTML)
    assert "已保存（未连接国际站，仅保存在本地）" in page.text
    assert read_form(page, f"/admin/crossborder/listings/{listing.id}")["price_tiers"] == (
        "20 18.80\n100 17.50\n300 16.90"
    )

    second = await save(client, listing, **changes)

    assert second.headers["location"] == f"/admin/crossborder/listings/{listing.id}?notice=unchanged"
    listing = await reload(db_session, listing)
    assert (listing.content_version, listing.price_version, listing.next_attempt_at) == (2, 2, scheduled)


async def test_changing_only_the_ladder_bumps_only_the_price(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    listing = await make_listing(db_session)
    await log_in(client, db_session, Role.admin)

    saved = await save(client, listing, price_tiers="20 19.80\n100 18.00\n300 17.20")

    assert saved.status_code == 303
    listing = await reload(db_session, listing)
    assert (listing.content_version, listing.price_version) == (1, 2)
    assert listing.price_tiers[1] == {"min_quantity": 100, "price_cents": 1800}

    offline = await save(client, listing, desired_online="")  # unticking sends nothing for the box
    assert offline.headers["location"].endswith("notice=saved")
    listing = await reload(db_session, listing)
    assert (listing.content_version, listing.price_version, listing.desired_online) == (1, 2, False)


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        (
            {"price_tiers": "20 19.80\n100 21.00"},
            ["第 2 档价格不能高于第 1 档（数量越多单价不能越高）"],
        ),
        (
            {"title_en": "Fresh Loquat 新鲜枇杷 5kg"},
            ["英文标题只能包含英文字母、数字和半角标点（不能有中文或全角字符）"],
        ),
        (
            {"price_tiers": "20 19.805\n100 18.50"},
            ["阶梯价第 1 档单价 19.805 美元最多两位小数"],
        ),
        (
            # Unreadable and refused fields together: every reason at once.
            {
                "title_en": "新鲜枇杷",
                "moq": "twenty",
                "price_tiers": "20 19.80\nabout 100 18.50",
                "weight_kg": "5.6789",
            },
            [
                "最小起订量须为整数（现为“twenty”）",
                "阶梯价第 2 档“about 100 18.50”格式不对：每行写“起订量 单价（美元）”，如 20 19.80",
                "英文标题只能包含英文字母、数字和半角标点（不能有中文或全角字符）",
                "毛重最多保留 3 位小数（千克）",
            ],
        ),
        (
            {"keywords": "loquat\nfresh loquat\nloquat fruit\nchinese fruit", "size_width": "30.5"},
            ["包装尺寸（长、宽、高）须为整数厘米，如 40", "关键词最多 3 个（现为 4 个）"],
        ),
        (
            {"attributes": "Place of Origin Guangdong", "image_paths": ["../../../etc/passwd"]},
            [
                "产品属性第 1 行“Place of Origin Guangdong”应写成“名称: 值”，如 Place of Origin: Guangdong, China",
                "所选图片不属于该商品，请刷新页面后重新选择",
            ],
        ),
        ({"image_paths": []}, ["至少需要 1 张商品图片"]),
    ],
)
async def test_an_invalid_edit_is_shown_again_and_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, changes: dict[str, Any], messages: list[str]
) -> None:
    listing = await make_listing(db_session)
    await log_in(client, db_session, Role.admin)

    refused = await save(client, listing, **changes)

    assert refused.status_code == 422
    assert "提交未成功，请检查以下内容：" in refused.text
    shown = refused.text.split('<div class="errors" role="alert">')[1].split("</div>")[0]
    assert shown.count("<li>") == len(messages), shown
    for message in messages:
        assert f"<li>{message}</li>" in shown.replace("&#34;", '"')
    # What was typed is shown again, not the stored values.
    again = read_form(refused, f"/admin/crossborder/listings/{listing.id}")
    for name, value in changes.items():
        if name != "image_paths":
            assert again[name] == value
    listing = await reload(db_session, listing)
    assert (listing.content_version, listing.price_version, listing.next_attempt_at) == (1, 1, None)
    assert (listing.title_en, listing.price_tiers, listing.moq) == (TITLE, LADDER, 20)


async def test_an_unknown_listing_is_a_404(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    missing = await client.get("/admin/crossborder/listings/999999", headers=HTML)
    assert missing.status_code == 404 and "找不到该国际站商品" in missing.text


async def test_the_editor_shows_the_sync_log_and_alibabas_refusal(
    icbu_client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    listing = await make_listing(
        db_session,
        state=ListingState.rejected,
        state_message="The title contains words that are not allowed (PUB_BIZCHECK_SUSPICIOUS)",
        remote_product_id="1601000000001",
        remote_status="offline",
        remote_audit_status="rejected",
        inventory_quantity=37,
    )
    db_session.add(
        AlibabaConnection(
            id=1,
            account_id="2200000000001",
            account_name="nanlingpearl",
            access_token_enc="x",
            expires_at=datetime.now(UTC) + timedelta(days=10),
            status=ConnectionStatus.connected,
        )
    )
    when = datetime(2026, 3, 2, 1, 5, tzinfo=UTC)
    db_session.add_all(
        [
            SyncLogEntry(
                listing_id=listing.id,
                created_at=when,
                api="/alibaba/icbu/product/update/v2",
                style="rest",
                params={"product_info": {"basic_info": {"title": "x" * 600}}, "product_id": "1601000000001"},
                ok=False,
                code="0",
                msg_code="PUB_BIZCHECK_SUSPICIOUS",
                message="suspicious words in the title",
                request_id="req-77",
                trace_id="trace-88",
                duration_ms=412,
            ),
            SyncLogEntry(
                listing_id=listing.id,
                created_at=when - timedelta(minutes=1),
                api="/icbu/product/edit-price",
                style="rest",
                params={"product_id": "1601000000001"},
                ok=True,
                request_id="req-76",
                duration_ms=95,
            ),
        ]
    )
    await db_session.flush()
    await log_in(icbu_client, db_session, Role.admin)

    index = await icbu_client.get("/admin/crossborder", headers=HTML)
    assert '<span class="tag bad">审核未通过</span>' in index.text and "PUB_BIZCHECK_SUSPICIOUS" in index.text
    assert "1601000000001" in index.text and ">37<" in index.text
    editor = await icbu_client.get(f"/admin/crossborder/listings/{listing.id}", headers=HTML)

    assert editor.status_code == 200
    assert "阿里巴巴国际站的说明：</strong>The title contains words that are not allowed" in editor.text
    assert "国际站：offline / 审核 rejected" in editor.text
    log = editor.text.split('id="h-log"')[1]
    assert log.index("/alibaba/icbu/product/update/v2") < log.index("/icbu/product/edit-price")  # newest first
    assert "2026-03-02 09:05（北京时间）" in text_of(log) and "2026-03-02 09:04（北京时间）" in text_of(log)
    assert "✗ 失败" in log and "✓ 成功" in log and "PUB_BIZCHECK_SUSPICIOUS" in log
    assert "req-77" in log and "trace-88" in log and "412 ms" in log
    params = log.split('<code class="params">')[1].split("</code>")[0]
    assert params.startswith("{&#34;product_id&#34;:&#34;1601000000001&#34;,&#34;product_info&#34;")
    assert params.endswith("…") and params.count("x") == 300 - len(
        '{"product_id":"1601000000001","product_info":{"basic_info":{"title":"'
    )


async def test_the_all_calls_log_names_listings_and_shows_token_calls(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    listing = await make_listing(db_session)
    when = datetime(2026, 3, 2, 1, 5, tzinfo=UTC)
    db_session.add_all(
        [
            SyncLogEntry(
                listing_id=None,
                created_at=when,
                api="/auth/token/refresh",
                style="rest",
                params={},
                ok=True,
                request_id="req-1",
                duration_ms=80,
            ),
            SyncLogEntry(
                listing_id=listing.id,
                created_at=when - timedelta(minutes=1),
                api="/alibaba/icbu/product/get/v2",
                style="rest",
                params={"product_id": "1601000000001"},
                ok=True,
                request_id="req-0",
                duration_ms=40,
            ),
        ]
    )
    await db_session.flush()
    await log_in(client, db_session, Role.admin)
    index = await client.get("/admin/crossborder", headers=HTML)
    assert 'href="/admin/crossborder/log"' in index.text
    page = await client.get("/admin/crossborder/log", headers=HTML)
    assert page.status_code == 200
    log = page.text.split('id="h-all-log"')[1]
    assert log.index("/auth/token/refresh") < log.index("/alibaba/icbu/product/get/v2")
    assert "授权 / 订单" in log
    assert f'<a href="/admin/crossborder/listings/{listing.id}">{listing.model_number}</a>' in log
    assert "2026-03-02 09:05（北京时间）" in text_of(log)


# ---- connecting ---------------------------------------------------------------------------------


async def test_connect_follows_alibabas_redirect_back_and_stores_the_seller(
    icbu_client: httpx.AsyncClient, db_session: AsyncSession, fake_icbu: FakeIcbuServer, icbu_settings: Settings
) -> None:
    listing = await make_listing(db_session)
    await log_in(icbu_client, db_session, Role.admin)
    before = await icbu_client.get("/admin/crossborder", headers=HTML)
    assert "已配置应用（App key <code>502870</code>），尚未授权卖家账号" in before.text
    assert '<span class="tag off">未连接</span>' in before.text

    connect = await press(icbu_client, "/admin/crossborder", "/admin/crossborder/connect")

    assert connect.status_code == 303
    authorize = urlsplit(connect.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == fake_icbu.base_url + "/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert query.keys() == {"response_type", "force_auth", "client_id", "redirect_uri", "state"}
    assert (query["response_type"], query["force_auth"], query["client_id"]) == ("code", "true", "502870")
    assert query["redirect_uri"] == "http://testserver/admin/crossborder/callback"
    assert fake_icbu.state.requests == []  # nothing sent to the gateway yet

    # The seller agrees on Alibaba.com, which redirects the browser back with a code and our state.
    async with httpx.AsyncClient(trust_env=False) as browser:
        seller = await browser.get(connect.headers["location"])
    assert seller.status_code == 302
    back = urlsplit(seller.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://testserver/admin/crossborder/callback"
    assert parse_qs(back.query)["state"] == [query["state"]]
    callback = await icbu_client.get(f"{back.path}?{back.query}", headers=HTML)

    assert callback.status_code == 303 and callback.headers["location"] == "/admin/crossborder?notice=connected"
    assert [r.api for r in fake_icbu.state.requests] == ["/auth/token/create"]
    row = await db_session.scalar(select(AlibabaConnection).execution_options(populate_existing=True))
    assert row is not None and row.status is ConnectionStatus.connected
    assert (row.account_id, row.account_name) == ("2200000000001", "nanlingpearl")
    token = cipher_for(icbu_settings).decrypt(row.access_token_enc)
    assert token.startswith("50000") and token not in row.access_token_enc
    page = await icbu_client.get(callback.headers["location"], headers=HTML)
    assert "已连接阿里巴巴国际站卖家账号。" in page.text
    assert '<span class="tag ok">已连接</span>' in page.text and "nanlingpearl" in page.text
    assert "（ID 2200000000001）" in page.text and "（北京时间）" in page.text
    assert token not in page.text and fake_icbu.app_secret not in page.text
    # Connected: a listing the engine has not touched yet is a draft, no longer "not connected".
    assert '<span class="tag">草稿</span>' in page.text and "未连接" not in page.text
    editor = await icbu_client.get(f"/admin/crossborder/listings/{listing.id}", headers=HTML)
    assert "草稿" in editor.text
    saved = await save(icbu_client, listing, price_tiers="20 19.50\n100 18.50\n300 17.20")
    notice = await icbu_client.get(saved.headers["location"], headers=HTML)
    assert "已保存，将于约 30 秒后同步到阿里巴巴国际站" in notice.text


async def test_a_callback_with_a_state_it_did_not_issue_stores_nothing(
    icbu_client: httpx.AsyncClient,
    db_session: AsyncSession,
    fake_icbu: FakeIcbuServer,
    icbu_settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    await log_in(icbu_client, db_session, Role.admin)
    connect = await press(icbu_client, "/admin/crossborder", "/admin/crossborder/connect")
    state = parse_qs(urlsplit(connect.headers["location"]).query)["state"][0]
    code = fake_icbu.state.issue_code()

    # Tampered with; signed for 31 minutes ago; no state at all.
    tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    serializer = URLSafeTimedSerializer(icbu_settings.secret_key.get_secret_value(), salt="alibaba-connect")

    class HalfAnHourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 1801

    old = URLSafeTimedSerializer(
        icbu_settings.secret_key.get_secret_value(), salt="alibaba-connect", signer=HalfAnHourAgo
    ).dumps(serializer.loads(state))
    for bad in (tampered, old, ""):
        refused = await icbu_client.get(
            "/admin/crossborder/callback", params={"code": code, "state": bad}, headers=HTML
        )
        assert refused.status_code == 400 and "location" not in refused.headers
        assert "授权回调无效或已过期" in refused.text

    # Another admin's browser with this admin's state (a forwarded link).
    app = create_app(icbu_settings, engine=engine, sessionmaker=sessionmaker, task_sender=task_sender)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        await log_in(other, db_session, Role.admin)
        forwarded = await other.get("/admin/crossborder/callback", params={"code": code, "state": state}, headers=HTML)
    assert forwarded.status_code == 400 and "授权回调无效或已过期" in forwarded.text

    # The seller declined on Alibaba.com.
    declined = await icbu_client.get(
        "/admin/crossborder/callback", params={"error": "access_denied", "state": state}, headers=HTML
    )
    assert declined.status_code == 400 and "卖家没有在阿里巴巴国际站同意授权" in declined.text
    assert "access_denied" in declined.text

    assert fake_icbu.state.requests == [] and await connections(db_session) == 0


async def test_a_code_alibaba_refuses_is_shown_as_an_auth_failure(
    icbu_client: httpx.AsyncClient, db_session: AsyncSession, fake_icbu: FakeIcbuServer
) -> None:
    await log_in(icbu_client, db_session, Role.admin)
    connect = await press(icbu_client, "/admin/crossborder", "/admin/crossborder/connect")
    state = parse_qs(urlsplit(connect.headers["location"]).query)["state"][0]

    failed = await icbu_client.get(
        "/admin/crossborder/callback", params={"code": "code_unknown", "state": state}, headers=HTML
    )

    assert failed.status_code == 502
    assert "阿里巴巴国际站授权失败" in failed.text and "InvalidCode" in failed.text
    assert [r.api for r in fake_icbu.state.requests] == ["/auth/token/create"]
    assert await connections(db_session) == 0


# ---- sync now -----------------------------------------------------------------------------------


async def test_sync_now_makes_listings_due_and_nudges_the_worker(
    icbu_client: httpx.AsyncClient, db_session: AsyncSession, task_sender: RecordingSender
) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    one = await make_listing(db_session, state=ListingState.error, failed_attempts=4, next_attempt_at=later)
    other = await make_listing(db_session)
    await log_in(icbu_client, db_session, Role.admin)
    page = f"/admin/crossborder/listings/{one.id}"

    synced = await press(icbu_client, page, f"{page}/sync")

    assert synced.status_code == 303 and synced.headers["location"] == f"{page}?notice=sync"
    one, other = await reload(db_session, one), await reload(db_session, other)
    assert one.next_attempt_at is not None and one.next_attempt_at <= datetime.now(UTC)
    assert one.failed_attempts == 0 and other.next_attempt_at is None
    assert await nudges(db_session) == 1
    assert [(name, payload) for _, name, payload in task_sender.sent] == [("alibaba.sync_due", {})]
    assert "已安排立即同步" in (await icbu_client.get(synced.headers["location"], headers=HTML)).text

    everything = await press(icbu_client, "/admin/crossborder", "/admin/crossborder/sync")

    assert everything.status_code == 303 and everything.headers["location"] == "/admin/crossborder?notice=sync"
    other = await reload(db_session, other)
    assert other.next_attempt_at is not None and other.next_attempt_at <= datetime.now(UTC)
    assert await nudges(db_session) == 2 and len(task_sender.sent) == 2
    assert "已安排全部商品立即同步" in (await icbu_client.get(everything.headers["location"], headers=HTML)).text


# ---- orders -------------------------------------------------------------------------------------


async def test_the_orders_page_lists_pulled_orders_newest_first_50_a_page(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    start = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    db_session.add_all(
        [
            AlibabaOrder(
                trade_id=f"3000{n:06d}",
                status="paid",
                amount_minor=1000 + n,
                currency="USD",
                created_remote_at=start + timedelta(hours=n),
            )
            for n in range(50)
        ]
    )
    db_session.add_all(
        [
            AlibabaOrder(
                trade_id="2800000000000000001",
                status="wait_confirm_receipt",
                amount_minor=123450,
                currency="USD",
                buyer_country="Singapore",
                buyer_company="Lion City Fresh Pte Ltd",
                created_remote_at=start + timedelta(days=10),
                modified_remote_at=start + timedelta(days=11),
            ),
            AlibabaOrder(trade_id="2800000000000000002", status="some_new_status", amount_minor=None),
        ]
    )
    await db_session.flush()
    await log_in(client, db_session, Role.admin)

    first = await client.get("/admin/crossborder/orders", headers=HTML)

    assert first.status_code == 200
    assert "共 52 笔" in first.text and "第 1 / 2 页" in first.text
    rows = first.text.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == 50
    assert "2800000000000000001" in rows[0] and "待确认收货" in rows[0] and "1,234.50 USD" in rows[0]
    assert "Lion City Fresh Pte Ltd" in rows[0] and "Singapore" in rows[0]
    assert "2026-04-11 10:00（北京时间）" in text_of(rows[0]) and "2026-04-12 10:00（北京时间）" in text_of(rows[0])
    assert "3000000049" in rows[1] and "已付款" in rows[1] and "10.49 USD" in rows[1]
    assert 'href="/admin/crossborder/orders?page=2"' in first.text

    second = await client.get("/admin/crossborder/orders?page=2", headers=HTML)
    rows = second.text.split("<tbody>")[1].split("<tr>")[1:]
    assert [r for r in rows if "3000000000" in r] and len(rows) == 2
    unknown = next(r for r in rows if "2800000000000000002" in r)
    assert "some_new_status" in unknown and "—" in unknown


# ---- in a real browser --------------------------------------------------------------------------


async def _seed_browser(engine: AsyncEngine, settings: Settings, uploads: Path) -> tuple[str, list[int], str, str]:
    """Committed: an admin, the connection (as after connecting), two listings with an image file."""
    tag = uuid.uuid4().hex[:6]
    async with create_sessionmaker(engine)() as session:
        admin = await make_user(session, Role.admin, username=f"admin-xb-{tag}", display_name="电商中心小陈")
        # Not on sale in the shop: other browser tests share this committed database.
        product = await make_product(
            session, slug=f"loquat-xb-{tag}", name_zh="始兴枇杷", name_en="Shixing loquat", is_active=False
        )
        variant = await make_variant(session, product=product, sku=f"XB-LQ-{tag.upper()}", name_zh="特级 5斤装")
        honey = await make_product(
            session, slug=f"honey-xb-{tag}", name_zh="始兴百花蜜", name_en="Wildflower honey", is_active=False
        )
        jar = await make_variant(session, product=honey, sku=f"XB-HN-{tag.upper()}", name_zh="500克 玻璃瓶")
        paths = []
        for name, colour in (("loquat", (232, 160, 40)), ("orchard", (70, 130, 60))):
            path = f"products/xb-{tag}/{name}.jpg"
            (uploads / path).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (320, 240), colour).save(uploads / path, "JPEG")
            session.add(
                ProductImage(
                    product_id=product.id,
                    path=path,
                    content_type="image/jpeg",
                    width=320,
                    height=240,
                    byte_size=(uploads / path).stat().st_size,
                    alt_zh={"loquat": "枇杷特写", "orchard": "东湖坪果园"}[name],
                )
            )
            paths.append(path)
        loquat = Listing(
            **listing_fields(
                product.id,
                variant.id,
                paths[0],
                model_number=f"NLP-XB-LOQ-{tag.upper()}",
                state=ListingState.online,
                remote_product_id="1601000000777",
                remote_status="online",
                remote_audit_status="approved",
                inventory_quantity=128,
                last_synced_at=datetime.now(UTC) - timedelta(minutes=12),
                synced_content_version=1,
                synced_price_version=1,
                synced_inventory_version=1,
            )
        )
        rejected = Listing(
            **listing_fields(
                honey.id,
                jar.id,
                paths[0],
                model_number=f"NLP-XB-HONEY-{tag.upper()}",
                title_en="Natural Wildflower Honey 500g Glass Jar, Raw Mountain Honey from Guangdong China",
                image_paths=[],
                state=ListingState.rejected,
                state_message="Images are required and the category is not a leaf category (CHK_CAT_NOT_LEAF)",
                remote_product_id="1601000000778",
                inventory_quantity=0,
                next_attempt_at=datetime.now(UTC) + timedelta(minutes=8),
            )
        )
        session.add_all([loquat, rejected])
        await session.flush()
        session.add(
            SyncLogEntry(
                listing_id=loquat.id,
                api="/alibaba/icbu/product/update/v2",
                style="rest",
                params={"product_id": "1601000000777", "product_info": {"basic_info": {"title": TITLE}}},
                ok=True,
                request_id="0bb1a2c317000000000001",
                trace_id="21503b7a17000000000001",
                duration_ms=388,
            )
        )
        cipher = cipher_for(settings)
        await session.merge(
            AlibabaConnection(
                id=1,
                account_id="2200000000001",
                account_name="nanlingpearl",
                access_token_enc=cipher.encrypt("50000-browser-test"),
                refresh_token_enc=cipher.encrypt("50001-browser-test"),
                expires_at=datetime.now(UTC) + timedelta(days=10),
                refresh_expires_at=datetime.now(UTC) + timedelta(days=60),
                status=ConnectionStatus.connected,
                last_error="",
                connected_at=datetime.now(UTC),
            )
        )
        session.add_all(
            [
                AlibabaOrder(
                    trade_id=f"28{tag}00000000000001",
                    status="wait_confirm_receipt",
                    amount_minor=118_800,
                    currency="USD",
                    buyer_country="Singapore",
                    buyer_company="Lion City Fresh Pte Ltd",
                    created_remote_at=datetime.now(UTC) - timedelta(days=3),
                    modified_remote_at=datetime.now(UTC) - timedelta(days=1),
                ),
                AlibabaOrder(
                    trade_id=f"28{tag}00000000000002",
                    status="unpay",
                    amount_minor=None,
                    buyer_country="Malaysia",
                    created_remote_at=datetime.now(UTC) - timedelta(hours=5),
                ),
            ]
        )
        ids = [loquat.id, rejected.id]
        model = loquat.model_number
        await session.commit()
        return admin.username, ids, model, tag


async def _forget_browser_rows(engine: AsyncEngine, ids: list[int], trades: list[str]) -> None:
    async with create_sessionmaker(engine)() as session:
        await session.execute(delete(SyncLogEntry).where(SyncLogEntry.listing_id.in_(ids)))
        await session.execute(delete(Listing).where(Listing.id.in_(ids)))
        await session.execute(delete(AlibabaConnection))
        await session.execute(delete(AlibabaOrder).where(AlibabaOrder.trade_id.in_(trades)))
        await session.commit()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")
async def test_an_admin_edits_a_ladder_price_in_a_real_browser(
    committed_engine: AsyncEngine, committed_database_url: str, fake_icbu: FakeIcbuServer, tmp_path: Path
) -> None:
    from playwright.async_api import Page, async_playwright, expect

    settings = Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path,
        database_url=committed_database_url,
        alibaba_gateway_url=fake_icbu.base_url,
        alibaba_authorize_url=fake_icbu.base_url + "/oauth/authorize",
        alibaba_app_key=fake_icbu.app_key,
        alibaba_app_secret=fake_icbu.app_secret,
    )
    username, ids, model, tag = await _seed_browser(committed_engine, settings, settings.uploads_dir)
    trades = [f"28{tag}00000000000001", f"28{tag}00000000000002"]
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    step = 0

    async def shot(page: Page, name: str) -> None:
        nonlocal step
        step += 1
        await page.screenshot(path=str(SHOTS / f"{step:02d}-{name}.png"), full_page=True)

    server_engine = create_engine(committed_database_url, null_pool=True)
    app = create_app(settings, engine=server_engine, task_sender=RecordingSender())
    try:
        with serve(app) as base:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                context = await browser.new_context(viewport=PC, locale="zh-CN", timezone_id="Asia/Shanghai")
                page = await context.new_page()
                page.set_default_timeout(10_000)

                # 1. Sign in, open 国际站 from the ops-console menu.
                await page.goto(f"{base}/login")
                await page.get_by_label("用户名").fill(username)
                await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
                await page.get_by_role("button", name="登录").click()
                await page.wait_for_url(f"{base}/admin")
                await page.get_by_role("navigation", name="运营后台").get_by_role("link", name="国际站").click()
                await expect(page.get_by_role("heading", level=1)).to_contain_text("阿里巴巴国际站")
                await expect(page.locator(".conn-card")).to_contain_text("已连接")
                await expect(page.locator(".conn-card")).to_contain_text("nanlingpearl")
                row = page.locator("tbody tr", has_text=model)
                await expect(row).to_contain_text("已上架")
                await expect(row).to_contain_text("1601000000777")
                await expect(page.locator("tbody tr", has_text="CHK_CAT_NOT_LEAF")).to_contain_text("审核未通过")
                await shot(page, "index-pc")
                await page.set_viewport_size(PHONE)
                await shot(page, "index-phone")
                await page.set_viewport_size(PC)

                # 2. The editor: state, stored ladder, the sync log.
                await page.get_by_role("link", name=f"编辑 {model}").click()
                await expect(page.get_by_role("heading", level=1)).to_contain_text("始兴枇杷")
                ladder = page.get_by_label("美元阶梯价")
                await expect(ladder).to_have_value("20 19.80\n100 18.50\n300 17.20")
                await expect(page.locator(".log-table")).to_contain_text("/alibaba/icbu/product/update/v2")
                await shot(page, "editor-pc")

                # 3. A cheaper ladder: saved, the push planned, the new prices shown.
                await ladder.fill("20 18.80\n100 17.50\n300 16.90")
                await page.get_by_role("button", name="保存", exact=True).click()
                await expect(page.get_by_role("status")).to_have_text("已保存，将于约 30 秒后同步到阿里巴巴国际站")
                await expect(page.get_by_label("美元阶梯价")).to_have_value("20 18.80\n100 17.50\n300 16.90")
                await shot(page, "saved-pc")
                await page.set_viewport_size(PHONE)
                await shot(page, "saved-phone")
                await page.set_viewport_size(PC)

                # 4. A ladder that rises with quantity and a Chinese title: refused, in Chinese.
                await page.get_by_label("英文标题").fill("Fresh Loquat 新鲜枇杷")
                await page.get_by_label("美元阶梯价").fill("20 18.80\n100 19.50\n300 16.90")
                await page.get_by_role("button", name="保存", exact=True).click()
                alert = page.get_by_role("alert")
                await expect(alert).to_contain_text("第 2 档价格不能高于第 1 档（数量越多单价不能越高）")
                await expect(alert).to_contain_text("英文标题只能包含英文字母、数字和半角标点")
                await expect(page.get_by_label("美元阶梯价")).to_have_value("20 18.80\n100 19.50\n300 16.90")
                await shot(page, "invalid-pc")
                await page.set_viewport_size(PHONE)
                await shot(page, "invalid-phone")

                # 5. The orders pulled from Alibaba.com, on the phone and on the PC.
                await page.goto(f"{base}/admin/crossborder")
                await page.get_by_role("link", name="国际站订单").click()
                mine = page.locator("tbody tr", has_text=trades[0])
                await expect(mine).to_contain_text("待确认收货")
                await expect(mine).to_contain_text("1,188.00 USD")
                await expect(page.locator("tbody tr", has_text=trades[1])).to_contain_text("待付款")
                await shot(page, "orders-phone")
                await page.set_viewport_size(PC)
                await shot(page, "orders-pc")

                # 6. Every call, token and order calls included, each row naming its listing.
                await page.goto(f"{base}/admin/crossborder")
                await page.get_by_role("link", name="全部同步记录（含授权与订单拉取）→").click()
                await expect(page.get_by_role("heading", level=1)).to_contain_text("同步记录")
                await expect(page.locator(".log-table")).to_contain_text(model)
                await shot(page, "log-pc")
                await browser.close()

        async with create_sessionmaker(committed_engine)() as session:
            listing = await session.get(Listing, ids[0])
            assert listing is not None
            assert listing.price_tiers == [
                {"min_quantity": 20, "price_cents": 1880},
                {"min_quantity": 100, "price_cents": 1750},
                {"min_quantity": 300, "price_cents": 1690},
            ]
            assert (listing.title_en, listing.content_version, listing.price_version) == (TITLE, 1, 2)
            assert listing.next_attempt_at is not None
    finally:
        await server_engine.dispose()
        await _forget_browser_rows(committed_engine, ids, trades)
    assert sorted(p.name for p in SHOTS.glob("*.png")) == [
        "01-index-pc.png",
        "02-index-phone.png",
        "03-editor-pc.png",
        "04-saved-pc.png",
        "05-saved-phone.png",
        "06-invalid-pc.png",
        "07-invalid-phone.png",
        "08-orders-phone.png",
        "09-orders-pc.png",
        "10-log-pc.png",
    ]
