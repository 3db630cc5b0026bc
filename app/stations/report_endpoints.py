"""Routes for upstream consignments and service cases (the station PDA, bound to the device's
station) and the monthly station report for the ops console (JSON and XLSX).

PDA writes carry an ``Idempotency-Key``: a retried consignment replays the first answer and
receives and ships nothing twice. The station always comes from the caller's token; a
``station_code`` a client sends is only checked against it (403 ``station_forbidden``).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.accounts.access import Principal, StaffOrStationUser, StaffUser, StationOperator
from app.catalog.listing import MEDIA_PREFIX
from app.db import DbSession
from app.kit import clock
from app.kit.errors import Forbidden, InvalidInput
from app.kit.idempotency import idempotent_json
from app.stations import cases, consignments, reports, repository
from app.stations.endpoints import device_scope
from app.stations.models import CaseKind, Consignment, ServiceCase, Station
from app.stations.report_schemas import (
    CaseOut,
    ConsignmentIn,
    ConsignmentOut,
    CriteriaOut,
    RatesOut,
    StationMonthOut,
    StationReportOut,
)
from app.supply.label_content import trace_url

router = APIRouter(prefix="/api/v1", tags=["station upstream, cases and reports"])
# Case photos keep the address they had under the public /media mount; only the serving changed.
media = APIRouter(prefix=MEDIA_PREFIX.rstrip("/"), tags=["station upstream, cases and reports"])

RequiredKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=100, description="PDA 每次调用必带；重试时用同一个键"),
]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="年份；留空为本月（北京时间）")]
Month = Annotated[int | None, Query(ge=1, le=12, description="月份 1–12；留空为本月（北京时间）")]

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not_authenticated / token_invalid"},
    403: {"description": "role_not_allowed / scope_missing"},
}
PDA_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not_authenticated / token_invalid"},
    403: {"description": "role_not_allowed / scope_missing / station_forbidden（不是本设备绑定的村站）"},
    404: {
        "description": "station_not_found / variant_not_found / supplier_not_found / location_not_found（未设县级仓库）"
    },
    409: {"description": "station_location_taken"},
    422: {
        "description": "validation_error / invalid_input / invalid_weight / whole_count_required / "
        "supplier_choice_invalid / invalid_stock_quantity / idempotency_key_reused"
    },
}
CASE_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **PDA_WRITE_ERRORS,
    404: {"description": "station_not_found"},
    413: {"description": "image_too_large / payload_too_large"},
    422: {"description": "validation_error / invalid_input / invalid_image / idempotency_key_reused"},
}
REPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    422: {"description": "validation_error / invalid_input（年份或月份不正确）"},
}


class StationForbidden(Forbidden):
    code = "station_forbidden"
    message = "只能为本设备绑定的村站登记"


async def _own_station(session: AsyncSession, principal: Principal, station_code: str | None) -> Station:
    """The caller's station (from its token); a station code the client names must be that one."""
    if principal.station_id is None:
        raise StationForbidden("该账号未绑定村站")
    station = await consignments.station_or_404(session, principal.station_id)
    if station_code is not None and station_code.strip() and station_code.strip() != station.code:
        raise StationForbidden(detail={"station_code": station_code})
    return station


async def _consignment_out(
    session: AsyncSession, consignment: Consignment, station: Station, base_url: str
) -> ConsignmentOut:
    rows = await repository.consignment_rows(session, ids=[consignment.id])
    _, lot, variant, supplier, transfer = rows[0]
    return ConsignmentOut(
        number=consignment.number,
        station_code=station.code,
        supplier_code=supplier.code,
        supplier_name=supplier.name,
        sku=variant.sku,
        unit=variant.unit,
        quantity=lot.quantity_received,
        weight_kg=consignment.weight_kg,
        value_minor=consignment.value_minor,
        lot_code=lot.code,
        label_url=f"/api/v1/admin/lots/{lot.code}/label.pdf",
        trace_url=trace_url(lot.code, base_url),
        transfer_number=transfer.number if transfer else None,
        created_at=consignment.created_at,
    )


