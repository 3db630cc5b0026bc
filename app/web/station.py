"""The village station console (/station): the signed-in operator's own station, nothing else.

Thin: each page reads through ``app.stations`` and each form post is one service call — the same
calls the PDA API makes (``app.stations.endpoints``), with the station taken from the operator's
account, never from the form. Every post carries an idempotency key generated when the form was rendered
(as the PDA sends one per scan): a double-clicked or re-sent form acts once and shows the first
answer again. A refused form is rolled back and shown again with the reason in Chinese — except a
wrong pickup code, whose attempt is counted and committed, exactly as on the PDA.

Scanning: the USB scanner is a keyboard wedge — it types the code and presses Enter. On the scan-in
page Enter submits (one field); on the handover page it moves on to the next field instead of
sending half a form (``static/station.js``), and the server never counts a code attempt for a form
that came without a code.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from app.accounts.access import Principal, StationOperator
from app.catalog.listing import MEDIA_PREFIX
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError, IdempotencyKeyReused, InvalidInput
from app.kit.idempotency import Outcome
from app.presales import repository as presale_repository
from app.stations import cases, consignments, errors, parcels, reports, repository, schemas, views
from app.stations.models import CaseKind, Parcel, ParcelStatus, Station
from app.stations.tracking import MAX_SCAN, MAX_TRACKING, tracking_from_scan
from app.supply import repository as supply_repository
from app.web import forms
from app.web.errors import FormError
from app.web.templating import CHINA_TZ, CsrfProtected, local_time, render

router = APIRouter(prefix="/station", include_in_schema=False)

IDEMPOTENCY_FIELD = "idempotency_key"
NOT_FINGERPRINTED = ("csrf_token", IDEMPOTENCY_FIELD)
QR_UNKNOWN = "二维码无法识别，或该订单的包裹不在本站；请让顾客报取货码"
COLLECT_METHODS = {"cash": "现金", "qr": "扫码"}


# ---- shared helpers -----------------------------------------------------------------------------


def _scope(principal: Principal) -> str:
    # The PDA's scope: a key is one operator's at one station, whichever door it came through.
    return f"station:{principal.station_id}:user:{principal.user_id}"


async def _station(session: DbSession, principal: Principal) -> Station:
    if principal.station_id is None:
        raise InvalidInput("该账号未绑定村站，请联系县电商公共服务中心")
    return await consignments.station_or_404(session, principal.station_id)


def _messages(exc: forms.Refusal) -> list[str]:
    if isinstance(exc, IdempotencyKeyReused):
        # The same rendered form sent again with other values (back button, edit, resend).
        return ["这张表单已经提交过，内容又被改动了。请核对后重新提交一次。"]
    if isinstance(exc, AppError):
        return [exc.text]
    return [str(exc)]  # an input schema's ValidationError


async def _once(
    session: DbSession,
    request: Request,
    principal: Principal,
    form: FormData,
    work: Callable[[], Awaitable[Any]],
    *,
    body: dict[str, Any] | None = None,
) -> Any:
    """Run ``work`` once per rendered form (its hidden key); a repeat returns the first payload."""
    if body is None:
        body = {k: form.getlist(k) for k in sorted(set(form.keys())) if k not in NOT_FINGERPRINTED}
    return await forms.run_once(session, request, form, work, scope=_scope(principal), body=body)


def _day_start(now: datetime) -> datetime:
    """The start of today in Shixing (China time), as an aware datetime."""
    return datetime.combine(now.astimezone(CHINA_TZ).date(), time.min, CHINA_TZ)


def _days_left(retention_until: datetime | None, now: datetime) -> int | None:
    if retention_until is None:
        return None
    return (retention_until.astimezone(CHINA_TZ).date() - now.astimezone(CHINA_TZ).date()).days


def _slot(shelf_slot: str | None) -> tuple[str, str]:
    """Shelf and layer of a slot ("shelf-layer")."""
    parts = (shelf_slot or "").split("-")
    return (parts[0], parts[1]) if len(parts) == 2 else ("", "")


# ---- home ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShelfRow:
    parcel: schemas.ParcelOut
    days_left: int | None
    overdue: bool


@router.get("")
async def home(request: Request, session: DbSession, principal: StationOperator) -> Response:
    """Today's figures, the actions, and every parcel on the shelf by pickup code."""
    station = await _station(session, principal)
    now = clock.now()
    day = await parcels.station_day(session, station.id, since=_day_start(now), now=now)
    shelf = []
    for parcel, _ in await parcels.on_shelf(session, station.id):
        out = await views.parcel_out(session, parcel)
        overdue = out.retention_until is not None and out.retention_until <= now
        shelf.append(ShelfRow(out, _days_left(out.retention_until, now), overdue))
    return render(
        request,
        "station/home.html",
        {
            "station": station,
            "day": day,
            "shelf": shelf,
            "today": now.astimezone(CHINA_TZ).date(),
            # Harvest pre-sale boxes this station will receive (app.presales): one batch per wave.
            "presale_coming": await presale_repository.coming_to_station(session, station.id),
        },
    )


