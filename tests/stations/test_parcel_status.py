"""The parcel label's "扫码查件" QR code: it holds the address of the parcel's public status page,
which a phone opens, and whose last segment the station PDA and console read as the tracking
number — so one QR code serves the customer and the station alike."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.stations import tracking
from app.stations.models import Parcel, ParcelStatus
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.shop import Shop
from tests.stations.test_labels import QR, read_pdf
from tests.web import test_station_console as console
from tests.web.test_station_console import Counter, code_of, dispatched, reload, sign_in, submit
from tests.web.test_stock_pages import HTML

counter = console.counter  # the fixture: the shop's stations on a route, an operator for each

BASE = "https://shop.example.cn"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app under test has its own public address, so a QR code that holds it came from the
    app's settings and not from a default."""
    return Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=database_url,
        rate_limit_storage_url="memory://",
        public_base_url=BASE,
    )


async def label_qr(client: httpx.AsyncClient, session: AsyncSession, parcel: Parcel) -> str:
    keeper = auth(await token_for(session, await make_user(session, Role.warehouse)))
    response = await client.get(f"/api/v1/admin/parcels/labels.pdf?tracking={parcel.tracking_number}", headers=keeper)
    assert response.status_code == 200, response.text
    [page] = read_pdf(response.content, "parcel-label-status-url")
    [url] = page.codes[QR]
    return url


def assert_private_things_absent(page: httpx.Response, parcel: Parcel, *secrets: str) -> None:
    """The page answers to a tracking number alone: nothing about who ordered what."""
    for private in ("李阿姨", "李**", "13800138000", "尾号", "¥68.00", "到站付款", *secrets):
        assert private not in page.text, private


def test_a_scan_reads_as_the_tracking_number() -> None:
    number = "NPP2612050001234"
    for scanned in (
        number,
        f" {number.lower()} ",
        f"{BASE}/p/{number}",
        f"HTTPS://SHOP.EXAMPLE.CN/P/{number}",
        f"http://127.0.0.1:8000/p/{number}/",
        f"{BASE}/p/{number}?from=label#top",
    ):
        assert tracking.tracking_from_scan(scanned) == number, scanned
    assert tracking.status_url(number, BASE + "/") == f"{BASE}/p/{number}"
    # The customer's order QR is not a URL and passes through untouched (the handover reads it).
    assert tracking.tracking_from_scan("NPO:NP2612050001:abcdef0123456789") == "NPO:NP2612050001:ABCDEF0123456789"


async def test_the_label_qr_opens_the_status_page_and_scans_at_the_pda(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    (parcel,) = await dispatched(db_session, shop)
    url = await label_qr(client, db_session, parcel)
    assert url == f"{BASE}/p/{parcel.tracking_number}"

    on_the_way = await client.get(urlsplit(url).path, headers=HTML)

    assert on_the_way.status_code == 200
    assert f"运单号 <b>{parcel.tracking_number}</b>" in on_the_way.text and "<h1>运输中</h1>" in on_the_way.text
    assert counter.station.name in on_the_way.text and "已发车，运往村站" in on_the_way.text
    assert 'class="todo">' in on_the_way.text  # arrival and pickup still ahead
    assert_private_things_absent(on_the_way, parcel)

    # The station's PDA scanner reads the same QR code: the URL goes in as the tracking number.
    device = auth(await token_for(db_session, counter.operator))
    scanned = await client.post(
        "/api/v1/pda/scan-in", headers={**device, "Idempotency-Key": "qr-scan-1"}, json={"tracking_number": url}
    )
    assert scanned.status_code == 200, scanned.text
    assert (scanned.json()["tracking_number"], scanned.json()["status"]) == (parcel.tracking_number, "at_station")
    shelved = await reload(db_session, parcel)
    assert shelved.status is ParcelStatus.at_station and shelved.shelf_slot is not None

    waiting = await client.get(f"/p/{parcel.tracking_number.lower()}", headers=HTML)
    assert waiting.status_code == 200 and "<h1>在架待取</h1>" in waiting.text
    assert "请凭短信中的取件码到站领取" in waiting.text and "逾期将退回仓库" in waiting.text
    code = await code_of(db_session, parcel)
    assert_private_things_absent(waiting, parcel, code, code.rsplit("-", 1)[1], f"货位 {shelved.shelf_slot}")

    handed = await client.post(
        "/api/v1/pda/handover",
        headers={**device, "Idempotency-Key": "qr-hand-1"},
        json={"tracking_number": url, "pickup_code": code, "collect_method": "cash"},
    )
    assert handed.status_code == 200, handed.text
    collected = await client.get(urlsplit(url).path, headers=HTML)
    assert "<h1>已取件</h1>" in collected.text and counter.station.name in collected.text
    assert_private_things_absent(collected, parcel, code)


async def test_the_station_console_takes_the_label_qr(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, counter: Counter
) -> None:
    (parcel,) = await dispatched(db_session, shop)
    url = await label_qr(client, db_session, parcel)
    await sign_in(client, counter.operator)

    # A keyboard-wedge scanner types the whole URL into the field (it is not cut at 20 characters).
    form = await client.get("/station/scan", headers=HTML)
    assert 'name="tracking_number" class="scan-input" required maxlength="300"' in form.text
    scanned, _ = await submit(client, "/station/scan", "/station/scan", {"tracking_number": url})

    assert scanned.status_code == 200, scanned.text
    assert parcel.tracking_number in scanned.text and 'id="shelf-slot"' in scanned.text
    assert (await reload(db_session, parcel)).status is ParcelStatus.at_station

    summary = await client.get("/station/handover/parcel", params={"tracking": url}, headers=HTML)
    assert summary.status_code == 200 and "李**" in summary.text and "不属于本站" not in summary.text
    page = "/station/handover?" + httpx.QueryParams({"tracking": url}).__str__()
    done, _ = await submit(
        client,
        page,
        "/station/handover",
        {"tracking_number": url, "code": await code_of(db_session, parcel), "collect_method": "cash"},
    )
    assert done.status_code == 200, done.text
    assert (await reload(db_session, parcel)).status is ParcelStatus.handed_over


async def test_what_is_not_a_parcel(client: httpx.AsyncClient, db_session: AsyncSession, counter: Counter) -> None:
    for path in ("/p/NPP0000000000001", "/p/" + "N" * 21, "/p/%20"):
        missing = await client.get(path, headers=HTML)
        assert missing.status_code == 404, path
        assert "找不到该包裹" in missing.text
    device = auth(await token_for(db_session, counter.operator))
    for bad in (f"{BASE}/p/", f"{BASE}/p/NPP1", "x" * 301):
        refused = await client.post(
            "/api/v1/pda/scan-in",
            headers={**device, "Idempotency-Key": f"bad-{len(bad)}"},
            json={"tracking_number": bad},
        )
        assert refused.status_code == 422, bad