def _case_out(case: ServiceCase, station: Station) -> CaseOut:
    kind = CaseKind(case.kind)
    return CaseOut(
        id=case.id,
        station_code=station.code,
        kind=kind.value,
        kind_zh=kind.label_zh,
        title=case.title,
        note=case.note,
        has_person_phone=case.person_phone is not None,
        photo_url=MEDIA_PREFIX + case.photo_path if case.photo_path else None,
        created_at=case.created_at,
    )


@router.post(
    "/pda/consignments",
    response_model=ConsignmentOut,
    status_code=status.HTTP_201_CREATED,
    responses=PDA_WRITE_ERRORS,
    tags=["station PDA"],
)
async def post_consignment(
    body: ConsignmentIn,
    request: Request,
    session: DbSession,
    principal: StationOperator,
    idempotency_key: RequiredKey,
) -> JSONResponse:
    """Upstream (上行): weigh and record a farmer's produce; it becomes a lot at this station and
    leaves at once on a transfer to the county warehouse. The answer carries the lot code and its
    label URL for the station's label printer."""
    base_url = request.app.state.settings.public_base_url

    async def work() -> Any:
        station = await _own_station(session, principal, body.station_code)
        household = (
            consignments.NewHousehold(body.household.name, body.household.phone, body.household.village)
            if body.household
            else None
        )
        consignment = await consignments.record_consignment(
            session,
            station_id=station.id,
            supplier_code=body.supplier_code,
            household=household,
            sku=body.sku,
            weight_kg=body.weight_kg,
            quantity=body.quantity,
            grade=body.grade,
            harvest_date=body.harvest_date,
            certificate_no=body.certificate_no,
            value_minor=body.value_minor,
            actor_user_id=principal.user_id,
        )
        return (await _consignment_out(session, consignment, station, base_url)).model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=device_scope(principal), key=idempotency_key, body=body, work=work
    )


@router.post(
    "/pda/cases",
    response_model=CaseOut,
    status_code=status.HTTP_201_CREATED,
    responses=CASE_WRITE_ERRORS,
    tags=["station PDA"],
)
async def post_case(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    idempotency_key: RequiredKey,
    kind: Annotated[CaseKind, Form(description="assist_farmer 助农 / convenience 便民")],
    title: Annotated[str, Form(min_length=1, max_length=cases.MAX_TITLE)],
    note: Annotated[str, Form(max_length=cases.MAX_NOTE)] = "",
    person_phone: Annotated[str | None, Form(max_length=20, description="服务对象手机号（只计数，不展示）")] = None,
    station_code: Annotated[str | None, Form(max_length=20, description="可选；须为本设备绑定的村站")] = None,
    photo: Annotated[UploadFile | None, File(description="现场照片：JPEG / PNG / WebP")] = None,
) -> JSONResponse:
    """Record a 助农 or 便民 service case (multipart form, optional photo)."""
    settings = request.app.state.settings
    content = await photo.read(settings.max_image_bytes + 1) if photo is not None else None
    if content is not None and not content and not (photo and photo.filename):
        content = None  # an empty file field from a form without a chosen file
    fingerprint_body = {
        "kind": kind.value,
        "title": title,
        "note": note,
        "person_phone": person_phone,
        "station_code": station_code,
        "photo_sha256": hashlib.sha256(content).hexdigest() if content is not None else None,
    }

    async def work() -> Any:
        station = await _own_station(session, principal, station_code)
        case = await cases.record_case(
            session,
            station_id=station.id,
            kind=kind,
            title=title,
            note=note,
            person_phone=person_phone,
            photo=content,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id,
        )
        return _case_out(case, station).model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=device_scope(principal), key=idempotency_key, body=fingerprint_body, work=work
    )


@router.get("/pda/cases", response_model=list[CaseOut], responses=AUTH_ERRORS, tags=["station PDA"])
async def list_cases(
    session: DbSession,
    principal: StationOperator,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseOut]:
    """This station's own service cases, newest first."""
    station = await _own_station(session, principal, None)
    return [_case_out(case, station) for case in await cases.station_cases(session, station.id, limit=limit)]


