from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column


class Role(StrEnum):
    customer = "customer"
    buyer = "buyer"
    clerk = "clerk"
    # Runs one or more brand stores (``store_managers``): a clerk's work plus a manager's PIN at
    # the till for what needs one (discounts beyond the limit, returns, cash out, shift variances).
    store_manager = "store_manager"
    station_operator = "station_operator"
    warehouse = "warehouse"
    admin = "admin"
    # The county's leading group and its office: read the centre's dashboard, targets, funds and
    # quarterly reports, change nothing, and never see a customer's name or phone.
    county_official = "county_official"
    # A live-stream seller (主播): reads only its own seller record's link, QR and statements.
    streamer = "streamer"

    @property
    def label_zh(self) -> str:
        return ROLE_LABELS_ZH[self]


ROLE_LABELS_ZH = {
    Role.customer: "顾客",
    Role.buyer: "批发采购商",
    Role.clerk: "门店店员",
    Role.store_manager: "门店店长",
    Role.station_operator: "村站站长",
    Role.warehouse: "仓库",
    Role.admin: "运营管理员",
    Role.county_official: "县级主管部门（只读）",
    Role.streamer: "带货主播",
}


class CompanyStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    suspended = "suspended"


class PaymentTerms(StrEnum):
    """How a wholesale company pays: before delivery, or on account within 15 / 30 days."""

    prepay = "prepay"
    net_15 = "net_15"
    net_30 = "net_30"

    @property
    def days(self) -> int:
        return {"prepay": 0, "net_15": 15, "net_30": 30}[self.value]

    @property
    def label_zh(self) -> str:
        return {"prepay": "预付款", "net_15": "月结 15 天", "net_30": "月结 30 天"}[self.value]

    @property
    def on_account(self) -> bool:
        return self is not PaymentTerms.prepay


class TokenKind(StrEnum):
    user = "user"
    station_pda = "station_pda"
    pos_till = "pos_till"
    # A buyer company's key for its purchasing system: scope ``wholesale``, bound to the company.
    company_api = "company_api"
    # A clerk (or store manager) signed in at an enrolled till with username + PIN: scope ``pos``,
    # bound to the till and riding on the till's own token (``device_token_id``), short-lived.
    pos_clerk = "pos_clerk"


