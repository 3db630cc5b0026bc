"""Idempotency-Key handling for POSTs that create orders, payments, sales or stock movements.

The key row is inserted *first*, in the request's own transaction: a concurrent request with the
same key blocks on the unique index until the first commits (then it replays the stored answer)
or rolls back (then it does the work itself). A key reused with a different body is a 422.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import repository
from app.kit.errors import IdempotencyKeyReused, InvalidInput
from app.kit.models import MAX_IDEMPOTENCY_KEY_LENGTH as MAX_KEY_LENGTH
from app.kit.models import IdempotencyKey as IdempotencyKey  # re-exported: tests and callers name it here


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


class IdempotentCall:
    """``begin`` claims the key or returns the first call's answer; ``finish`` stores this answer."""

    def __init__(self, session: AsyncSession, scope: str, key: str | None, print_: str) -> None:
        self.session = session
        self.scope = scope
        self.key = key
        self.fingerprint = print_
        self.answered: tuple[int, Any] | None = None

    async def begin(self) -> Replay | None:
        if self.key is None:
            return None
        if not self.key or len(self.key) > MAX_KEY_LENGTH:
            raise InvalidInput(f"Idempotency-Key 长度须为 1–{MAX_KEY_LENGTH} 个字符")
        if await repository.claim_idempotency_key(self.session, self.scope, self.key, self.fingerprint):
            return None
        first = await repository.idempotency_key(self.session, self.scope, self.key)
        assert first is not None  # the conflicting row is committed: that is why we saw the conflict
        if first.fingerprint != self.fingerprint:
            raise IdempotencyKeyReused()
        return Replay(first.status_code or 200, first.response)

    async def finish(self, status_code: int, body: Any) -> None:
        if self.key is None:
            return
        await repository.store_idempotent_answer(self.session, self.scope, self.key, status_code, body)



class EarlyAnswer:
    """What ``work`` is given with ``run_idempotent(answers_early=True)``: called with the answer (a
    JSON-able body, or an :class:`Outcome`), it stores it at once; ``answered`` says whether it has
    been, so a work with several ways to end answers on the one it took."""

    def __init__(self, call: IdempotentCall, status_code: int) -> None:
        self._call = call
        self._status_code = status_code

    @property
    def answered(self) -> bool:
        return self._call.answered is not None

    async def __call__(self, result: Any) -> None:
        status_code, body = (
            (result.status_code, result.body) if isinstance(result, Outcome) else (self._status_code, result)
        )
        await self._call.finish(status_code, body)
        self._call.answered = (status_code, body)


async def run_idempotent(
    session: AsyncSession,
    *,
    scope: str,
    key: str | None,
    method: str,
    path: str,
    body: Any,
    work: Any,
    status_code: int = 201,
    answers_early: bool = False,
) -> tuple[int, Any]:
    """Run ``work()`` (returning a JSON-able body) once per key; a replay returns the first answer.

    ``answers_early``: ``work(answer)`` is given a function that stores its answer (a JSON-able body,
    with ``status_code``, or an :class:`Outcome`) before the work's last writes, and the stored answer
    is what the call returns. An order does so before it holds its stock, a handover before it sells
    the held stock, so that the hot stock rows stay locked for that write and the commit only. If
    the work fails after answering, the answer rolls back with it."""
    call = IdempotentCall(session, scope, key, fingerprint(method, path, body))
    replay = await call.begin()
    if replay is not None:
        return replay.status_code, replay.body
    if answers_early:
        await work(EarlyAnswer(call, status_code))
        if call.answered is None:
            raise RuntimeError("work given answers_early=True returned without answering")
        return call.answered
    result = await work()
    if isinstance(result, Outcome):
        status_code, result = result.status_code, result.body
    await call.finish(status_code, result)
    return status_code, result


async def idempotent_json(
    session: AsyncSession,
    request: Request,
    *,
    scope: str,
    key: str | None,
    body: BaseModel | dict[str, Any],
    work: Any,
    status_code: int = 201,
    answers_early: bool = False,
) -> JSONResponse:
    """``run_idempotent`` for a JSON route: the request's method and path and ``body`` (a request
    model, or the dict a form route fingerprints) identify the call; the answer, first or replayed,
    goes back with its stored status code. ``scope`` says whose keys these are, so two callers
    never collide on the same key."""
    code, payload = await run_idempotent(
        session,
        scope=scope,
        key=key,
        method=request.method,
        path=request.url.path,
        body=body.model_dump(mode="json") if isinstance(body, BaseModel) else body,
        work=work,
        status_code=status_code,
        answers_early=answers_early,
    )
    return JSONResponse(payload, status_code=code)


@dataclass(frozen=True)
class Outcome:
    """A result whose status differs from the usual one but which must still be committed and
    replayed as is (e.g. a wrong pickup code: the failed attempt is counted)."""

    status_code: int
    body: Any