@media.get(
    "/cases/{station_id}/{name}",
    response_class=FileResponse,
    responses={
        200: {"content": {t: {} for t in cases.PHOTO_TYPES.values()}, "description": "案例现场照片"},
        401: {"description": "not_authenticated / token_invalid"},
        403: {"description": "role_not_allowed"},
        404: {"description": "case_photo_not_found（包括无权查看的照片）"},
    },
)
async def case_photo(request: Request, station_id: int, name: str, principal: StaffOrStationUser) -> FileResponse:
    """A service case's photo, for the county centre (admin, warehouse) and the case's own station.
    Case photos show people and places, so unlike product photos they are not in a public mount."""
    path, media_type = cases.case_photo_file(
        request.app.state.settings.uploads_dir, station_id=station_id, name=name, viewer=principal
    )
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def _period(year: int | None, month: int | None) -> tuple[int, int]:
    if (year is None) != (month is None):
        raise InvalidInput("year 与 month 须同时填写，或都留空（本月）")
    if year is None or month is None:
        now = clock.local_now()
        return now.year, now.month
    return year, month


def _rates(request: Request) -> reports.SubsidyRates:
    settings = request.app.state.settings
    return reports.SubsidyRates(settings.subsidy_per_parcel_in_minor, settings.subsidy_per_upstream_kg_minor)


def _station_month_out(item: reports.StationMonth) -> StationMonthOut:
    return StationMonthOut(
        code=item.code,
        name=item.name,
        township=item.township,
        is_demonstration=item.is_demonstration,
        parcels_in=item.parcels_in,
        handed_over=item.handed_over,
        returned=item.returned,
        upstream_kg=item.upstream_kg,
        upstream_value_minor=item.upstream_value_minor,
        people_served=item.people_served,
        assist_farmer_cases=item.assist_farmer_cases,
        convenience_cases=item.convenience_cases,
        cases_by_kind={kind.value: n for kind, n in item.cases_by_kind.items()},
        total_assist_farmer_cases=item.total_assist_farmer_cases,
        total_people_served=item.total_people_served,
        total_convenience_cases=item.total_convenience_cases,
        assist_farmer_met=item.assist_farmer_met,
        people_met=item.people_met,
        convenience_met=item.convenience_met,
        criteria_met=item.criteria_met,
        subsidy_parcels_minor=item.subsidy_parcels_minor,
        subsidy_upstream_minor=item.subsidy_upstream_minor,
        subsidy_minor=item.subsidy_minor,
        currency=item.currency,
        cash_refunds=item.cash_refunds,
        cash_refunded_minor=item.cash_refunded_minor,
    )


@router.get("/admin/stations/reports", response_model=StationReportOut, responses=REPORT_ERRORS)
async def station_report(
    request: Request, session: DbSession, _: StaffUser, year: Year = None, month: Month = None
) -> StationReportOut:
    """村站月报: each station's parcels, upstream, people served, cases, demonstration criteria
    (cumulative to the end of the month) and subsidy, for one month in China time."""
    year, month = _period(year, month)
    rates = _rates(request)
    report = await reports.station_month_report(session, year, month, rates=rates)
    return StationReportOut(
        year=year,
        month=month,
        timezone=str(reports.CHINA),
        criteria=CriteriaOut(
            min_assist_farmer_cases=reports.MIN_ASSIST_FARMER_CASES,
            min_people_served=reports.MIN_PEOPLE_SERVED,
            min_convenience_cases=reports.MIN_CONVENIENCE_CASES,
            rule="累计：自村站开办至该月末的全部记录",
        ),
        subsidy_rates=RatesOut(
            per_parcel_in_minor=rates.per_parcel_in_minor, per_upstream_kg_minor=rates.per_upstream_kg_minor
        ),
        stations=[_station_month_out(item) for item in report],
    )


@router.get(
    "/admin/stations/reports.xlsx",
    response_class=Response,
    responses={
        200: {
            "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
            "description": "村站月报（一张工作表）",
        },
        **REPORT_ERRORS,
    },
)
async def station_report_xlsx(
    request: Request, session: DbSession, _: StaffUser, year: Year = None, month: Month = None
) -> Response:
    """The same report as a spreadsheet: one row per station and a totals row."""
    year, month = _period(year, month)
    report = await reports.station_month_report(session, year, month, rates=_rates(request))
    content = await run_in_threadpool(reports.xlsx, report)
    ascii_name = f"station-report-{year}-{month:02d}.xlsx"
    zh_name = quote(f"村站月报-{year}-{month:02d}.xlsx")
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{zh_name}"},
    )
