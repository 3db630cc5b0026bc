"""POS JSON API of what the till records (``/api/v1/pos``, rule ``at_till``): the upload of its
queue (``POST /sync``), a store manager's approval at the till (``POST /approvals``), a sale of
this store (``GET /sales/{number}``) and a shift's X / Z figures (``GET /shifts/.../report``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from app.accounts.access import TillClerk
from app.db import DbSession
from app.pos import approvals, shift_report, sync
from app.pos.approvals import ApprovalAction
from app.pos.sale_detail import SaleDetail, sale_detail
from app.pos.shift_report import ShiftFigures
from app.pos.sync_schemas import ApprovalIn, ApprovalOut, SyncIn, SyncOut

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])


@router.post("/sync", response_model=SyncOut)
async def upload(body: SyncIn, session: DbSession, principal: TillClerk) -> SyncOut:
    """The till's queue, in order: each operation recorded once (``recorded``), found again
    (``duplicate``) or refused with a code and a Chinese message (``rejected``, nothing recorded)."""
    return await sync.sync(session, principal, body)


@router.post(
    "/approvals",
    response_model=ApprovalOut,
    responses={403: {"description": "approval_refused"}, 429: {"description": "pin_rate_limited"}},
)
async def approve(body: ApprovalIn, request: Request, session: DbSession, principal: TillClerk) -> ApprovalOut:
    """A store manager of this store types user name + PIN on the till: a token that allows this
    one operation (action, its client id, up to the amount) on this till for 30 minutes."""
    approval = await approvals.approve(
        session,
        request.app.state.pin_limiter,
        principal,
        username=body.username,
        pin=body.pin,
        action=ApprovalAction(body.action),
        op_client_id=body.op_client_id,
        amount_minor=body.amount_minor,
    )
    return ApprovalOut(
        approval_token=approval.token,
        manager_username=approval.manager.username,
        manager_name=approval.manager.display_name or approval.manager.username,
    )


@router.get("/sales/{number}", response_model=SaleDetail, responses={404: {"description": "sale_not_found"}})
async def sale(number: str, session: DbSession, principal: TillClerk) -> SaleDetail:
    """A sale of this store with its lines, the lots they took, tenders and its public page."""
    assert principal.store_id is not None
    return await sale_detail(session, principal.store_id, number)


@router.get("/shifts/current/report", response_model=ShiftFigures, responses={404: {"description": "shift_unknown"}})
async def current_shift_report(session: DbSession, principal: TillClerk) -> ShiftFigures:
    """The X report: this till's open shift so far."""
    assert principal.till_id is not None
    return await shift_report.open_shift_figures(session, principal.till_id)


@router.get(
    "/shifts/{client_id}/report", response_model=ShiftFigures, responses={404: {"description": "shift_unknown"}}
)
async def shift_report_of(client_id: uuid.UUID, session: DbSession, principal: TillClerk) -> ShiftFigures:
    """A shift of this store: the X report while open, the Z report once closed."""
    assert principal.store_id is not None
    return await shift_report.store_shift_figures(session, principal.store_id, client_id)
