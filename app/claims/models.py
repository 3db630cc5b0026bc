"""After-sales claims for spoiled produce (坏果包赔): the claim, its lines (which order line, how
much), the lots each claimed line came from, and the customer's photos.

A claim is filed once per customer request and reviewed once: ``submitted`` → ``approved`` /
``partly_approved`` / ``refused`` (terminal). The review is a compare-and-set on ``status``, and the
refund it causes is named by ``refund_id`` (unique), so one claim refunds at most once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.models import Base, IdMixin, enum_column
from app.kit.quantities import Quantity


class ClaimStatus(StrEnum):
    submitted = "submitted"  # filed by the customer, waiting for staff
    approved = "approved"  # every claimed quantity accepted
    partly_approved = "partly_approved"  # some of it accepted
    refused = "refused"  # nothing accepted, with a reason

    @property
    def label_zh(self) -> str:
        return CLAIM_STATUS_ZH[self]

    @property
    def reviewed(self) -> bool:
        return self is not ClaimStatus.submitted


CLAIM_STATUS_ZH = {
    ClaimStatus.submitted: "待审核",
    ClaimStatus.approved: "已同意",
    ClaimStatus.partly_approved: "部分同意",
    ClaimStatus.refused: "已拒绝",
}


class Claim(IdMixin, Base):
    __tablename__ = "claims"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus, "claim_status"), nullable=False)
    reason: Mapped[str] = mapped_column(String(300), nullable=False)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: a guest
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    claimed_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    approved_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # The refund the approval caused (orders.refunds): unique, so no claim pays out twice.
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), unique=True)

    lines: Mapped[list[ClaimLine]] = relationship(
        back_populates="claim", order_by="ClaimLine.id", cascade="all, delete-orphan", lazy="raise"
    )
    photos: Mapped[list[ClaimPhoto]] = relationship(
        order_by="ClaimPhoto.position", cascade="all, delete-orphan", lazy="raise"
    )

    __table_args__ = (
        CheckConstraint("claimed_minor > 0", name="claimed_positive"),
        CheckConstraint("approved_minor >= 0 AND approved_minor <= claimed_minor", name="approved_within_claim"),
    )


class ClaimLine(IdMixin, Base):
    __tablename__ = "claim_lines"

    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    approved_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    approved_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    claim: Mapped[Claim] = relationship(back_populates="lines", lazy="raise")
    lots: Mapped[list[ClaimLineLot]] = relationship(
        order_by="ClaimLineLot.id", cascade="all, delete-orphan", lazy="raise"
    )

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "approved_quantity IS NULL OR (approved_quantity >= 0 AND approved_quantity <= quantity)",
            name="approved_within_line",
        ),
    )


class ClaimLineLot(IdMixin, Base):
    """The part of a claimed line that came from one lot (from the order's sale rows in the stock
    ledger); ``approved_quantity`` is that part of what staff accepted — the lot's claim figure."""

    __tablename__ = "claim_line_lots"

    claim_line_id: Mapped[int] = mapped_column(
        ForeignKey("claim_lines.id", ondelete="CASCADE"), nullable=False, index=True
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    approved_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))


class ClaimPhoto(IdMixin, Base):
    __tablename__ = "claim_photos"

    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True)
    path: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    thumb_path: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(30), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
