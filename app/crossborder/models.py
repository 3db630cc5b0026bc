"""Alibaba.com (ICBU) connection, listings, sync log and pulled orders.

Remote ids (product ids, trade ids, seller account ids) are strings: the gateway returns 13- and
17-digit ids beyond JavaScript's safe integers, and obfuscated ids that are not numbers at all
(reference §4, §9.6).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column


class ConnectionStatus(StrEnum):
    connected = "connected"
    needs_reauth = "needs_reauth"

    @property
    def label_zh(self) -> str:
        return {"connected": "已连接", "needs_reauth": "需要重新授权"}[self.value]


class AlibabaConnection(Base):
    """The one seller account the platform acts for (a single row, id 1).

    Tokens are stored Fernet-encrypted (``app.crossborder.crypto``); nothing here is ever logged.
    """

    __tablename__ = "alibaba_connections"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    account_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    account_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    access_token_enc: Mapped[str] = mapped_column(Text, nullable=False)
    refresh_token_enc: Mapped[str] = mapped_column(Text, nullable=False, default="")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[ConnectionStatus] = mapped_column(
        enum_column(ConnectionStatus, "alibaba_connection_status"), nullable=False
    )
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # A gateway ban longer than a run should sleep (a daily quota): no run or pull calls before it.
    paused_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    connected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class ListingState(StrEnum):
    not_connected = "not_connected"
    draft = "draft"
    syncing = "syncing"
    pending_audit = "pending_audit"
    online = "online"
    offline = "offline"
    rejected = "rejected"
    error = "error"

    @property
    def label_zh(self) -> str:
        return {
            "not_connected": "未连接",
            "draft": "草稿",
            "syncing": "同步中",
            "pending_audit": "审核中",
            "online": "已上架",
            "offline": "已下架",
            "rejected": "审核未通过",
            "error": "同步出错",
        }[self.value]


class Listing(IdMixin, TimestampMixin, Base):
    """One product on Alibaba.com, owned by the platform.

    ``model_number`` is what the sync engine searches for before creating a remote product, so a
    create retried after a timeout finds the first one instead of making a duplicate. The
    ``*_version`` counters go up on every local change and ``synced_*_version`` records what
    Alibaba.com has acknowledged: a push is due when they differ (debouncing repeated edits).
    """

    __tablename__ = "alibaba_listings"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False, index=True)
    # The variant whose stock (available to the cross-border channel) is the listing's inventory.
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False, index=True)
    model_number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    title_en: Mapped[str] = mapped_column(String(256), nullable=False)
    description_en: Mapped[str] = mapped_column(Text, nullable=False, default="")
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(128)), nullable=False, default=list)
    category_id: Mapped[str | None] = mapped_column(String(32))
    # [{"attribute_name": "Place of Origin", "attribute_value": "Guangdong, China"}]
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    # Local upload paths (under APP_DATA_DIR/uploads); the first is the main image.
    image_paths: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # USD ladder: [{"min_quantity": 10, "price_cents": 1250}, ...], quantities ascending.
    price_tiers: Mapped[list[dict[str, int]]] = mapped_column(JSONB, nullable=False, default=list)
    moq: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    unit: Mapped[str] = mapped_column(String(30), nullable=False, default="Box")
    lead_time_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    # {"length": 40, "width": 30, "height": 20} in cm
    size_cm: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    shipping_template_id: Mapped[str | None] = mapped_column(String(32))

    state: Mapped[ListingState] = mapped_column(enum_column(ListingState, "alibaba_listing_state"), nullable=False)
    remote_product_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    state_message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    desired_online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    content_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    price_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    inventory_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    synced_content_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    synced_price_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    synced_inventory_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Stock available to the cross-border channel when last looked at (whole units); a change
    # bumps ``inventory_version``. ``None`` until first computed.
    inventory_quantity: Mapped[int | None] = mapped_column(Integer)
    # Photo-bank copies of ``image_paths`` (local path -> {"file_id", "url"}), so an image is
    # uploaded once, not on every content update.
    photobank: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # Set just before a create is sent, cleared when its answer is known: {"content", "price",
    # "inventory" (the versions it carried), "at" (ISO time)}. If the answer is lost and a later
    # search by model number finds the product, these say what it already holds.
    create_attempt: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Alibaba.com's own view after the last read-back: online/offline and approved/pending/rejected.
    remote_status: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    remote_audit_status: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    # Consecutive transient failures (timeouts, 5xx): the retry back-off grows with it.
    failed_attempts: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the sync engine should look at this listing next (NULL: nothing to do). Local edits set
    # it a short debounce ahead, so a burst of edits becomes one push.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("moq >= 1", name="moq_positive"),
        CheckConstraint("inventory_quantity IS NULL OR inventory_quantity >= 0", name="inventory_not_negative"),
        CheckConstraint("lead_time_days >= 1", name="lead_time_positive"),
        CheckConstraint("weight_kg IS NULL OR weight_kg > 0", name="weight_positive"),
        CheckConstraint(
            "synced_content_version <= content_version AND synced_price_version <= price_version "
            "AND synced_inventory_version <= inventory_version",
            name="synced_versions_not_ahead",
        ),
        Index("ix_alibaba_listings_due", "next_attempt_at", postgresql_where=text("next_attempt_at IS NOT NULL")),
    )


class SyncLogEntry(IdMixin, Base):
    """One ICBU call (from ``CallRecord``: parameters already stripped of signatures, tokens, secrets)."""

    __tablename__ = "alibaba_sync_log"

    listing_id: Mapped[int | None] = mapped_column(ForeignKey("alibaba_listings.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    api: Mapped[str] = mapped_column(String(120), nullable=False)
    style: Mapped[str] = mapped_column(String(8), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    msg_code: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    request_id: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    trace_id: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index("ix_alibaba_sync_log_listing_id_created_at", "listing_id", "created_at"),
        # The county dashboard's "sync problems": recent failed calls.
        Index("ix_alibaba_sync_log_failures", "created_at", postgresql_where=text("NOT ok")),
        CheckConstraint("style IN ('rest', 'sync')", name="style_valid"),
    )


class AlibabaOrder(IdMixin, Base):
    """A cross-border order read from Alibaba.com (read-only). Only company-level buyer data is
    kept: country and company name; contacts, addresses and phones are dropped from ``raw``."""

    __tablename__ = "alibaba_orders"

    trade_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    buyer_country: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    buyer_company: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_remote_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    modified_remote_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("amount_minor IS NULL OR amount_minor >= 0", name="amount_non_negative"),
        Index("ix_alibaba_orders_created_remote_at", "created_remote_at"),  # cross-border orders by day
    )


class GatewayPacing(Base):
    """The next start any process may give a call to an outside gateway (``name``: "alibaba"):
    every web and worker process reserves its calls' starts here, one interval apart, so the rate
    holds for the deployment, not per process (``pacing.DatabaseSchedule``)."""

    __tablename__ = "gateway_pacing"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
