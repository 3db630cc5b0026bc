"""Ops console: the plan's targets register (/admin/county/targets), the evidence the centre enters
(/admin/county/evidence) and the asset register of printers and PDAs (/admin/county/assets).

Reading is for the county's readers (``CountyReader``: admins and the read-only county official,
who get the same pages without the forms); every post is an admin's (``AdminUser`` +
``CsrfProtected``), run once per rendered form. Evidence photos are served to both: they show
events, never personal data (participants are counts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from app.accounts.access import AdminUser, CountyReader, Principal
from app.accounts.models import Role
from app.county import targets
from app.county import targets_queries as queries
from app.county.models import EVENT_KINDS, AssetKind, EvidenceKind, Target, TargetMetric
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.web import forms
from app.web.errors import FormError
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/county", include_in_schema=False)


# ---- the range a page reports on ------------------------------------------------------------------


def quarter_range(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    following = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def quarter_choices(first: date, last: date) -> list[tuple[str, str]]:
    """(value "2022Q1", label "2022 年第 1 季度") from ``first``'s quarter to ``last``'s, newest first."""
    out = []
    year, quarter = clock.quarter_of(first)
    end_year, end_quarter = clock.quarter_of(last)
    while (year, quarter) <= (end_year, end_quarter):
        out.append((f"{year}Q{quarter}", f"{year} 年第 {quarter} 季度"))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return out[::-1]


def chosen_range(quarter: str, start: str, end: str) -> tuple[date, date]:
    """``?quarter=2022Q1`` or ``?start=&end=`` (China dates, end inclusive); this quarter by default."""
    if start or end:
        first = forms.parse_required_date(start, "开始日期")
        last = forms.parse_required_date(end, "结束日期")
        targets.check_range(first, last)
        return first, last
    if quarter:
        try:
            year, q = int(quarter[:4]), int(quarter[5:])
            if quarter[4] != "Q" or not (2000 <= year <= 2100 and 1 <= q <= 4):
                raise ValueError(quarter)
        except (ValueError, IndexError) as exc:
            raise FormError("季度：格式应为 2022Q1") from exc
        return quarter_range(year, q)
    return quarter_range(*clock.quarter_of(clock.today()))


def range_context(first: date, last: date, earliest: date) -> dict[str, Any]:
    quarters = quarter_choices(min(earliest, first), max(clock.today(), last))
    chosen = next(
        (value for value, _ in quarters if quarter_range(int(value[:4]), int(value[5:])) == (first, last)), ""
    )
    return {"start": first, "end": last, "quarters": quarters, "quarter": chosen}


def can_edit(principal: Principal) -> bool:
    return principal.role is Role.admin


def refusal_messages(exc: forms.Refusal) -> list[str]:
    return [exc.text] if isinstance(exc, AppError) else [str(e.get("msg", "")) for e in exc.errors()]


async def post_once(
    session: DbSession,
    request: Request,
    principal: Principal,
    form: FormData,
    work: Callable[[], Awaitable[str]],
    files: list[bytes] | None = None,
) -> Response:
    """Run a post once per rendered form (its hidden key); the files' hashes are in the fingerprint."""

    async def run() -> dict[str, str]:
        return {"redirect": await work()}

    body: dict[str, Any] = {
        k: forms.texts(form, k) for k in sorted(set(form.keys())) if k not in forms.NOT_FINGERPRINTED
    }
    body["files"] = [hashlib.sha256(f).hexdigest() for f in files or []]
    payload = await forms.run_once(
        session, request, form, run, scope=f"user:{principal.user_id}", body=body, status_code=303
    )
    return RedirectResponse(str(payload["redirect"]), status_code=303)


async def submit_once(
    session: DbSession,
    request: Request,
    principal: Principal,
    form: FormData,
    work: Callable[[], Awaitable[str]],
    again: forms.Rerender,
    files: list[bytes] | None = None,
) -> Response:
    """A form post run once (see :func:`post_once`); a refusal rolls back and shows ``again``."""
    return await forms.submit(
        session,
        lambda: post_once(session, request, principal, form, work, files),
        forms.show_again(again, refusal_messages),
    )


async def uploads(form: FormData, name: str, max_bytes: int) -> list[bytes]:
    """The files sent in ``name`` (empty file inputs left out), each read to one byte past the
    limit so the service can refuse an oversized one without reading all of it."""
    out = []
    for item in form.getlist(name):
        if isinstance(item, UploadFile) and item.filename:
            out.append(await item.read(max_bytes + 1))
    return out


def _int(raw: str, label: str, *, optional: bool = False) -> int | None:
    if not raw and optional:
        return None
    try:
        return int(forms.required(raw, label))
    except ValueError as exc:
        raise FormError(f"{label}：请填写整数") from exc


# ---- targets --------------------------------------------------------------------------------------


