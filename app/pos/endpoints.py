"""POS JSON API (``/api/v1/pos``): who is at the till, scanning and the till's catalog.

``POST /session`` takes the till's device token (``X-Till-Token``, or the ``np_till`` cookie of
an enrolled till browser) with a user name and PIN and answers a clerk session token; the other
routes take that token (``Authorization: Bearer``, rule ``at_till``: a clerk or store manager of
the till's store, scope ``pos``, bound to the till)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import PublicAccess, TillClerk
from app.db import DbSession
from app.kit.quantities import format_quantity
from app.pos import schemas, sessions, shifts, till_catalog, till_lines
from app.pos.sessions import TILL_COOKIE

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])


async def _out(session: AsyncSession, at: sessions.AtTill) -> schemas.SessionOut:
    state = await shifts.till_state(session, at.till, at.user)
    shift = state.open_shift
    return schemas.SessionOut(
        access_token=at.token,
        expires_at=at.record.expires_at,
        store_code=at.store.code,
        store_name=at.store.name,
        till_code=at.till.code,
        till_name=at.till.name,
        sale_prefix=at.till.sale_prefix,
        username=at.user.username,
        display_name=at.user.display_name or at.user.username,
        role=at.user.role,
        role_label_zh=at.user.role.label_zh,
        next_sale_seq=state.next_sale_seq,
        open_shift=(
            None
            if shift is None
            else schemas.OpenShiftOut(
                client_id=shift.client_id, opened_at=shift.opened_at, float_minor=shift.float_minor
            )
        ),
        discount_limit_percent=state.discount_limit_percent,
        is_manager=state.is_manager,
    )


@router.post(
    "/session",
    response_model=schemas.SessionOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[PublicAccess],
    responses={
        401: {"description": "till_not_enrolled / pin_sign_in_failed"},
        429: {"description": "pin_rate_limited"},
    },
)
async def sign_in(
    body: schemas.SessionIn,
    request: Request,
    session: DbSession,
    x_till_token: Annotated[str | None, Header()] = None,
) -> schemas.SessionOut:
    """A clerk (or store manager) of the till's store signs in with user name + PIN. Attempts are
    counted per user name and per till before the PIN is checked."""
    at = await sessions.sign_in(
        session,
        request.app.state.pin_limiter,
        till_token=x_till_token or request.cookies.get(TILL_COOKIE),
        username=body.username,
        pin=body.pin,
    )
    return await _out(session, at)


@router.get("/session", response_model=schemas.SessionOut)
async def who_is_at_the_till(session: DbSession, principal: TillClerk) -> schemas.SessionOut:
    """The store, till and person of this session (the till screen's header)."""
    return await _out(session, await sessions.current(session, principal))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(session: DbSession, principal: TillClerk) -> Response:
    """End this session; the till stays enrolled for the next clerk."""
    await sessions.sign_out(session, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _line_out(line: till_lines.TillLine) -> schemas.TillLineOut:
    return schemas.TillLineOut(
        source=line.source.value,
        code=line.code,
        variant_id=line.variant_id,
        sku=line.sku,
        product_name_zh=line.product_name_zh,
        product_name_en=line.product_name_en,
        name_zh=line.name_zh,
        name_en=line.name_en,
        unit=line.unit,
        unit_label_zh=line.unit.label_zh,
        quantity=format_quantity(line.quantity),
        unit_price_minor=line.unit_price_minor,
        line_total_minor=line.line_total_minor,
        currency=line.currency,
        plu=line.plu,
        grams=line.grams,
        label_price_minor=line.label_price_minor,
    )


@router.post(
    "/scan",
    response_model=schemas.TillLineOut,
    responses={
        404: {"description": "barcode_unknown / plu_unknown"},
        422: {
            "description": "barcode_unreadable / barcode_check_digit_wrong / scale_price_check_digit_wrong / "
            "scale_label_unreadable / scale_item_not_weighed / not_for_sale"
        },
    },
)
async def scan(body: schemas.ScanIn, session: DbSession, principal: TillClerk) -> schemas.TillLineOut:
    """What the scanner typed → the priced basket line (product barcode, weight or price label)."""
    return _line_out(await till_lines.line_for_scan(session, body.code))


@router.post(
    "/plu-line",
    response_model=schemas.TillLineOut,
    responses={404: {"description": "plu_unknown"}, 422: {"description": "weight_unit_mismatch / weight_invalid"}},
)
async def plu_line(body: schemas.PluLineIn, session: DbSession, principal: TillClerk) -> schemas.TillLineOut:
    """A PLU key with the weight typed in the unit the price is shown in → the priced line."""
    return _line_out(await till_lines.line_for_plu(session, body.plu, body.weight, body.unit))


@router.get(
    "/catalog",
    response_model=schemas.CatalogOut,
    responses={304: {"description": "If-None-Match matched: the till's copy is current"}},
)
async def catalog(
    session: DbSession, principal: TillClerk, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The store's sellable variants with retail prices, barcodes, PLUs and stock at the store,
    with a strong ETag of the content; ``If-None-Match`` with it answers 304."""
    assert principal.store_id is not None
    snap = await till_catalog.snapshot(session, principal.store_id)
    headers = {"ETag": snap.etag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and till_catalog.matches(if_none_match, snap.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return JSONResponse(schemas.CatalogOut.model_validate(snap.content).model_dump(mode="json"), headers=headers)
