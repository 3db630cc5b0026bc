"""Errors of the server-rendered pages."""

from __future__ import annotations

from app.kit.errors import AppError


class FormError(AppError):
    """What a person typed into a page's form cannot be read (an empty required field, a date or an
    amount in the wrong shape): shown on the page again, next to what they typed."""

    code = "invalid_form"
    status_code = 422
    message = "表单内容有误"
