"""A store manager's word at the till: a manager types user name + PIN on the clerk's till to allow
one operation (a discount beyond the clerk's limit, cash out, a shift closed with a variance, a
return), and the till gets an approval token for exactly that operation.

The token is signed with the app's secret (itsdangerous, as the cart cookie is) and binds the till,
the manager, the action, the operation's own client id and the amount it covers, for 30 minutes
counted on ``app.kit.clock``. The operation carries it in its upload (``sync_schemas``); the server
checks it with :func:`verify` when the operation lands — so a till that went offline after the
approval still records the operation with the manager's name. A token for another operation,
another till, a larger amount or an older one is refused (``approval_invalid``).

The PIN attempt is counted in the till's PIN limiter (per user name and per till) before the PIN is
looked at, like signing in: a burst of guesses gets no more checks than the limit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts_repository
from app.accounts.access import Principal
from app.accounts.models import Role, User
from app.accounts.ratelimit import PinLimiter
from app.config import get_settings
from app.kit import clock
from app.kit.errors import AppError
from app.pos import errors, sessions

TOKEN_LIFETIME = timedelta(minutes=30)
_SALT = "pos-approval"


class ApprovalAction(StrEnum):
    discount = "discount"
    cash_out = "cash_out"
    variance = "variance"
    return_ = "return"


@dataclass(frozen=True)
class Approval:
    token: str
    manager: User


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt=_SALT)


def sign(*, till_id: int, manager_id: int, action: ApprovalAction, op_client_id: uuid.UUID, amount_minor: int) -> str:
    expires = int((clock.now() + TOKEN_LIFETIME).timestamp())
    payload = {
        "till": till_id,
        "mgr": manager_id,
        "act": ApprovalAction(action).value,
        "op": str(op_client_id),
        "amt": amount_minor,
        "exp": expires,
    }
    return str(_serializer().dumps(payload))


def verify(
    token: str, *, till_id: int, action: ApprovalAction | str, op_client_id: uuid.UUID, amount_minor: int
) -> int:
    """The approving manager's user id, when ``token`` approves ``action`` of this operation on
    this till for at least ``amount_minor``; else ``ApprovalInvalid``."""
    try:
        payload: Any = _serializer().loads(token)
    except BadData as exc:
        raise errors.ApprovalInvalid() from exc
    try:
        ok = (
            payload["till"] == till_id
            and payload["act"] == ApprovalAction(action).value
            and payload["op"] == str(op_client_id)
            and int(payload["amt"]) >= amount_minor
            and int(payload["exp"]) > clock.now().timestamp()
        )
        manager_id = int(payload["mgr"])
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.ApprovalInvalid() from exc
    if not ok:
        raise errors.ApprovalInvalid()
    return manager_id


async def approve(
    session: AsyncSession,
    limiter: PinLimiter,
    principal: Principal,
    *,
    username: str,
    pin: str,
    action: ApprovalAction,
    op_client_id: uuid.UUID,
    amount_minor: int,
) -> Approval:
    """A store manager of the till's store approves one operation with their PIN."""
    assert principal.till_id is not None and principal.store_id is not None
    user = await sessions.user_with_pin(session, limiter, username=username, pin=pin, till_id=principal.till_id)
    if user is None or not await manages(session, user.role, user.id, principal.store_id):
        raise errors.ApprovalRefused()
    token = sign(
        till_id=principal.till_id,
        manager_id=user.id,
        action=action,
        op_client_id=op_client_id,
        amount_minor=amount_minor,
    )
    return Approval(token, user)


async def manages(session: AsyncSession, role: Role, user_id: int, store_id: int | None) -> bool:
    """The user is a store manager of this store."""
    return (
        role is Role.store_manager
        and store_id is not None
        and await accounts_repository.manages_store(session, user_id, store_id)
    )


async def is_manager_here(session: AsyncSession, principal: Principal) -> bool:
    """The person signed in at the till manages its store (needs no one else's PIN)."""
    return await manages(session, principal.role, principal.user_id, principal.store_id)


async def approver(
    session: AsyncSession,
    principal: Principal,
    token: str | None,
    *,
    action: ApprovalAction,
    op_client_id: uuid.UUID,
    amount_minor: int,
    needed: AppError,
) -> int:
    """Who allows an operation that needs a manager: the manager signed in at the till, or the one
    whose token the operation carries; else ``needed`` is raised."""
    if await is_manager_here(session, principal):
        return principal.user_id
    if token is None:
        raise needed
    assert principal.till_id is not None
    return verify(token, till_id=principal.till_id, action=action, op_client_id=op_client_id, amount_minor=amount_minor)
