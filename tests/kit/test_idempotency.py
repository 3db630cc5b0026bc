"""The one idempotent-JSON helper every keyed POST route answers through."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import IdempotencyKeyReused
from app.kit.idempotency import IdempotencyKey, Outcome, idempotent_json


class Body(BaseModel):
    sku: str
    quantity: str


def _request(path: str = "/api/v1/things") -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""})


def _json(response: JSONResponse) -> Any:
    return json.loads(bytes(response.body))


class Work:
    """Counts its runs, so a replay can be shown not to run the work again."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.runs = 0

    async def __call__(self) -> Any:
        self.runs += 1
        return self.answer


async def test_a_replay_answers_the_first_result_without_running_again(db_session: AsyncSession) -> None:
    work = Work({"number": "A1"})
    body = Body(sku="BOX", quantity="2")
    first = await idempotent_json(db_session, _request(), scope="user:7", key="k-1", body=body, work=work)
    again = await idempotent_json(db_session, _request(), scope="user:7", key="k-1", body=body, work=work)
    assert (first.status_code, _json(first)) == (201, {"number": "A1"})
    assert (again.status_code, _json(again)) == (201, {"number": "A1"})
    assert work.runs == 1
    stored = (await db_session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "k-1"))).all()
    assert [(k.scope, k.status_code, k.response) for k in stored] == [("user:7", 201, {"number": "A1"})]


async def test_the_scope_separates_callers_and_the_status_is_kept(db_session: AsyncSession) -> None:
    work = Work({"ok": True})
    body = {"kind": "convenience", "photo_sha256": None}  # a form route's own fingerprint
    mine = await idempotent_json(
        db_session, _request(), scope="station:1:user:2", key="k", body=body, work=work, status_code=200
    )
    theirs = await idempotent_json(
        db_session, _request(), scope="station:3:user:4", key="k", body=body, work=work, status_code=200
    )
    assert [mine.status_code, theirs.status_code] == [200, 200]
    assert work.runs == 2


async def test_an_outcome_is_answered_and_replayed_with_its_own_status(db_session: AsyncSession) -> None:
    work = Work(Outcome(422, {"code": "wrong_pickup_code"}))
    body = Body(sku="BOX", quantity="1")
    for _ in range(2):
        response = await idempotent_json(db_session, _request(), scope="s", key="k-2", body=body, work=work)
        assert (response.status_code, _json(response)) == (422, {"code": "wrong_pickup_code"})
    assert work.runs == 1


async def test_a_key_reused_with_another_body_or_path_is_refused(db_session: AsyncSession) -> None:
    work = Work({"n": 1})
    await idempotent_json(db_session, _request(), scope="s", key="k-3", body=Body(sku="A", quantity="1"), work=work)
    with pytest.raises(IdempotencyKeyReused):
        await idempotent_json(db_session, _request(), scope="s", key="k-3", body=Body(sku="A", quantity="2"), work=work)
    with pytest.raises(IdempotencyKeyReused):
        await idempotent_json(
            db_session, _request("/api/v1/other"), scope="s", key="k-3", body=Body(sku="A", quantity="1"), work=work
        )
    assert work.runs == 1


async def test_without_a_key_the_work_runs_every_time(db_session: AsyncSession) -> None:
    work = Work({"n": 1})
    for _ in range(2):
        response = await idempotent_json(db_session, _request(), scope="s", key=None, body={}, work=work)
        assert (response.status_code, _json(response)) == (201, {"n": 1})
    assert work.runs == 2
    assert await db_session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == "s")) is None


class AnswersEarly:
    """Work that stores its answer before its last write (an order, before it holds its stock)."""

    def __init__(self, *, fail_after_answering: bool = False, answer: bool = True) -> None:
        self.runs = 0
        self.fail_after_answering = fail_after_answering
        self.answer = answer

    async def __call__(self, answer: Any) -> None:
        self.runs += 1
        if self.answer:
            await answer({"number": f"E{self.runs}"})
        if self.fail_after_answering:
            raise IdempotencyKeyReused()  # any failure of the last write


async def test_an_early_answer_is_stored_returned_and_replayed(db_session: AsyncSession) -> None:
    work = AnswersEarly()
    body = Body(sku="BOX", quantity="1")
    for _ in range(2):
        response = await idempotent_json(
            db_session, _request(), scope="s", key="k-early", body=body, work=work, answers_early=True
        )
        assert (response.status_code, _json(response)) == (201, {"number": "E1"})
    assert work.runs == 1


async def test_an_early_answer_rolls_back_with_a_failure_after_it(db_session: AsyncSession) -> None:
    body = Body(sku="BOX", quantity="1")
    savepoint = await db_session.begin_nested()  # the request's transaction, rolled back on failure
    with pytest.raises(IdempotencyKeyReused):
        await idempotent_json(
            db_session,
            _request(),
            scope="s",
            key="k-fail",
            body=body,
            work=AnswersEarly(fail_after_answering=True),
            answers_early=True,
        )
    await savepoint.rollback()
    assert (await db_session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "k-fail"))).all() == []
    # The key is free again: a retry does the work and answers.
    retry = AnswersEarly()
    response = await idempotent_json(
        db_session, _request(), scope="s", key="k-fail", body=body, work=retry, answers_early=True
    )
    assert (response.status_code, _json(response), retry.runs) == (201, {"number": "E1"}, 1)


async def test_work_that_promised_an_early_answer_must_give_one(db_session: AsyncSession) -> None:
    with pytest.raises(RuntimeError, match="without answering"):
        await idempotent_json(
            db_session,
            _request(),
            scope="s",
            key="k-none",
            body=Body(sku="BOX", quantity="1"),
            work=AnswersEarly(answer=False),
            answers_early=True,
        )


async def test_an_early_outcome_keeps_its_own_status(db_session: AsyncSession) -> None:
    async def refused(answer: Any) -> None:
        await answer(Outcome(422, {"code": "wrong_pickup_code"}))

    for _ in range(2):
        response = await idempotent_json(
            db_session, _request(), scope="s", key="k-outcome", body={"n": 1}, work=refused, answers_early=True
        )
        assert (response.status_code, _json(response)) == (422, {"code": "wrong_pickup_code"})
