"""``app alibaba connect`` / ``app alibaba status`` against the fake gateway and a committed database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.crossborder.models import AlibabaConnection
from app.db import create_engine
from app.kit import clock
from tests.fixtures.database import create_database, drop_database
from tests.fixtures.fake_icbu import FakeIcbuServer


async def _forget_connection(url: str) -> None:
    engine = create_engine(url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(AlibabaConnection))
    finally:
        await engine.dispose()


@pytest.fixture
def cli_env(
    committed_database_url: str, fake_icbu: FakeIcbuServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeIcbuServer]:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", committed_database_url)
    monkeypatch.setenv("ALIBABA_GATEWAY_URL", fake_icbu.base_url)
    monkeypatch.setenv("ALIBABA_APP_KEY", fake_icbu.app_key)
    monkeypatch.setenv("ALIBABA_APP_SECRET", fake_icbu.app_secret)
    get_settings.cache_clear()
    asyncio.run(_forget_connection(committed_database_url))
    yield fake_icbu
    asyncio.run(_forget_connection(committed_database_url))
    get_settings.cache_clear()


def test_connect_then_status(cli_env: FakeIcbuServer) -> None:
    runner = CliRunner()
    before = runner.invoke(cli, ["alibaba", "status"])
    assert before.exit_code == 0, before.output
    assert "连接状态: 尚未授权卖家账号" in before.output

    result = runner.invoke(cli, ["alibaba", "connect", "--code", cli_env.state.issue_code()])
    assert result.exit_code == 0, result.output
    assert "已连接阿里巴巴国际站 / connected: nanlingpearl (2200000000001)" in result.output
    assert "（北京时间）" in result.output

    status = runner.invoke(cli, ["alibaba", "status"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == f"应用 App key: {cli_env.app_key}"
    assert lines[1] == "连接状态: 已连接 / connected"
    assert lines[2] == "卖家账号: nanlingpearl (2200000000001)"
    assert lines[3].startswith("访问令牌到期: ") and lines[3].endswith("（北京时间）")
    assert "  未连接 not_connected: " in status.output and "  已上架 online: " in status.output
    # No token, secret or signature in anything printed.
    assert cli_env.app_secret not in status.output + result.output
    assert "50000" not in status.output + result.output and "50001" not in status.output + result.output


def test_connect_with_a_bad_code_fails_cleanly(cli_env: FakeIcbuServer) -> None:
    result = CliRunner().invoke(cli, ["alibaba", "connect", "--code", "code_nope"])
    assert result.exit_code == 1
    assert "阿里巴巴国际站授权失败" in result.output and "InvalidCode" in result.output


def test_not_configured(committed_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", committed_database_url)
    monkeypatch.delenv("ALIBABA_APP_KEY", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["alibaba", "connect", "--code", "x"])
        assert result.exit_code == 1 and "未配置阿里巴巴国际站应用" in result.output
        status = runner.invoke(cli, ["alibaba", "status"])
        assert status.exit_code == 0
        assert "连接状态: 未配置应用，商品只保存在本地，不会发送任何数据 / not connected" in status.output
    finally:
        get_settings.cache_clear()


async def _make_listing(url: str, uploads: Path, model: str) -> int:
    """A publishable listing with a photo and stock, committed (the CLI runs its own sessions)."""
    import io
    from decimal import Decimal

    from PIL import Image

    from app.crossborder.models import Listing, ListingState
    from app.db import create_sessionmaker
    from tests.fixtures.builders import make_product, make_variant, receive

    engine = create_engine(url, null_pool=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            product = await make_product(session)
            variant = await make_variant(session, product=product)
            await receive(session, variant, "30")
            buffer = io.BytesIO()
            Image.new("RGB", (32, 32), (10, 120, 30)).save(buffer, "JPEG")
            (uploads / "xb").mkdir(parents=True, exist_ok=True)
            (uploads / "xb" / f"{model}.jpg").write_bytes(buffer.getvalue())
            listing = Listing(
                product_id=product.id, variant_id=variant.id, model_number=model, title_en="Green Tea 250g Tin",
                description_en="From Chebaling.", keywords=["green tea"], category_id="100010", attributes=[],
                image_paths=[f"xb/{model}.jpg"], price_tiers=[{"min_quantity": 48, "price_cents": 1650}], moq=48,
                unit="Piece", lead_time_days=7, weight_kg=Decimal("0.350"),
                size_cm={"length": 10, "width": 10, "height": 16}, state=ListingState.not_connected,
            )
            session.add(listing)
            await session.flush()
            return listing.id
    finally:
        await engine.dispose()


async def _forget_remote_id(url: str, listing_id: int) -> None:
    from sqlalchemy import update

    from app.crossborder.models import Listing

    engine = create_engine(url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(Listing).where(Listing.id == listing_id).values(remote_product_id=None))
    finally:
        await engine.dispose()


async def _drop_listings(url: str, ids: list[int]) -> None:
    from app.crossborder.models import Listing, SyncLogEntry

    engine = create_engine(url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(SyncLogEntry))
            await conn.execute(delete(Listing).where(Listing.id.in_(ids)))
    finally:
        await engine.dispose()


@pytest.fixture
def cli_listing(
    cli_env: FakeIcbuServer, committed_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], int]]:
    """Makes publishable listings (photos under ``tmp_path``) in the committed database; they and the
    sync log are dropped afterwards."""
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    made: list[int] = []

    def make(model: str) -> int:
        made.append(asyncio.run(_make_listing(committed_database_url, get_settings().uploads_dir, model)))
        return made[-1]

    yield make
    asyncio.run(_drop_listings(committed_database_url, made))


def _connect(fake: FakeIcbuServer) -> None:
    result = CliRunner().invoke(cli, ["alibaba", "connect", "--code", fake.state.issue_code()])
    assert result.exit_code == 0, result.output


def test_sync_command_pushes_the_listing(
    cli_env: FakeIcbuServer, cli_listing: Callable[[str], int], committed_database_url: str
) -> None:
    listing_id = cli_listing("T-CLI-TEA")
    _connect(cli_env)
    runner = CliRunner()
    result = runner.invoke(cli, ["alibaba", "sync", "--listing", str(listing_id)])
    assert result.exit_code == 0, result.output
    assert "T-CLI-TEA: 已上架 / online" in result.output
    assert [p.model_number for p in cli_env.state.products] == ["T-CLI-TEA"]
    assert cli_env.state.products[0].inventory == 30
    # As if the create's answer had been lost: the next sync searches by model number and adopts.
    asyncio.run(_forget_remote_id(committed_database_url, listing_id))
    again = runner.invoke(cli, ["alibaba", "sync", "--listing", str(listing_id)])
    assert again.exit_code == 0, again.output
    assert "T-CLI-TEA: 已上架 / online" in again.output and len(cli_env.state.products) == 1
    searches = [r for r in cli_env.state.requests if r.api == "/alibaba/icbu/product/search/v2"]
    assert len(searches) == 2
    assert cli_env.app_secret not in result.output + again.output


def test_sync_command_exits_non_zero_when_a_listing_ends_in_error(
    cli_env: FakeIcbuServer, cli_listing: Callable[[str], int]
) -> None:
    listing_id = cli_listing("T-CLI-BAD")
    cli_env.state.non_leaf_categories.add("100010")
    _connect(cli_env)
    result = CliRunner().invoke(cli, ["alibaba", "sync", "--listing", str(listing_id)])
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("T-CLI-BAD: 同步出错 / error — 阿里巴巴国际站拒绝：")
    assert lines[0].endswith("（CHK_CAT_NOT_LEAF）")
    # The failed create is counted by its business code (not under the envelope's "0").
    assert lines[1] == "调用 calls: CHK_CAT_NOT_LEAF 1, ok 2"
    assert lines[2] == "同步出错 / ended in error: T-CLI-BAD"
    assert cli_env.state.products == []


async def _listing_images(url: str) -> dict[str, list[str]]:
    from sqlalchemy import select

    from app.crossborder.models import Listing

    engine = create_engine(url, null_pool=True)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(Listing.model_number, Listing.image_paths))
            return {model: paths for model, paths in rows}
    finally:
        await engine.dispose()


@pytest.fixture
def demo_env(fake_icbu: FakeIcbuServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A database of its own for the demo data (the shared committed one must not get demo users),
    the app pointed at the fake gateway; yields the uploads directory."""
    url = create_database("np_demo")
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALIBABA_GATEWAY_URL", fake_icbu.base_url)
    monkeypatch.setenv("ALIBABA_APP_KEY", fake_icbu.app_key)
    monkeypatch.setenv("ALIBABA_APP_SECRET", fake_icbu.app_secret)
    get_settings.cache_clear()
    try:
        yield get_settings().uploads_dir
    finally:
        get_settings.cache_clear()
        drop_database(url)