class BuyerCompany(IdMixin, TimestampMixin, Base):
    """A Pearl River Delta wholesale buyer; its members order only once an admin approves it."""

    __tablename__ = "buyer_companies"

    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    city: Mapped[str] = mapped_column(String(50), nullable=False)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    status: Mapped[CompanyStatus] = mapped_column(
        enum_column(CompanyStatus, "company_status"), nullable=False, default=CompanyStatus.pending
    )
    payment_terms_days: Mapped[int] = mapped_column(nullable=False, default=30)
    # The terms the centre set at approval; ``payment_terms_days`` follows them (0 for prepay).
    payment_terms: Mapped[PaymentTerms] = mapped_column(
        enum_column(PaymentTerms, "payment_terms"), nullable=False, default=PaymentTerms.net_30
    )
    # ISO weekdays (1 = Monday … 7 = Sunday) the centre delivers to this company.
    delivery_weekdays: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), nullable=False, default=list, server_default=text("'{}'::smallint[]")
    )
    # Why the company was rejected or suspended (shown to the centre; the audit is company_events).
    status_reason: Mapped[str | None] = mapped_column(String(300))
    # What the centre needs to issue the company's fapiao (发票): title, tax number, address and
    # phone, bank and account — recorded here, the fapiao itself is issued outside the platform.
    fapiao_title: Mapped[str | None] = mapped_column(String(200))
    fapiao_tax_number: Mapped[str | None] = mapped_column(String(20))
    fapiao_address_phone: Mapped[str | None] = mapped_column(String(300))
    fapiao_bank_account: Mapped[str | None] = mapped_column(String(300))
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    # The first buyer account an application asks for. The user row is made only when an admin
    # approves the company (so applying never reveals whether a username exists); the password hash
    # is then cleared, and on rejection too.
    applicant_username: Mapped[str | None] = mapped_column(String(50))
    applicant_password_hash: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (CheckConstraint("credit_limit_minor >= 0", name="credit_limit_non_negative"),)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), nullable=False)
    display_name: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("buyer_companies.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The short PIN (4–6 digits) a clerk or store manager signs in with at a till (argon2 hash).
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    # The buyer who manages its company's colleagues and API keys (the applicant, once approved).
    is_company_owner: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")

    company: Mapped[BuyerCompany | None] = relationship(foreign_keys=[company_id], lazy="raise")

    __table_args__ = (
        # Who a user works for follows from the role, so object-level checks can rely on it.
        CheckConstraint("role <> 'buyer' OR company_id IS NOT NULL", name="buyer_has_company"),
        CheckConstraint("role <> 'station_operator' OR station_id IS NOT NULL", name="operator_has_station"),
        CheckConstraint("role <> 'clerk' OR store_id IS NOT NULL", name="clerk_has_store"),
        CheckConstraint("NOT is_company_owner OR role = 'buyer'", name="owner_is_buyer"),
    )


class ApiToken(IdMixin, Base):
    """A bearer token: only its SHA-256 is stored; revocable; scoped; devices get their own."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    kind: Mapped[TokenKind] = mapped_column(enum_column(TokenKind, "token_kind"), nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(30)), nullable=False)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    # A company API key acts for this company (``user_id`` is the owner who issued it).
    company_id: Mapped[int | None] = mapped_column(ForeignKey("buyer_companies.id"), index=True)
    # A till's token (``pos_till``) and a clerk's session at it (``pos_clerk``) name the till; a
    # till token's ``user_id`` is who enrolled it (as a company key records its issuer) — it acts
    # for the till, never for that person. A clerk session names the till token it rides on and
    # ends with it.
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"), index=True)
    device_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint("(kind = 'company_api') = (company_id IS NOT NULL)", name="company_key_has_company"),
        CheckConstraint(
            "kind <> 'pos_till' OR (till_id IS NOT NULL AND store_id IS NOT NULL)", name="till_token_has_till"
        ),
    )


class WebSession(IdMixin, Base):
    """A browser login: the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "web_sessions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise")


class LoginCode(IdMixin, TimestampMixin, Base):
    """A one-time code sent by SMS to sign a customer in by mobile number (``sms_login.py``).

    Only its HMAC is kept; it lasts a few minutes, is used once (``used_at`` set by compare-and-set)
    and a newer code for the same phone replaces it."""

    __tablename__ = "login_codes"

    phone: Mapped[str] = mapped_column(String(20), nullable=False)  # E.164
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_login_codes_phone_live", "phone", "created_at"),)


class DeviceEnrolment(IdMixin, Base):
    """A one-time code that turns a device into a station PDA (or a POS till).

    An admin — or the operator for its own station — creates it for one account at one station
    (or store); the device sends the code once to ``POST /api/v1/devices/enrol`` and gets a device
    token of that account, bound to that place. Only an HMAC of the code is stored (the code is
    short enough to type, so a bare hash of a leaked table could be searched). A code lives a few
    minutes, is taken by one compare-and-set (two devices sending it at once cannot both win) and
    a newer code for the same account and place cancels the older one."""

    __tablename__ = "device_enrolments"

    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    kind: Mapped[TokenKind] = mapped_column(enum_column(TokenKind, "token_kind"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")

    __table_args__ = (
        CheckConstraint("kind <> 'user'", name="device_kind"),
        CheckConstraint("kind <> 'station_pda' OR station_id IS NOT NULL", name="pda_has_station"),
        CheckConstraint("kind <> 'pos_till' OR store_id IS NOT NULL", name="till_has_store"),
        CheckConstraint("kind <> 'pos_till' OR till_id IS NOT NULL", name="till_enrolment_has_till"),
    )


class AccountErasure(IdMixin, Base):
    """A customer account deleted (注销) and its personal data anonymised: who asked and when, and
    how many orders and notices were rewritten. The audit of the erasure — the user row itself no
    longer says whose it was — and what makes a second request a no-op. No name or number here."""

    __tablename__ = "account_erasures"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)
    # Who asked: the customer, signed in (a future admin-made erasure would name the admin).
    actor_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    orders_anonymised: Mapped[int] = mapped_column(nullable=False)
    messages_anonymised: Mapped[int] = mapped_column(nullable=False)