@router.get("/targets")
async def targets_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    quarter: Annotated[str, Query(max_length=10)] = "",
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    first, last = chosen_range(quarter, start, end)
    register = await queries.all_targets(session)
    progress = await targets.target_progress(session, first, last)
    earliest = min((t.period_start for t in register), default=first)
    return render(
        request,
        "admin/county_targets.html",
        {
            "progress": progress,
            "register": {t.code: t for t in register},
            "met": sum(1 for p in progress if p.met),
            "can_edit": can_edit(principal),
            "notice": notice,
            "errors": [],
            "values": {},
            "metrics": list(TargetMetric),
            "kinds": list(EvidenceKind),
            "key": forms.new_key(),
            **range_context(first, last, earliest),
        },
    )


def _target_values(target: Target) -> dict[str, Any]:
    return {
        "section": target.section,
        "title": target.title,
        "unit": target.unit,
        "planned": str(target.planned),
        "period_start": target.period_start.isoformat(),
        "period_end": target.period_end.isoformat(),
        "note": target.note,
    }


async def _target_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    code: str,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    target = await targets.target_or_404(session, code)
    progress = await targets.progress_of(session, target, target.period_start, target.period_end)
    return render(
        request,
        "admin/county_target.html",
        {
            "target": target,
            "p": progress,
            "can_edit": can_edit(principal),
            "values": values or _target_values(target),
            "errors": errors or [],
            "notice": notice,
            "key": forms.new_key(),
        },
        status_code=status_code,
    )


@router.get("/targets/{code}")
async def target_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    code: str,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _target_page(request, session, principal, code, notice=notice)


def _target_fields(values: dict[str, str]) -> targets.TargetFields:
    planned = _int(values["planned"], "计划数")
    assert planned is not None
    return targets.TargetFields(
        section=values["section"],
        title=values["title"],
        unit=values["unit"],
        planned=planned,
        period_start=forms.parse_required_date(values["period_start"], "开始日期"),
        period_end=forms.parse_required_date(values["period_end"], "结束日期"),
        note=values["note"],
    )


TARGET_FIELDS = ("section", "title", "unit", "planned", "period_start", "period_end", "note")


@router.post("/targets/{code}", dependencies=[CsrfProtected])
async def edit_target(request: Request, session: DbSession, principal: AdminUser, code: str) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in TARGET_FIELDS}

    async def work() -> str:
        target = await targets.update_target(session, code, _target_fields(values), actor_user_id=principal.user_id)
        return forms.url(f"/admin/county/targets/{target.code}", notice=f"已保存目标：{target.title}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        return await _target_page(
            request, session, principal, code, values=values, errors=errors, status_code=status_code
        )

    return await submit_once(session, request, principal, form, work, again)


