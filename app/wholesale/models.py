"""Wholesale tables around a buyer company (``app.accounts.models.BuyerCompany``): its delivery
addresses, the audit of what the centre decided, and the invitations its owner sends colleagues."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin
from app.kit.quantities import Quantity


class DeliveryAddress(IdMixin, TimestampMixin, Base):
    """Where a company receives the truck, in a PRD city, with the hours it can receive."""

    __tablename__ = "company_delivery_addresses"

    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False)
    city: Mapped[str] = mapped_column(String(20), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    receiving_from: Mapped[time] = mapped_column(Time, nullable=False)
    receiving_until: Mapped[time] = mapped_column(Time, nullable=False)
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint("receiving_from < receiving_until", name="receiving_hours_order"),
        # One row per address: the same place typed twice is one delivery stop.
        UniqueConstraint("company_id", "address", name="uq_company_delivery_addresses_company_address"),
    )

    @property
    def receiving_hours(self) -> str:
        return f"{self.receiving_from:%H:%M}–{self.receiving_until:%H:%M}"


class CompanyAction(StrEnum):
    applied = "applied"
    approved = "approved"
    rejected = "rejected"
    suspended = "suspended"
    reinstated = "reinstated"
    terms_set = "terms_set"
    colleague_invited = "colleague_invited"
    colleague_joined = "colleague_joined"
    colleague_deactivated = "colleague_deactivated"
    api_key_issued = "api_key_issued"
    api_key_revoked = "api_key_revoked"
    address_added = "address_added"
    address_changed = "address_changed"
    address_deactivated = "address_deactivated"

    @property
    def label_zh(self) -> str:
        return ACTION_LABELS_ZH[self]


ACTION_LABELS_ZH = {
    CompanyAction.applied: "提交申请",
    CompanyAction.approved: "审核通过",
    CompanyAction.rejected: "拒绝申请",
    CompanyAction.suspended: "暂停合作",
    CompanyAction.reinstated: "恢复合作",
    CompanyAction.terms_set: "修改合作条款",
    CompanyAction.colleague_invited: "邀请同事",
    CompanyAction.colleague_joined: "同事开通账号",
    CompanyAction.colleague_deactivated: "停用同事账号",
    CompanyAction.api_key_issued: "签发 API 密钥",
    CompanyAction.api_key_revoked: "吊销 API 密钥",
    CompanyAction.address_added: "新增收货地址",
    CompanyAction.address_changed: "修改收货地址",
    CompanyAction.address_deactivated: "停用收货地址",
}


class CompanyEvent(IdMixin, Base):
    """One thing that happened to a company, who did it and when (the centre's audit trail)."""

    __tablename__ = "company_events"

    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False)
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_company_events_company_created", "company_id", "created_at"),)


class CompanyInvitation(IdMixin, Base):
    """A one-time link a company's owner sends a colleague by SMS; only the token's SHA-256 is kept.

    It lasts ``WHOLESALE_INVITATION_TTL_DAYS`` and is taken once (``accepted_at`` by compare-and-set)."""

    __tablename__ = "company_invitations"

    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CreditState(StrEnum):
    """Where a wholesale order stands against its company's credit limit."""

    clear = "clear"  # within the limit (or a prepay company: no credit given)
    held = "held"  # over the limit: waits for the centre's approval, its stock held for a while
    approved = "approved"  # over the limit, approved by the centre
    lapsed = "lapsed"  # not approved in time: the order expired, its stock and truck room released
    withdrawn = "withdrawn"  # cancelled by the buyer while it waited for the centre's approval

    @property
    def label_zh(self) -> str:
        return CREDIT_STATE_ZH[self]


CREDIT_STATE_ZH = {
    CreditState.clear: "额度内",
    CreditState.held: "超出信用额度，待服务中心审批",
    CreditState.approved: "超额已审批",
    CreditState.lapsed: "审批超时，已释放",
    CreditState.withdrawn: "待审批时已由采购商取消",
}


class WholesaleOrder(Base):
    """The wholesale side of an order (``orders.id``): its company, trip (and why that trip), the
    delivery address it goes to, the load it booked on the truck, and its credit state."""

    __tablename__ = "wholesale_orders"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False, index=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("wholesale_trips.id"), nullable=False, index=True)
    delivery_address_id: Mapped[int] = mapped_column(ForeignKey("company_delivery_addresses.id"), nullable=False)
    requested_date: Mapped[date | None] = mapped_column(Date)
    trip_reason_code: Mapped[str] = mapped_column(String(30), nullable=False)
    trip_reason_zh: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    weight_kg: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    cases: Mapped[int] = mapped_column(Integer, nullable=False)
    credit_state: Mapped[str] = mapped_column(String(20), nullable=False, default=CreditState.clear.value)
    # Exposure (unpaid + open orders + this one) when it was placed, for the centre's decision.
    exposure_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # What the order counts towards its company's credit now (total − paid while its credit was
    # given, it is open, unpaid and not yet invoiced; else 0): written by the database's triggers
    # whenever one of those changes (migration 0042; they lock the order's row first, 0043), never
    # by the application, so a loaded instance may be behind; the credit check sums it
    # (``order_queries._open_orders_owed_of``).
    open_owed_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    credit_hold_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When its load came off the truck (the order expired or was cancelled before the trip left).
    trip_released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("cases >= 0 AND weight_kg >= 0", name="load_non_negative"),
        CheckConstraint("credit_state <> 'held' OR credit_hold_until IS NOT NULL", name="held_has_deadline"),
        Index("ix_wholesale_orders_held", "credit_hold_until", postgresql_where=text("credit_state = 'held'")),
        Index(
            "ix_wholesale_orders_open_owed",
            "company_id",
            postgresql_include=["open_owed_minor"],
            postgresql_where=text("open_owed_minor <> 0"),
        ),
    )
