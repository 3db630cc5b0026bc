"""The form toolkit of the pages (app/web/forms.py): what people type is parsed into values or a
:class:`FormError` naming the field; a refused post is rolled back and the page shown again; any
other exception — a bug — is never turned into a message on the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.supply.models import LedgerKind, Supplier
from app.web import forms
from app.web.errors import FormError
from tests.fixtures.builders import ensure_warehouse, make_supplier, make_variant, receive
from tests.web.test_stock_pages import form_post, ledger, log_in, on_hand


def refusal(call: Callable[[], object]) -> str:
    """The message of the :class:`FormError` that ``call`` raises."""
    with pytest.raises(FormError) as caught:
        call()
    return caught.value.text


def test_a_date_in_the_wrong_shape_is_a_form_error_naming_the_field() -> None:
    with clock.pinned(datetime(2026, 3, 5, 9, 0, tzinfo=clock.business_tz())):
        with pytest.raises(FormError) as caught:
            forms.parse_date("5/3/2026", "采收日期")
    assert caught.value.code == "invalid_form" and caught.value.status_code == 422
    assert caught.value.text == "采收日期：日期格式应为 年-月-日，例如 2026-03-05"
    assert forms.parse_date("", "采收日期") is None
    assert forms.parse_date("2026-03-01", "采收日期") == date(2026, 3, 1)
    assert refusal(lambda: forms.parse_required_date("", "采收日期")) == "采收日期：请填写"


def test_quantities_amounts_and_choices_parse_exactly_or_name_the_field() -> None:
    assert forms.parse_decimal_quantity("1.235", "数量") == Decimal("1.235")
    assert refusal(lambda: forms.parse_decimal_quantity("", "数量")) == "数量：请填写"
    assert refusal(lambda: forms.parse_decimal_quantity("1e3", "数量")).startswith("数量：数量请写成普通数字")
    assert forms.parse_fen("¥1,086.50", "货值") == 108650
    assert refusal(lambda: forms.parse_fen("八十", "货值")) == "货值：请填写金额，如 86.50"
    assert refusal(lambda: forms.parse_fen("1.005", "货值")) == "货值：金额最多两位小数"
    assert forms.choice(LedgerKind, "spoilage", "类型") is LedgerKind.spoilage
    assert refusal(lambda: forms.choice(LedgerKind, "theft", "类型")) == "类型：取值无效"


def test_text_and_url() -> None:
    assert forms.text({"name": "  南岭  "}, "name") == "南岭"
    assert forms.text({"name": "abcdef"}, "name", limit=3) == "abc"
    assert forms.text({}, "name") == ""
    assert forms.url("/admin/lots", lot="L1", notice="", sku=None) == "/admin/lots?lot=L1"
    assert forms.url("/admin/lots") == "/admin/lots"


async def _suppliers(session: AsyncSession, code: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(Supplier).where(Supplier.code == code)) or 0)


async def test_a_refused_post_is_rolled_back_and_the_page_shown_again(db_session: AsyncSession) -> None:
    shown: list[tuple[list[str], int]] = []

    async def post() -> Response:
        await make_supplier(db_session, code="T-FORMS-1")
        raise FormError("数量：请填写")

    async def rerender(*, errors: list[str], status_code: int) -> Response:
        shown.append((errors, status_code))
        return HTMLResponse("again", status_code=status_code)

    response = await forms.submit(db_session, post, forms.show_again(rerender, lambda exc: [str(exc)]))

    assert response.status_code == 422 and shown == [(["数量：请填写"], 422)]
    assert await _suppliers(db_session, "T-FORMS-1") == 0


async def test_a_bug_in_a_post_propagates_instead_of_becoming_a_message(db_session: AsyncSession) -> None:
    shown: list[list[str]] = []

    async def post() -> Response:
        raise ValueError("a programming error, not something the user typed")

    async def rerender(*, errors: list[str], status_code: int) -> Response:
        shown.append(errors)
        return HTMLResponse("again", status_code=status_code)

    with pytest.raises(ValueError, match="programming error"):
        await forms.submit(db_session, post, forms.show_again(rerender, lambda exc: [str(exc)]))
    assert shown == []


async def test_a_value_error_inside_a_stock_post_is_a_server_error_and_moves_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the toolkit, a ``ValueError`` anywhere in a stock post became a red line on the page
    with a 422; now it reaches the app's error handling as the bug it is."""
    lot = await receive(db_session, await make_variant(db_session), "10")
    warehouse = await ensure_warehouse(db_session)
    await log_in(client, db_session)

    async def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("bug in adjust")

    monkeypatch.setattr("app.supply.service.adjust", broken)
    data = {
        "location_code": warehouse.code,
        "lot_code": lot.code,
        "kind": "spoilage",
        "quantity": "2",
        "reason": "霉变",
    }
    with pytest.raises(ValueError, match="bug in adjust"):
        await form_post(client, "/admin/adjustments", "/admin/adjustments", data)

    assert await on_hand(db_session, warehouse, lot.id) == Decimal(10)
    assert [kind for kind, *_ in await ledger(db_session, lot.id)] == [LedgerKind.receipt]