@router.post("/targets", dependencies=[CsrfProtected])
async def create_target(request: Request, session: DbSession, principal: AdminUser) -> Response:
    """A target for a later year: its code, and what it counts (a computed metric or an evidence kind)."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in ("code", "source", *TARGET_FIELDS)}

    async def work() -> str:
        raw = values["source"]
        source: TargetMetric | EvidenceKind
        if raw.startswith("metric:"):
            source = forms.choice(TargetMetric, raw.removeprefix("metric:"), "统计口径")
        else:
            source = forms.choice(EvidenceKind, raw.removeprefix("evidence:"), "统计口径", "请选择统计口径")
        target = await targets.create_target(
            session, values["code"], source, _target_fields(values), actor_user_id=principal.user_id
        )
        return forms.url(f"/admin/county/targets/{target.code}", notice=f"已添加目标：{target.title}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        first, last = chosen_range("", "", "")
        return render(
            request,
            "admin/county_targets.html",
            {
                "progress": await targets.target_progress(session, first, last),
                "register": {t.code: t for t in await queries.all_targets(session)},
                "met": 0,
                "can_edit": True,
                "notice": "",
                "errors": errors,
                "values": values,
                "metrics": list(TargetMetric),
                "kinds": list(EvidenceKind),
                "key": forms.new_key(),
                **range_context(first, last, first),
            },
            status_code=status_code,
        )

    return await submit_once(session, request, principal, form, work, again)


# ---- evidence -------------------------------------------------------------------------------------

EVIDENCE_FIELDS = ("kind", "happened_on", "title", "place", "participants", "link", "summary")


async def _evidence_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    kind: EvidenceKind | None = None,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/county_evidence.html",
        {
            "records": await queries.list_evidence(session, kind),
            "kind": kind,
            "kinds": list(EvidenceKind),
            "event_kinds": EVENT_KINDS,
            "can_edit": can_edit(principal),
            "values": values or {"kind": (kind or EvidenceKind.centre_event).value},
            "errors": errors or [],
            "notice": notice,
            "key": forms.new_key(),
            "today": clock.today(),
        },
        status_code=status_code,
    )


@router.get("/evidence")
async def evidence_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    kind: Annotated[str, Query(max_length=30)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    chosen = forms.choice(EvidenceKind, kind, "类型") if kind else None
    return await _evidence_page(request, session, principal, kind=chosen, notice=notice)


@router.post("/evidence", dependencies=[CsrfProtected])
async def record_evidence(request: Request, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in EVIDENCE_FIELDS}
    settings = request.app.state.settings
    photos = await uploads(form, "photos", settings.max_image_bytes)

    async def work() -> str:
        kind = forms.choice(EvidenceKind, values["kind"], "类型", "请选择类型")
        evidence = await targets.record_evidence(
            session,
            kind=kind,
            happened_on=forms.parse_required_date(values["happened_on"], "日期"),
            title=values["title"],
            place=values["place"],
            participants=_int(values["participants"], "参与人数", optional=True),
            link=values["link"],
            summary=values["summary"],
            photos=photos,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id,
        )
        return forms.url(f"/admin/county/evidence/{evidence.id}", notice=f"已登记{kind.label_zh}：{evidence.title}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        return await _evidence_page(request, session, principal, values=values, errors=errors, status_code=status_code)

    return await submit_once(session, request, principal, form, work, again, photos)


@router.get("/evidence/{evidence_id}")
async def evidence_item(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    evidence_id: int,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    evidence = await targets.evidence_or_404(session, evidence_id)
    counted_by = [
        t
        for t in await queries.all_targets(session)
        if t.evidence_kind is evidence.kind and t.period_start <= evidence.happened_on <= t.period_end
    ]
    return render(
        request,
        "admin/county_evidence_item.html",
        {
            "e": evidence,
            "counted_by": counted_by,
            "can_edit": can_edit(principal),
            "notice": notice,
            "errors": [],
            "key": forms.new_key(),
        },
    )


@router.post("/evidence/{evidence_id}/delete", dependencies=[CsrfProtected])
async def delete_evidence(request: Request, session: DbSession, principal: AdminUser, evidence_id: int) -> Response:
    form = await request.form()

    async def work() -> str:
        evidence = await targets.delete_evidence(session, evidence_id)
        return forms.url("/admin/county/evidence", notice=f"已删除：{evidence.title}")

    return await post_once(session, request, principal, form, work)


@router.get("/evidence/{evidence_id}/photos/{name}")
async def evidence_photo(
    request: Request, session: DbSession, _: CountyReader, evidence_id: int, name: str
) -> FileResponse:
    path, media_type = await targets.photo_file(session, request.app.state.settings.uploads_dir, evidence_id, name)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


# ---- assets ---------------------------------------------------------------------------------------

ASSET_FIELDS = ("kind", "serial", "station_id", "deployed_on", "retired_on", "api_token_id", "note")


async def _assets_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    assets = await queries.list_assets(session)
    today = clock.today()
    in_service = {
        kind: sum(1 for a, _, _ in assets if a.kind is kind and (a.retired_on is None or a.retired_on > today))
        for kind in AssetKind
    }
    return render(
        request,
        "admin/county_assets.html",
        {
            "assets": assets,
            "in_service": in_service,
            "stations": await queries.station_choices(session),
            "tokens": await queries.live_pda_tokens(session),
            "kinds": list(AssetKind),
            "can_edit": can_edit(principal),
            "values": values or {"kind": AssetKind.printer.value},
            "errors": errors or [],
            "notice": notice,
            "key": forms.new_key(),
            "today": today,
        },
        status_code=status_code,
    )


@router.get("/assets")
async def assets_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _assets_page(request, session, principal, notice=notice)


def _asset_fields(values: dict[str, str]) -> targets.AssetFields:
    station_id = _int(values["station_id"], "村站")
    assert station_id is not None
    return targets.AssetFields(
        station_id=station_id,
        deployed_on=forms.parse_required_date(values["deployed_on"], "部署日期"),
        retired_on=forms.parse_date(values["retired_on"], "停用日期"),
        api_token_id=_int(values["api_token_id"], "设备令牌", optional=True),
        note=values["note"],
    )


@router.post("/assets", dependencies=[CsrfProtected])
async def register_asset(request: Request, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in ASSET_FIELDS}

    async def work() -> str:
        kind = forms.choice(AssetKind, values["kind"], "类型", "请选择 打单机 或 PDA")
        asset = await targets.register_asset(
            session, kind, values["serial"], _asset_fields(values), actor_user_id=principal.user_id
        )
        return forms.url("/admin/county/assets", notice=f"已登记{kind.label_zh} {asset.serial}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        return await _assets_page(request, session, principal, values=values, errors=errors, status_code=status_code)

    return await submit_once(session, request, principal, form, work, again)


@router.post("/assets/{asset_id}", dependencies=[CsrfProtected])
async def edit_asset(request: Request, session: DbSession, principal: AdminUser, asset_id: int) -> Response:
    """A correction or a retirement (停用日期) of one registered device."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in ASSET_FIELDS}

    async def work() -> str:
        asset = await targets.update_asset(session, asset_id, _asset_fields(values), actor_user_id=principal.user_id)
        return forms.url("/admin/county/assets", notice=f"已更新 {asset.serial}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        return await _assets_page(request, session, principal, errors=errors, status_code=status_code)

    return await submit_once(session, request, principal, form, work, again)