# ---- scan-in ------------------------------------------------------------------------------------


async def _render_scan(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    result: dict[str, Any] | None = None,
    tracking: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    station = await _station(session, principal)
    now = clock.now()
    day = await parcels.station_day(session, station.id, since=_day_start(now), now=now)
    scanned = schemas.ParcelOut.model_validate(result["parcel"]) if result else None
    return render(
        request,
        "station/scan.html",
        {
            "station": station,
            "day": day,
            "scanned": scanned,
            "repeat": bool(result and result.get("repeat")),
            "slot": _slot(scanned.shelf_slot if scanned else None),
            "tracking": tracking,
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/scan")
async def scan_page(request: Request, session: DbSession, principal: StationOperator) -> Response:
    return await _render_scan(request, session, principal)


@router.post("/scan", dependencies=[CsrfProtected])
async def scan_in(request: Request, session: DbSession, principal: StationOperator) -> Response:
    """A parcel arrives: its pickup code in large type, and the field ready for the next one."""
    form = await request.form()
    tracking = tracking_from_scan(forms.text(form, "tracking_number"))
    started = clock.now()

    async def work() -> dict[str, Any]:
        if not tracking:
            raise InvalidInput("请扫描包裹上的单号条码，或手动输入单号")
        if len(tracking) > MAX_TRACKING:
            raise errors.ParcelNotFound(detail={"tracking_number": tracking})
        station = await _station(session, principal)
        parcel = await parcels.scan_in(
            session, station_id=station.id, tracking_number=tracking, actor_user_id=principal.user_id
        )
        # scan_in answers a repeated scan with the parcel as it was: an arrival older than this
        # request means the parcel was already on the shelf and nothing changed.
        repeat = parcel.arrived_at is None or parcel.arrived_at < started
        return {"parcel": (await views.parcel_out(session, parcel)).model_dump(mode="json"), "repeat": repeat}

    async def post() -> Response:
        result = await _once(session, request, principal, form, work)
        return await _render_scan(request, session, principal, result=result)

    def messages(exc: forms.Refusal) -> list[str]:
        message = _messages(exc)
        return [f"单号 {tracking}：{message[0]}"] if isinstance(exc, AppError) and tracking else message

    return await forms.submit(
        session,
        post,
        forms.show_again(functools.partial(_render_scan, request, session, principal, tracking=tracking), messages),
    )


# ---- handover -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelSummary:
    """What the operator sees after scanning a parcel at the counter (never its pickup code)."""

    tracking_number: str
    parcel: schemas.ParcelOut | None = None
    problem: str = ""  # why it cannot be handed over now
    attempts_left: int = parcels.MAX_CODE_ATTEMPTS
    locked: bool = False
    handed_over_at: datetime | None = None
    by_qr: bool = False  # found from the customer's QR: the box is still to be fetched and scanned

    @property
    def ready(self) -> bool:
        return self.parcel is not None and not self.problem and not self.locked

    @property
    def amount_due_minor(self) -> int:
        return self.parcel.amount_due_minor if self.parcel else 0


async def _summary(session: DbSession, station_id: int, tracking: str, qr: str = "") -> ParcelSummary:
    """The parcel the operator scanned — or, when the customer's QR came first, the parcel that QR
    is for (its shelf slot tells the operator where to fetch it)."""
    tracking = tracking_from_scan(tracking)
    if not tracking and qr:
        found = await parcels.parcel_for_qr(session, station_id, qr)
        if found is None:
            return ParcelSummary("", problem=QR_UNKNOWN, by_qr=True)
        return await _describe(session, station_id, found[0], by_qr=True)
    found = await parcels.find_parcel(session, tracking) if 0 < len(tracking) <= MAX_TRACKING else None
    if found is None:
        return ParcelSummary(tracking, problem=errors.ParcelNotFound.message)
    return await _describe(session, station_id, found[0])


async def _describe(session: DbSession, station_id: int, parcel: Parcel, *, by_qr: bool = False) -> ParcelSummary:
    tracking = parcel.tracking_number
    if parcel.station_id != station_id:
        return ParcelSummary(tracking, problem=errors.ParcelWrongStation.message)
    out = await views.parcel_out(session, parcel)
    status = ParcelStatus(parcel.status)
    problem = ""
    if status is ParcelStatus.handed_over:
        problem = f"该包裹已于 {local_time(parcel.handed_over_at)} 取件，不能再次交付"
    elif status is not ParcelStatus.at_station:
        problem = f"包裹{status.label_zh}，不能交付"
    left = max(parcels.MAX_CODE_ATTEMPTS - parcel.failed_code_attempts, 0)
    return ParcelSummary(
        tracking, out, problem, left, status is ParcelStatus.at_station and left == 0, parcel.handed_over_at, by_qr
    )


def _route_scans(values: dict[str, str]) -> None:
    """A keyboard-wedge scanner types into whichever field has the focus: the customer's QR may
    land in the parcel field and a parcel's number in the code field. Each goes where it belongs
    (before anything is upper-cased: the QR's signature is case-sensitive hex)."""
    tracking, code = values["tracking_number"], values["code"]
    # A parcel's number is its Code128 or the status-page URL of its label's QR.
    if parcels.is_pickup_qr(tracking) and not parcels.is_pickup_qr(code):
        tracking, code = code if tracking_from_scan(code).startswith("NPP") else "", tracking
    elif tracking_from_scan(code).startswith("NPP") and not tracking:
        tracking, code = code, ""
    values["tracking_number"], values["code"] = tracking.upper(), code


HANDOVER_FIELDS = ("tracking_number", "code", "collect_method", "proxy", "collected_by_name")


async def _render_handover(
    request: Request,
    session: DbSession,
    principal: Principal,
    values: dict[str, str],
    *,
    done: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    locked: bool = False,
    status_code: int = 200,
) -> Response:
    station = await _station(session, principal)
    tracking = values.get("tracking_number", "")
    qr = values.get("code", "") if parcels.is_pickup_qr(values.get("code", "")) else ""
    summary = await _summary(session, station.id, tracking, qr) if (tracking or qr) and not done else None
    return render(
        request,
        "station/handover.html",
        {
            "station": station,
            "values": values,
            "summary": summary,
            "done": schemas.ParcelOut.model_validate(done["parcel"]) if done else None,
            "done_info": done or {},
            "methods": COLLECT_METHODS,
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
            "locked": locked,
            "max_attempts": parcels.MAX_CODE_ATTEMPTS,
        },
        status_code=status_code,
    )


@router.get("/handover")
async def handover_page(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    tracking: Annotated[str, Query(max_length=MAX_SCAN)] = "",
) -> Response:
    return await _render_handover(request, session, principal, {"tracking_number": tracking_from_scan(tracking)})


@router.get("/handover/parcel")
async def handover_parcel(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    tracking: Annotated[str, Query(max_length=MAX_SCAN)] = "",
    qr: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    """The summary part of the handover form, fetched by the page's script right after a scan:
    of the parcel scanned, or of the parcel a customer's QR is for (scanned first)."""
    station = await _station(session, principal)
    return render(
        request,
        "station/_parcel.html",
        {
            "summary": await _summary(session, station.id, tracking, qr if parcels.is_pickup_qr(qr) else ""),
            "values": {},
            "methods": COLLECT_METHODS,
            "max_attempts": parcels.MAX_CODE_ATTEMPTS,
        },
    )


@router.post("/handover", dependencies=[CsrfProtected])
async def hand_over(request: Request, session: DbSession, principal: StationOperator) -> Response:
    """Hand the parcel over against the code the customer says (or their order QR), collecting
    the money of a pay-at-pickup order; a wrong code is counted and the attempts left shown."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in HANDOVER_FIELDS}
    _route_scans(values)
    values["tracking_number"] = tracking_from_scan(values["tracking_number"])
    code = values["code"]
    proxy = values["proxy"] == "1"
    if parcels.is_pickup_qr(code) and not values["tracking_number"]:
        # The QR came first (and Enter sent the form, without the page's script): show which parcel
        # it is for and wait for the parcel's scan. Nothing was tried, nothing is counted.
        return await _render_handover(request, session, principal, values)

    async def work() -> Any:
        if not values["tracking_number"]:
            raise InvalidInput("请先扫描包裹上的单号")
        if not code:
            # Not a wrong code — no code at all: nothing is counted.
            raise InvalidInput("请输入顾客报的取货码，或扫描顾客订单页上的取货二维码")
        if values["collect_method"] and values["collect_method"] not in COLLECT_METHODS:
            raise InvalidInput("收款方式只能是现金或扫码")
        if proxy and not values["collected_by_name"]:
            raise InvalidInput("代取时请填写代取人姓名")
        station = await _station(session, principal)
        before = await _summary(session, station.id, values["tracking_number"])
        is_qr = parcels.is_pickup_qr(code)
        result = await parcels.hand_over(
            session,
            station_id=station.id,
            tracking_number=values["tracking_number"],
            pickup_code=None if is_qr else code,
            order_qr=code if is_qr else None,
            collect_method=values["collect_method"] or None,
            collected_by_name=values["collected_by_name"] if proxy else "",
            proxy=proxy,
            actor_user_id=principal.user_id,
        )
        if result.error is not None:
            return Outcome(result.error.status_code, {"error": result.error.to_body()})
        return {
            "parcel": (await views.parcel_out(session, result.parcel)).model_dump(mode="json"),
            "already": before.parcel is not None and before.parcel.status == ParcelStatus.handed_over.value,
            "collected_minor": before.amount_due_minor,
            "method": values["collect_method"],
            "proxy": proxy,
            "collected_by_name": values["collected_by_name"] if proxy else "",
            "by_qr": is_qr,
        }

    async def post() -> Response:
        payload = await _once(session, request, principal, form, work)
        if "error" in payload:
            # A wrong code (counted and committed) or the lock it led to.
            body = payload["error"]
            values["code"] = ""
            return await _render_handover(
                request,
                session,
                principal,
                values,
                errors=[str(body.get("message", ""))],
                locked=body.get("error") == errors.PickupLocked.code,
                status_code=errors.PickupLocked.status_code
                if body.get("error") == errors.PickupLocked.code
                else errors.WrongPickupCode.status_code,
            )
        return await _render_handover(request, session, principal, {}, done=payload)

    async def refused(exc: forms.Refusal) -> Response:
        # A wrong payment keeps the code (it was right); any other refusal clears it.
        values["code"] = code if isinstance(exc, errors.PaymentRequired) else ""
        return await _render_handover(
            request,
            session,
            principal,
            values,
            errors=_messages(exc),
            locked=isinstance(exc, errors.PickupLocked),
            status_code=forms.error_status(exc),
        )

    return await forms.submit(session, post, refused)


# ---- upstream (上行) ----------------------------------------------------------------------------


UPSTREAM_FIELDS = (
    "supplier_mode",
    "supplier_code",
    "hh_name",
    "hh_village",
    "hh_phone",
    "scan",
    "sku",
    "weight_kg",
    "quantity",
    "grade",
    "harvest_date",
    "certificate_no",
    "value_yuan",
)


async def _render_upstream(
    request: Request,
    session: DbSession,
    principal: Principal,
    values: dict[str, str],
    *,
    done: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    station = await _station(session, principal)
    choices = await forms.variant_choices(session, include_inactive=False)
    suppliers = sorted(
        await supply_repository.list_suppliers(session),
        key=lambda s: (s.village != station.village, s.township != station.township, s.code),
    )
    rows = await repository.consignment_rows(session, station_id=station.id, limit=20)
    names = {c.sku: c.label for c in choices}
    just_done = next((row for row in rows if row[0].number == done), None) if done else None
    return render(
        request,
        "station/upstream.html",
        {
            "station": station,
            "values": values,
            "variants": choices,
            "suppliers": suppliers,
            "rows": rows,
            "names": names,
            "done": just_done,
            "today": clock.today().isoformat(),
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/upstream")
async def upstream_page(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    done: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    values = {"supplier_mode": "existing", "harvest_date": clock.today().isoformat()}
    return await _render_upstream(request, session, principal, values, done=done.strip())


@router.post("/upstream", dependencies=[CsrfProtected])
async def record_upstream(request: Request, session: DbSession, principal: StationOperator) -> Response:
    """A farmer's produce weighed in: a lot at this station, shipped on to the county warehouse."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in UPSTREAM_FIELDS}
    values["supplier_mode"] = "new" if values["supplier_mode"] == "new" else "existing"

    async def work() -> dict[str, str]:
        code = values["scan"] or values["sku"]
        if not code:
            raise FormError("商品：请选择规格，或扫描条码 / 输入 SKU")
        sku = await forms.scanned_sku(session, code, refused_for="登记")
        household = None
        supplier_code = None
        if values["supplier_mode"] == "new":
            if not values["hh_name"] or not values["hh_phone"]:
                raise FormError("新农户：请填写姓名和手机号")
            household = consignments.NewHousehold(values["hh_name"], values["hh_phone"], values["hh_village"])
        else:
            if not values["supplier_code"]:
                raise FormError("供应商：请选择已登记的供应商，或改选“新农户”")
            supplier_code = values["supplier_code"]
        station = await _station(session, principal)
        consignment = await consignments.record_consignment(
            session,
            station_id=station.id,
            sku=sku,
            weight_kg=forms.parse_decimal_quantity(values["weight_kg"], "重量（千克）"),
            quantity=forms.parse_decimal_quantity(values["quantity"], "数量") if values["quantity"] else None,
            harvest_date=forms.parse_required_date(values["harvest_date"], "采收日期"),
            value_minor=forms.parse_fen(
                forms.required(values["value_yuan"], "货值（元）", "请填写（没有货值填 0）"), "货值（元）"
            ),
            grade=values["grade"],
            certificate_no=values["certificate_no"],
            supplier_code=supplier_code,
            household=household,
            actor_user_id=principal.user_id,
        )
        return {"redirect": forms.url("/station/upstream", done=consignment.number)}

    async def post() -> Response:
        payload = await _once(session, request, principal, form, work)
        return RedirectResponse(str(payload["redirect"]), status_code=303)

    async def refused(exc: forms.Refusal) -> Response:
        if values["scan"] and not values["sku"]:
            try:
                values["sku"] = await forms.scanned_sku(session, values["scan"], refused_for="登记")
            except AppError:
                pass
        return await _render_upstream(
            request, session, principal, values, errors=_messages(exc), status_code=forms.error_status(exc)
        )

    return await forms.submit(session, post, refused)


# ---- service cases (助农 / 便民) ------------------------------------------------------------------


async def _render_cases(
    request: Request,
    session: DbSession,
    principal: Principal,
    values: dict[str, str],
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    station = await _station(session, principal)
    return render(
        request,
        "station/cases.html",
        {
            "station": station,
            "values": values,
            "kinds": list(CaseKind),
            "cases": await cases.station_cases(session, station.id, limit=50),
            "media_prefix": MEDIA_PREFIX,
            "idempotency_key": forms.new_key(),
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/cases")
async def cases_page(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    notice: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return await _render_cases(request, session, principal, {"kind": CaseKind.assist_farmer.value}, notice=notice)


@router.post("/cases", dependencies=[CsrfProtected])
async def record_case(request: Request, session: DbSession, principal: StationOperator) -> Response:
    """A 助农 or 便民 case with an optional photo from the phone's camera."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in ("kind", "title", "note", "person_phone")}
    settings = request.app.state.settings
    upload = form.get("photo")
    photo: bytes | None = None
    if isinstance(upload, UploadFile) and upload.filename:
        photo = await upload.read(settings.max_image_bytes + 1)

    async def work() -> dict[str, str]:
        kind = forms.choice(CaseKind, values["kind"], "类型", "请选择 助农 或 便民")
        station = await _station(session, principal)
        case = await cases.record_case(
            session,
            station_id=station.id,
            kind=kind,
            title=values["title"],
            note=values["note"],
            person_phone=values["person_phone"] or None,
            photo=photo,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id,
        )
        notice = f"已登记{kind.label_zh}案例：{case.title}" + ("（含照片）" if case.photo_path else "")
        return {"redirect": forms.url("/station/cases", notice=notice)}

    body = {**values, "photo_sha256": hashlib.sha256(photo).hexdigest() if photo is not None else None}

    async def post() -> Response:
        payload = await _once(session, request, principal, form, work, body=body)
        return RedirectResponse(str(payload["redirect"]), status_code=303)

    return await forms.submit(
        session,
        post,
        forms.show_again(functools.partial(_render_cases, request, session, principal, values), _messages),
    )


# ---- monthly figures ----------------------------------------------------------------------------


def _month(raw: str, today: date) -> tuple[int, int]:
    if not raw:
        return today.year, today.month
    try:
        year, month = (int(part) for part in raw.split("-"))
    except ValueError as exc:
        raise InvalidInput("月份格式应为 年-月，例如 2025-06") from exc
    reports.month_bounds(year, month)  # refuses a year or month out of range
    return year, month


def _shift(year: int, month: int, by: int) -> str:
    index = year * 12 + month - 1 + by
    return f"{index // 12}-{index % 12 + 1:02d}"


@router.get("/report")
async def report_page(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    month: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    """This station's row of the monthly report: its figures and the demonstration criteria."""
    station = await _station(session, principal)
    today = clock.today()
    problems: list[str] = []
    status_code = 200
    try:
        year, number = _month(month.strip(), today)
    except AppError as exc:
        problems, status_code = [exc.text], exc.status_code
        year, number = today.year, today.month
    settings = request.app.state.settings
    rates = reports.SubsidyRates(settings.subsidy_per_parcel_in_minor, settings.subsidy_per_upstream_kg_minor)
    rows = await reports.station_month_report(session, year, number, rates=rates)
    mine = next(row for row in rows if row.station_id == station.id)
    return render(
        request,
        "station/report.html",
        {
            "station": station,
            "row": mine,
            "month": f"{year}-{number:02d}",
            "previous": _shift(year, number, -1),
            "next": _shift(year, number, 1) if (year, number) < (today.year, today.month) else "",
            "rates": rates,
            "criteria": {
                "assist": reports.MIN_ASSIST_FARMER_CASES,
                "people": reports.MIN_PEOPLE_SERVED,
                "convenience": reports.MIN_CONVENIENCE_CASES,
            },
            "errors": problems,
        },
        status_code=status_code,
    )
