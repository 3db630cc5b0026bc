"""POS JSON API (``/api/v1/pos``): so far, who is at the till.

``POST /session`` takes the till's device token (``X-Till-Token``, or the ``np_till`` cookie of
an enrolled till browser) with a user name and PIN and answers a clerk session token; the other
routes take that token (``Authorization: Bearer``, rule ``at_till``: a clerk or store manager of
the till's store, scope ``pos``, bound to the till)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import Response

from app.accounts.access import PublicAccess, TillClerk
from app.db import DbSession
from app.pos import schemas, sessions
from app.pos.sessions import TILL_COOKIE

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])


def _out(at: sessions.AtTill) -> schemas.SessionOut:
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
    return _out(at)


@router.get("/session", response_model=schemas.SessionOut)
async def who_is_at_the_till(session: DbSession, principal: TillClerk) -> schemas.SessionOut:
    """The store, till and person of this session (the till screen's header)."""
    return _out(await sessions.current(session, principal))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(session: DbSession, principal: TillClerk) -> Response:
    """End this session; the till stays enrolled for the next clerk."""
    await sessions.sign_out(session, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
