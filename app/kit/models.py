"""Declarative base shared by every domain, with a naming convention Alembic can rely on."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    any_,
    bindparam,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)


def enum_column(enum_cls: type[StrEnum], name: str) -> Enum:
    """A native PostgreSQL enum storing the member values."""
    return Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


_PLAIN_VALUE = re.compile(r"[a-z][a-z0-9_]*")


def in_statement(value: StrEnum) -> ColumnClause[Any]:
    """An enum value written into the statement's text, not bound as a parameter: for a predicate
    a partial index is defined on (``status = 'at_station'``). asyncpg keeps statements prepared
    and PostgreSQL then settles on a generic plan, which cannot use that index for ``status = $2``
    and reads every row of the other index's key instead (all the parcels a station ever held), or
    plans the statement again at every call (issue 15; ``tests/stations/test_generic_plans.py``)."""
    if not _PLAIN_VALUE.fullmatch(value.value):  # the values are identifiers: nothing to quote
        raise ValueError(f"not a plain enum value: {value.value!r}")
    return literal_column(f"'{value.value}'")


def any_of(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], parameter: str, item_type: TypeEngine[Any]
) -> ColumnElement[bool]:
    """``column = ANY(:parameter)``, the parameter one array: for a statement built once that takes
    a list (the SKUs of a basket, say). An expanding ``IN`` is rendered again on every execution
    (SQLAlchemy's post-compile step) and gives every list length a statement of its own, which
    asyncpg prepares on each pooled connection before its first use: one round trip more for each
    new basket size (issue 15; ``tests/kit/test_any_of.py``)."""
    return column == any_(bindparam(parameter, type_=ARRAY(item_type)))


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class RateLimitCounter(Base):
    """One fixed window of one rate-limit key (``app/kit/ratelimit.py``): attempts counted there."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class OutboxMessage(Base):
    """A task asked for inside a business transaction, sent after it commits (``app/kit/outbox.py``)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task_name: Mapped[str] = mapped_column(String(120), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False, index=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Failed attempts of the worker's drain (``app.worker.drain_outbox``): the next one waits until
    # ``next_attempt_at``; after ``outbox.MAX_PROCESS_ATTEMPTS`` the message waits for a person.
    process_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The X-Request-ID of the request that wrote the message (``app.kit.logs``): the task's log
    # lines carry it too. None for work no request asked for (a periodic sweep, a CLI command).
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # The drain's queue: only the unprocessed rows, in order, however long the table grows.
        Index("ix_outbox_messages_unprocessed", "id", postgresql_where=text("processed_at IS NULL")),
    )


MAX_IDEMPOTENCY_KEY_LENGTH = 100


class IdempotencyKey(IdMixin, Base):
    """One Idempotency-Key of one scope and the answer its first call gave (``app/kit/idempotency.py``)."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(60), nullable=False)
    key: Mapped[str] = mapped_column(String(MAX_IDEMPOTENCY_KEY_LENGTH), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)


class BackupRun(Base):
    """One run of ``app backup`` or of the daily backup task, kept in the database so that the ops
    console shows the last backup even when the web process runs on another machine than the
    worker that made it."""

    __tablename__ = "backup_runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    trigger: Mapped[str] = mapped_column(String(20), nullable=False)  # "manual" (app backup) | "scheduled"
    archive_path: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    error: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