@pytest.mark.parametrize("search_not_found", [False, True], ids=["empty-search", "B_PRODUCT_NOT_FOUND-search"])
def test_one_sync_publishes_the_demo_listings_as_shipped(
    demo_env: Path, fake_icbu: FakeIcbuServer, search_not_found: bool
) -> None:
    """``app seed-demo``, ``app alibaba connect``, ``app alibaba sync``: the three demo listings
    go online at the first sync — with a gateway that knows only real leaf categories, and also
    when it answers a search that matches nothing with ``B_PRODUCT_NOT_FOUND``."""
    fake_icbu.state.strict_categories = True
    fake_icbu.state.search_not_found = search_not_found
    runner = CliRunner()
    with clock.pinned(datetime(2026, 12, 10, 2, 0, tzinfo=UTC)):  # no fresh loquat in December
        seeded = runner.invoke(cli, ["seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        _connect(fake_icbu)
        result = runner.invoke(cli, ["alibaba", "sync"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "NLP-XB-LOQ-A-5KG: 已上架 / online",
        "NLP-XB-HONEY-500G: 已上架 / online",
        "NLP-XB-TEA-250G: 已上架 / online",
    ]
    # Per listing: search, photo upload, create, read back, online, read back — none failed.
    assert lines[3] == "调用 calls: ok 18"
    products = {p.model_number: p for p in fake_icbu.state.products}
    assert {model: (p.category_id, p.display, p.status) for model, p in products.items()} == {
        "NLP-XB-LOQ-A-5KG": ("100003013", "Y", "approved"),
        "NLP-XB-HONEY-500G": ("100002721", "Y", "approved"),
        "NLP-XB-TEA-250G": ("100002683", "Y", "approved"),
    }
    # Stock the cross-border channel may sell: none of the out-of-season loquat; honey and tea less
    # the store's first delivery.
    assert {model: p.inventory for model, p in products.items()} == {
        "NLP-XB-LOQ-A-5KG": 0,
        "NLP-XB-HONEY-500G": 132,
        "NLP-XB-TEA-250G": 228,
    }
    # The picture each listing sent to the photo bank is its product's demo picture.
    sent = {entry["file_name"]: entry["size"] for entry in fake_icbu.state.photobank.values()}
    images = asyncio.run(_listing_images(os.environ["DATABASE_URL"]))
    expected = {f"{model.replace('-', '')}1.jpg": (demo_env / path).stat().st_size for model, [path] in images.items()}
    assert expected == {name: size for name, size in sent.items() if name != "seeded.jpg"}
    searches = [r for r in fake_icbu.state.requests if r.api == "/alibaba/icbu/product/search/v2"]
    assert [r.msg_code for r in searches] == (["B_PRODUCT_NOT_FOUND"] * 3 if search_not_found else [""] * 3)


def test_periodic_tasks_send_nothing_without_an_app(
    committed_database_url: str, fake_icbu: FakeIcbuServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.crossborder.tasks import pull_orders, sync_due

    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", committed_database_url)
    monkeypatch.delenv("ALIBABA_APP_KEY", raising=False)
    monkeypatch.setenv("ALIBABA_GATEWAY_URL", fake_icbu.base_url)
    get_settings.cache_clear()
    try:
        assert sync_due() == 0 and pull_orders() == 0
        assert fake_icbu.state.requests == []
    finally:
        get_settings.cache_clear()
