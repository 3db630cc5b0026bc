"""Errors of the quarterly report (codes the pages and a client can tell apart)."""

from __future__ import annotations

from app.kit.errors import AppError, Conflict, InvalidInput, NotFound


class QuarterInvalid(InvalidInput):
    code = "report_quarter_invalid"
    message = "季度格式有误：应为 2026-Q4 这样的年份与季度（1–4）"


class QuarterNotStarted(AppError):
    code = "report_quarter_not_started"
    status_code = 409
    message = "该季度尚未开始，不能生成或发布报告"


class ReportVersionNotFound(NotFound):
    code = "report_version_not_found"
    message = "该季度没有这个版本的报告"


class ReportSourcesMissing(AppError):
    """The figures' providers are not wired into this app (``app.state.report_sources``)."""

    code = "report_sources_missing"
    status_code = 503
    message = "报告的统计数据源尚未接入，暂时不能预览或发布报告；已发布的报告仍可查看和下载"


class ReportIssueConflict(Conflict):
    code = "report_issue_conflict"
    message = "同时有人在发布这个季度的报告，请刷新后再试"


class ReportDataInvalid(AppError):
    """A provider answered outside the snapshot's shape, or with a phone number in a text: nothing
    is issued. The county centre cannot fix this from the page, so it is the server's fault."""

    code = "report_data_invalid"
    status_code = 500
    message = "报告数据不完整或含有个人信息，报告未生成；请联系技术人员"


class StoredReportUnreadable(AppError):
    """An issued report whose stored snapshot no longer passes the snapshot's checks (stored by an
    older version with another shape, or changed by hand in the database): it is shown to nobody
    rather than shown wrong. The server's fault, with its own code."""

    code = "stored_report_unreadable"
    status_code = 500
    message = "已发布的报告数据无法读取，请联系技术人员"
