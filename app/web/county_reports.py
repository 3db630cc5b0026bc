"""The quarterly report pages (/admin/county/reports): the quarters with their issued versions, one
quarter's report (its latest issued version, ``?version=N`` an older one, or a live preview marked
未发布 while none is issued), and its downloads as XLSX and PDF — always of an issued version.

Admins and the county official read; only admins issue (a form with the CSRF token). The figures'
providers are the app's ``state.report_sources`` (``create_app`` gives it
:class:`app.county.report_sources.PlatformSources`; tests may give fixed figures). An app given none
still opens and downloads issued reports; a preview or an issue then answers 503
``report_sources_missing``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from markupsafe import Markup

from app.accounts.access import AdminUser, CountyReader
from app.county import report_charts, reports
from app.county.report_errors import ReportSourcesMissing
from app.db import DbSession
from app.web import forms
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/county/reports", include_in_schema=False)

Version = Annotated[int | None, Query(ge=1, le=10_000)]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_sources(request: Request) -> reports.ReportSources | None:
    """The providers this app was given (``app.state.report_sources``)."""
    found: reports.ReportSources | None = getattr(request.app.state, "report_sources", None)
    return found


def _attachment(content: bytes, media_type: str, view: reports.ReportView, extension: str) -> Response:
    period = view.period
    ascii_name = f"quarterly-report-{period.label}-v{view.version}.{extension}"
    zh_name = quote(f"季度报告-{period.label}-第{view.version}版.{extension}")
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{zh_name}",
            # An issued version never changes, but a report is not for shared caches.
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get("")
async def report_list(
    request: Request,
    session: DbSession,
    _: CountyReader,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The current quarter and the ones before it, each with its issued versions."""
    return render(
        request,
        "admin/county_reports.html",
        {"lines": await reports.quarter_list(session), "notice": notice, "new_key": forms.new_key},
    )


@router.post("", dependencies=[CsrfProtected])
async def issue(request: Request, session: DbSession, principal: AdminUser) -> Response:
    """Issue the form's quarter (``quarter=2026-Q4``): the next version, frozen now. Once per
    rendered form: a double click lands on the version the first click issued, not on another."""
    form = await request.form()
    period = reports.parse_quarter(forms.text(form, "quarter", 20))
    sources = report_sources(request)
    if sources is None:
        raise ReportSourcesMissing()

    async def work() -> str:
        issued = await reports.issue_report(session, period.year, period.quarter, principal, sources=sources)
        notice = f"已发布 {period.label_zh}报告第 {issued.version} 版"
        return forms.url(f"/admin/county/reports/{period.label}", version=issued.version, notice=notice)

    return await forms.once(session, request, principal, form, work)


# The downloads come before the page: "2026-Q4.xlsx" would otherwise be taken as a quarter.
@router.get("/{period}.xlsx")
async def report_xlsx_download(session: DbSession, _: CountyReader, period: str, version: Version = None) -> Response:
    """The issued report (latest, or ``?version=N``) as a workbook, one sheet per section."""
    view = await reports.downloadable(session, reports.parse_quarter(period), version)
    from app.county import report_xlsx  # openpyxl: loaded by the first download, not by every worker

    content = await run_in_threadpool(report_xlsx.workbook, view)
    return _attachment(content, XLSX_TYPE, view, "xlsx")


@router.get("/{period}.pdf")
async def report_pdf_download(session: DbSession, _: CountyReader, period: str, version: Version = None) -> Response:
    """The issued report (latest, or ``?version=N``) as an A4 PDF with its charts."""
    view = await reports.downloadable(session, reports.parse_quarter(period), version)
    from app.county import report_pdf  # reportlab: loaded by the first download, not by every worker

    content = await run_in_threadpool(report_pdf.report_pdf, view)
    return _attachment(content, "application/pdf", view, "pdf")


@router.get("/{period}")
async def report_page(
    request: Request,
    session: DbSession,
    _: CountyReader,
    period: str,
    version: Version = None,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """One quarter's report: an issued version, or a preview built now when none is issued."""
    chosen = reports.parse_quarter(period)
    view = await reports.open_report(session, chosen, version, report_sources(request))
    charts = {key: Markup(report_charts.svg(chart)) for key, chart in report_charts.charts(view.snapshot).items()}  # noqa: S704  # nosec B704 - every text in it is escaped
    return render(
        request,
        "admin/county_report.html",
        {
            "view": view,
            "snapshot": view.snapshot,
            "charts": charts,
            "header": reports.header_lines(view),
            "fund_totals": reports.fund_totals(view.snapshot),
            "channel_totals": reports.channel_totals(view.snapshot),
            "summary": reports.progress_summary(view.snapshot),
            "figures": reports.performance_rows(view.snapshot),
            "month_channels": reports.month_channels(view.snapshot),
            "percent": reports.percent,
            "budget_of": reports.budget_of,
            "source_zh": reports.SOURCE_ZH,
            "notice": notice,
            "issue_key": forms.new_key(),
        },
    )
