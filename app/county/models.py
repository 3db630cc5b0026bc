"""The plan's register (targets, evidence, the printer/PDA asset register) and its funds (budget
categories, budget lines, spending), as data the centre's admins keep and the county official reads.

Money is integer fen (``*_fen``) in CNY; business dates are China dates (``Date`` columns hold the
China date something happened, entered by a person). Corrections are edits that record who and
when (``updated_by_id`` / ``updated_at``): the quarterly report freezes its own snapshot.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.models import Base, IdMixin, enum_column


class EvidenceKind(StrEnum):
    """What the centre records as evidence; the first six are events (place, participants, photos)."""

    centre_event = "centre_event"
    crossborder_training = "crossborder_training"
    platform_training = "platform_training"
    livestream_training = "livestream_training"
    agritourism = "agritourism"
    trade_fair = "trade_fair"
    enterprise_guided = "enterprise_guided"
    seller_incubated = "seller_incubated"
    film_3min = "film_3min"
    film_1min = "film_1min"

    @property
    def label_zh(self) -> str:
        return EVIDENCE_KIND_ZH[self]

    @property
    def is_event(self) -> bool:
        return self in EVENT_KINDS

    @property
    def is_film(self) -> bool:
        return self in (EvidenceKind.film_3min, EvidenceKind.film_1min)


EVIDENCE_KIND_ZH = {
    EvidenceKind.centre_event: "公共服务中心活动",
    EvidenceKind.crossborder_training: "跨境电商培训",
    EvidenceKind.platform_training: "平台运营技能培训",
    EvidenceKind.livestream_training: "直播电商培训",
    EvidenceKind.agritourism: "农旅结合活动",
    EvidenceKind.trade_fair: "展销活动",
    EvidenceKind.enterprise_guided: "指导传统企业触网",
    EvidenceKind.seller_incubated: "孵化直播网红",
    EvidenceKind.film_3min: "宣传片（3 分钟）",
    EvidenceKind.film_1min: "形象片（1 分钟）",
}
EVENT_KINDS = frozenset(
    {
        EvidenceKind.centre_event,
        EvidenceKind.crossborder_training,
        EvidenceKind.platform_training,
        EvidenceKind.livestream_training,
        EvidenceKind.agritourism,
        EvidenceKind.trade_fair,
    }
)


class TargetMetric(StrEnum):
    """What the platform computes a target's progress from (a target without one counts evidence
    records of its ``evidence_kind``; see ``app.county.targets``)."""

    new_stations = "new_stations"
    demonstration_stations = "demonstration_stations"
    label_printers = "label_printers"
    pdas = "pdas"
    crossborder_listings = "crossborder_listings"
    supply_skus = "supply_skus"
    brand_stores = "brand_stores"
    livestream_sellers = "livestream_sellers"
    agritourism_events = "agritourism_events"

    @property
    def label_zh(self) -> str:
        return COMPUTED_METRIC_ZH[self]


COMPUTED_METRIC_ZH = {
    TargetMetric.new_stations: "平台计算：期内新建的村站",
    TargetMetric.demonstration_stations: "平台计算：达到示范标准的示范站（村站月报口径）",
    TargetMetric.label_printers: "平台计算：资产登记中在用的打单机",
    TargetMetric.pdas: "平台计算：资产登记中在用的 PDA + 未登记资产的村站 PDA 设备令牌",
    TargetMetric.crossborder_listings: "平台计算：国际站已上架的商品",
    TargetMetric.supply_skus: "平台计算：期内有批发销售的供货单品",
    TargetMetric.brand_stores: "平台计算：期内有销售的品牌门店",
    TargetMetric.livestream_sellers: "平台计算：期内登记、且带来过已付款订单的带货主播",
    TargetMetric.agritourism_events: "平台计算：期内举办、且至少一人凭票签到的农旅活动",
}


class Target(IdMixin, Base):
    """One measurable target of the plan, with its period (China dates, both ends inclusive)."""

    __tablename__ = "county_targets"

    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    section: Mapped[str] = mapped_column(String(20), nullable=False)  # the plan's section, e.g. 三(一)1
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    unit: Mapped[str] = mapped_column(String(10), nullable=False)
    planned: Mapped[int] = mapped_column(Integer, nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    # Exactly one of the two: computed from the platform's records, or counted from evidence.
    metric: Mapped[TargetMetric | None] = mapped_column(enum_column(TargetMetric, "county_target_metric"))
    evidence_kind: Mapped[EvidenceKind | None] = mapped_column(enum_column(EvidenceKind, "county_evidence_kind"))
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("planned >= 0", name="planned_not_negative"),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint("(metric IS NULL) <> (evidence_kind IS NULL)", name="one_source"),
    )

    @property
    def source(self) -> str:
        return "computed" if self.metric is not None else "evidence"

    @property
    def source_zh(self) -> str:
        if self.metric is not None:
            return self.metric.label_zh
        assert self.evidence_kind is not None  # the one_source constraint
        return f"证据记录：{self.evidence_kind.label_zh}"


class Evidence(IdMixin, Base):
    """Something the centre did, recorded as evidence: an event or training (place, participant
    count, photos), an enterprise guided online, a live-stream seller incubated, a film published.
    No personal data by design: participants are a count; a seller is named by the public account."""

    __tablename__ = "county_evidence"

    kind: Mapped[EvidenceKind] = mapped_column(enum_column(EvidenceKind, "county_evidence_kind"), nullable=False)
    happened_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    place: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    participants: Mapped[int | None] = mapped_column(Integer)
    link: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    photos: Mapped[list[EvidencePhoto]] = relationship(lazy="raise", order_by="EvidencePhoto.position")

    __table_args__ = (CheckConstraint("participants IS NULL OR participants >= 0", name="participants_not_negative"),)


class EvidencePhoto(IdMixin, Base):
    __tablename__ = "county_evidence_photos"

    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("county_evidence.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Relative to the uploads folder: county/evidence/{evidence_id}/{uuid}.{ext}
    path: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class AssetKind(StrEnum):
    printer = "printer"
    pda = "pda"

    @property
    def label_zh(self) -> str:
        return {"printer": "打单机", "pda": "PDA"}[self.value]


class Asset(IdMixin, Base):
    """A label printer or a PDA bought with the plan's funds and deployed at a station.

    A PDA may name the station device token (``api_tokens``, kind ``station_pda``) it was enrolled
    with; a token so named is counted through its asset, never on its own (see
    ``app.county.targets``)."""

    __tablename__ = "county_assets"

    kind: Mapped[AssetKind] = mapped_column(enum_column(AssetKind, "county_asset_kind"), nullable=False)
    serial: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, index=True)
    deployed_on: Mapped[date] = mapped_column(Date, nullable=False)
    retired_on: Mapped[date | None] = mapped_column(Date)
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), unique=True)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("retired_on IS NULL OR retired_on >= deployed_on", name="retired_after_deployed"),
        CheckConstraint("kind = 'pda' OR api_token_id IS NULL", name="token_only_for_pda"),
    )


class BudgetCategory(IdMixin, Base):
    """项目大类 of the plan's budget table; ``total_fen`` is its 合计 cell where the plan gives one
    for the whole category (None where the plan gives 合计 per line instead)."""

    __tablename__ = "county_budget_categories"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(50), nullable=False)
    total_fen: Mapped[int | None] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (CheckConstraint("total_fen IS NULL OR total_fen >= 0", name="total_not_negative"),)


class BudgetLine(IdMixin, Base):
    """One funded row of the budget table (rows the plan funds with one merged amount are one
    line, numbered ``1-2``): central funds and, where the plan gives it on the line, its 合计."""

    __tablename__ = "county_budget_lines"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("county_budget_categories.id"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(10), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")
    central_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_fen: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY", server_default="CNY")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    category: Mapped[BudgetCategory] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint("central_fen >= 0", name="central_not_negative"),
        CheckConstraint("total_fen IS NULL OR total_fen >= 0", name="total_not_negative"),
    )


class Spending(IdMixin, Base):
    """Money paid against a budget line (fen, CNY), with its voucher; corrected by editing, which
    records who and when."""

    __tablename__ = "county_spending"

    line_id: Mapped[int] = mapped_column(ForeignKey("county_budget_lines.id"), nullable=False, index=True)
    spent_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY", server_default="CNY")
    payee: Mapped[str] = mapped_column(String(100), nullable=False)
    voucher_number: Mapped[str] = mapped_column(String(40), nullable=False)
    # Relative to the uploads folder: county/spending/{uuid}.{ext} (a scan: image or PDF).
    attachment_path: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        UniqueConstraint("line_id", "voucher_number", name="uq_county_spending_line_voucher"),
    )
