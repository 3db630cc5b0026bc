"""The county plan's pages: admins edit through the forms, the county official reads the same
pages without a form and gets 403 on every post (nothing changes), bad input is a 4xx with nothing
written, and evidence photos are served (cleaned) to both."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county.models import Asset, AssetKind, BudgetLine, Evidence, EvidenceKind, EvidencePhoto, Spending, Target
from app.kit import clock
from tests.county.fixtures import asset, evidence
from tests.fixtures.builders import make_station
from tests.fixtures.images import phone_jpeg
from tests.fixtures.routes import iter_routes
from tests.web.test_stock_pages import HTML, field, log_in

PAGES = (
    "/admin/county/targets",
    "/admin/county/targets?quarter=2021Q4",
    "/admin/county/targets?start=2021-11-01&end=2022-08-31",
    "/admin/county/targets/centre_events",
    "/admin/county/targets/pdas",
    "/admin/county/evidence",
    "/admin/county/evidence?kind=trade_fair",
    "/admin/county/assets",
    "/admin/county/funds",
    "/admin/county/funds?quarter=2022Q1",
    "/admin/county/funds/2021.1.1",
)
TABLES = (Target, Evidence, EvidencePhoto, Asset, BudgetLine, Spending)


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    with clock.pinned(datetime(2022, 9, 30, 16, 0, tzinfo=UTC)):  # 2022-10-01 00:00 in China
        yield


async def counts(session: AsyncSession) -> dict[str, int]:
    return {t.__tablename__: int(await session.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


async def csrf(client: httpx.AsyncClient, page: str = "/admin/county/targets") -> str:
    shown = await client.get(page, headers=HTML)
    assert shown.status_code == 200, shown.text
    return field(shown, "csrf_token")


def event_form(**kw: str) -> dict[str, str]:
    return {
        "kind": "centre_event",
        "happened_on": "2022-03-12",
        "title": "电商沙龙：枇杷季直播带货",
        "place": "县电商公共服务中心",
        "participants": "46",
        "link": "",
        "summary": "讲解直播选品与包装。",
        **kw,
    }


async def test_an_admin_records_an_event_with_photos_and_both_readers_see_them(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    await log_in(client, db_session, Role.admin)
    token = await csrf(client, "/admin/county/evidence")
    made = await client.post(
        "/admin/county/evidence",
        data={"csrf_token": token, "idempotency_key": "k-ev-1", **event_form()},
        files=[("photos", ("a.jpg", phone_jpeg(), "image/jpeg")), ("photos", ("b.jpg", phone_jpeg(), "image/jpeg"))],
        headers=HTML,
    )
    assert made.status_code == 303, made.text
    record = await db_session.scalar(select(Evidence).where(Evidence.title == "电商沙龙：枇杷季直播带货"))
    assert record is not None and (record.happened_on, record.participants) == (date(2022, 3, 12), 46)
    photos = list(await db_session.scalars(select(EvidencePhoto).where(EvidencePhoto.evidence_id == record.id)))
    assert [p.position for p in photos] == [1, 2]
    # The same rendered form posted again (a double tap): one record.
    again = await client.post(
        "/admin/county/evidence",
        data={"csrf_token": token, "idempotency_key": "k-ev-1", **event_form()},
        files=[("photos", ("a.jpg", phone_jpeg(), "image/jpeg")), ("photos", ("b.jpg", phone_jpeg(), "image/jpeg"))],
        headers=HTML,
    )
    assert again.status_code == 303
    assert (await counts(db_session))["county_evidence"] == 1

    name = photos[0].path.rsplit("/", 1)[-1]
    page = await client.get(f"/admin/county/evidence/{record.id}", headers=HTML)
    assert page.status_code == 200 and f"/photos/{name}" in page.text and "公共服务中心活动" in page.text

    official = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with official:
        await log_in(official, db_session, Role.county_official)
        shown = await official.get(f"/admin/county/evidence/{record.id}/photos/{name}")
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(shown.content)) as image:
            assert not image.getexif()  # GPS and the rest stripped
        # Only the files the rows name: another name or evidence is a 404.
        assert (await official.get(f"/admin/county/evidence/{record.id}/photos/{'0' * 32}.jpg")).status_code == 404
        assert (await official.get(f"/admin/county/evidence/{record.id + 1}/photos/{name}")).status_code == 404
        assert (
            await official.get(f"/admin/county/evidence/{record.id}/photos/..%2F..%2Fsecret.jpg")
        ).status_code == 404
    # Progress shows it for the quarter.
    q1 = await client.get("/admin/county/targets?quarter=2022Q1", headers=HTML)
    assert "电商沙龙：枇杷季直播带货" in q1.text


@pytest.mark.parametrize(
    ("form", "photos", "status", "words"),
    [
        (event_form(), [], 422, "1–6 张照片"),
        (event_form(), [("x.jpg", b"not an image at all", "image/jpeg")], 422, "图片格式不支持"),
        (event_form(), [("x.jpg", b"\xff" * (5_242_880 + 1), "image/jpeg")], 413, "图片不能超过"),
        (event_form(), [("x.jpg", phone_jpeg(), "image/jpeg")] * 7, 422, "1–6 张照片"),
        (event_form(happened_on="2022-10-02"), [("x.jpg", phone_jpeg(), "image/jpeg")], 422, "日期须在"),
        (event_form(participants="-3"), [("x.jpg", phone_jpeg(), "image/jpeg")], 422, "参与人数"),
        (event_form(place=""), [("x.jpg", phone_jpeg(), "image/jpeg")], 422, "地点"),
        (event_form(kind="film_1min", link="javascript:alert(1)"), [], 422, "链接"),
        (event_form(kind="film_3min"), [], 422, "发布链接"),
        (event_form(kind="party"), [], 422, "类型"),
    ],
)
async def test_bad_evidence_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: object,
    form: dict[str, str],
    photos: list[tuple[str, bytes, str]],
    status: int,
    words: str,
) -> None:
    await log_in(client, db_session, Role.admin)
    before = await counts(db_session)
    refused = await client.post(
        "/admin/county/evidence",
        data={"csrf_token": await csrf(client, "/admin/county/evidence"), "idempotency_key": "k-bad", **form},
        files=[("photos", p) for p in photos] or None,
        headers=HTML,
    )
    assert refused.status_code == status, refused.text[:500]
    assert words in refused.text
    assert await counts(db_session) == before
    uploads = settings.uploads_dir  # type: ignore[attr-defined]
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


async def test_spending_and_assets_through_the_forms(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    line_page = "/admin/county/funds/2021.2.1"
    data = {
        "spent_on": "2021-12-20",
        "amount": "45,000.00",
        "payee": "广州某科技有限公司",
        "voucher_number": "记-2021-12-031",
    }
    made = await client.post(
        f"{line_page}/spending", data={"csrf_token": await csrf(client, line_page), **data}, headers=HTML
    )
    assert made.status_code == 303, made.text
    spent = await db_session.scalar(select(Spending).where(Spending.voucher_number == "记-2021-12-031"))
    assert spent is not None and spent.amount_fen == 4_500_000
    for bad, status in (
        ({**data, "amount": "-5", "voucher_number": "V-x"}, 422),
        ({**data, "amount": "12.345", "voucher_number": "V-x"}, 422),
        ({**data, "spent_on": "2022-10-02", "voucher_number": "V-x"}, 422),
        ({**data}, 409),  # the same voucher again
    ):
        refused = await client.post(
            f"{line_page}/spending", data={"csrf_token": await csrf(client, line_page), **bad}, headers=HTML
        )
        assert refused.status_code == status, bad
    unknown = await client.post(
        "/admin/county/funds/2099.1.1/spending", data={"csrf_token": await csrf(client, line_page), **data}
    )
    assert unknown.status_code == 404
    assert (await counts(db_session))["county_spending"] == 1

    station = await make_station(db_session)
    registered = await client.post(
        "/admin/county/assets",
        data={
            "csrf_token": await csrf(client, "/admin/county/assets"),
            "kind": "printer",
            "serial": "dl-888t-0001",
            "station_id": str(station.id),
            "deployed_on": "2021-11-20",
        },
        headers=HTML,
    )
    assert registered.status_code == 303, registered.text
    printer = await db_session.scalar(select(Asset).where(Asset.serial == "DL-888T-0001"))
    assert printer is not None and printer.kind is AssetKind.printer
    listed = (await client.get("/admin/county/assets", headers=HTML)).text
    edit_form = listed[listed.index(f'action="/admin/county/assets/{printer.id}"') :]
    assert 'name="deployed_on" type="date" value="2021-11-20"' in edit_form
    assert f'<option value="{station.id}" selected>' in edit_form
    duplicate = await client.post(
        "/admin/county/assets",
        data={
            "csrf_token": await csrf(client, "/admin/county/assets"),
            "kind": "printer",
            "serial": "DL-888T-0001",
            "station_id": str(station.id),
            "deployed_on": "2021-11-20",
        },
        headers=HTML,
    )
    assert duplicate.status_code == 409 and "该序列号已登记" in duplicate.text
    retired = await client.post(
        f"/admin/county/assets/{printer.id}",
        data={
            "csrf_token": await csrf(client, "/admin/county/assets"),
            "station_id": str(station.id),
            "deployed_on": "2021-11-20",
            "retired_on": "2021-11-19",  # before it was deployed
        },
        headers=HTML,
    )
    assert retired.status_code == 422
    await db_session.refresh(printer)
    assert printer.retired_on is None


async def test_an_admin_edits_a_target_for_a_later_year(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    page = "/admin/county/targets/centre_events"
    edited = await client.post(
        page,
        data={
            "csrf_token": await csrf(client, page),
            "section": "三(一)1",
            "title": "电子商务公共服务中心活动",
            "unit": "场",
            "planned": "15",
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "note": "2023 年度",
        },
        headers=HTML,
    )
    assert edited.status_code == 303
    target = await db_session.scalar(select(Target).where(Target.code == "centre_events"))
    assert target is not None and (target.planned, target.period_end) == (15, date(2023, 12, 31))
    bad = await client.post(
        page,
        data={
            "csrf_token": await csrf(client, page),
            "section": "三(一)1",
            "title": "x",
            "unit": "场",
            "planned": "-1",
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "note": "",
        },
        headers=HTML,
    )
    assert bad.status_code == 422
    added = await client.post(
        "/admin/county/targets",
        data={
            "csrf_token": await csrf(client),
            "code": "trade_fairs_2023",
            "source": "evidence:trade_fair",
            "section": "三(四)3",
            "title": "参加展销活动（2023）",
            "unit": "次",
            "planned": "6",
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "note": "",
        },
        headers=HTML,
    )
    assert added.status_code == 303, added.text
    await evidence(db_session, EvidenceKind.trade_fair, date(2022, 5, 1))
    listed = await client.get("/admin/county/targets?start=2022-01-01&end=2022-09-30", headers=HTML)
    assert "参加展销活动（2023）" in listed.text


async def test_the_official_reads_every_page_without_forms_and_every_post_is_403(
    client: httpx.AsyncClient, app: FastAPI, db_session: AsyncSession
) -> None:
    s = db_session
    station = await make_station(s)
    kept_asset = await asset(s, AssetKind.pda, station, date(2021, 11, 1))
    kept_evidence = await evidence(s, EvidenceKind.trade_fair, date(2022, 4, 2))
    line = await s.scalar(select(BudgetLine).where(BudgetLine.code == "2021.1.1"))
    assert line is not None
    spending = Spending(
        line_id=line.id, spent_on=date(2022, 1, 5), amount_fen=100, payee="某公司", voucher_number="V-1"
    )
    s.add(spending)
    await s.flush()

    await log_in(client, s, Role.county_official)
    for page in (*PAGES, f"/admin/county/evidence/{kept_evidence.id}"):
        shown = await client.get(page, headers=HTML)
        assert shown.status_code == 200, page
        assert 'method="post" action="/admin' not in shown.text, page
        assert "规划目标" in shown.text and "项目资金" in shown.text  # the nav
    # Admin-only reads: a correction form and a voucher scan.
    assert (await client.get(f"/admin/county/spending/{spending.id}", headers=HTML)).status_code == 403
    assert (await client.get(f"/admin/county/spending/{spending.id}/attachment")).status_code == 403

    token = await csrf(client)
    before = await counts(s)
    values = {
        "code": "centre_events", "evidence_id": str(kept_evidence.id), "asset_id": str(kept_asset.id),
        "spending_id": str(spending.id),
    }  # fmt: skip
    posts = [
        r.path.replace("{code}", "2021.1.1" if r.path.startswith("/admin/county/funds") else values["code"])
        .replace("{evidence_id}", values["evidence_id"])
        .replace("{asset_id}", values["asset_id"])
        .replace("{spending_id}", values["spending_id"])
        for r in iter_routes(app)
        if r.path.startswith("/admin/county") and "POST" in r.methods
    ]
    assert len(posts) == 10  # the plan's 9 forms and issuing a quarterly report
    form = {
        "csrf_token": token, "title": "改了", "planned": "1", "section": "x", "unit": "场",
        "period_start": "2022-01-01", "period_end": "2022-02-01", "kind": "printer", "serial": "X-1",
        "station_id": str(station.id),
        "deployed_on": "2022-01-01", "spent_on": "2022-01-01", "amount": "1", "payee": "x", "voucher_number": "V-9",
        "central": "1", "code": "x", "source": "evidence:trade_fair", "happened_on": "2022-01-01", "place": "x",
        "participants": "1",
    }  # fmt: skip
    for path in posts:
        refused = await client.post(path, data=form, headers=HTML)
        assert refused.status_code == 403, path
    assert await counts(s) == before
    target = await s.scalar(select(Target).where(Target.code == "centre_events"))
    assert target is not None and target.title == "电子商务公共服务中心活动" and target.planned == 12


async def test_admin_pages_render_with_their_forms(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.admin)
    for page in PAGES:
        shown = await client.get(page, headers=HTML)
        assert shown.status_code == 200, page
    assert 'action="/admin/county/evidence"' in (await client.get("/admin/county/evidence", headers=HTML)).text
    for bad in ("?quarter=2022Q5", "?start=2022-03-01&end=2022-01-01", "?start=2022-13-01&end=2022-12-01"):
        assert (await client.get(f"/admin/county/targets{bad}", headers=HTML)).status_code == 422, bad
