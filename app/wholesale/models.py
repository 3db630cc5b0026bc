"""Wholesale tables around a buyer company (``app.accounts.models.BuyerCompany``): its delivery
addresses, the audit of what the centre decided, and the invitations its owner sends colleagues."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Time, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin


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
