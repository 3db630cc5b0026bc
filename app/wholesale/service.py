"""Wholesale companies: application, the centre's decisions and terms, who may order, a company's
colleagues (invitations) and its API keys. Services only flush; the request commits.

A company's price list is the catalog's: its own ``company`` list when that list is active (what
``app.catalog.pricing`` already reads first), else the wholesale list. Choosing "wholesale list"
for a company deactivates its own list (its prices are kept for a later change of mind).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors as accounts_errors
from app.accounts import repository as accounts_repository
from app.accounts import service as accounts_service
from app.accounts import users as accounts_users
from app.accounts.access import Principal
from app.accounts.models import ApiToken, BuyerCompany, CompanyStatus, PaymentTerms, Role, User
from app.accounts.security import new_token, token_hash
from app.catalog.models import PriceList, PriceListKind
from app.config import get_settings
from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.phones import normalise_cn_phone
from app.notifications.service import notify
from app.wholesale import errors, repository
from app.wholesale.document_data import Party
from app.wholesale.models import CompanyAction, CompanyEvent, CompanyInvitation, DeliveryAddress

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,50}$")
HOURS = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")
WEEKDAYS_ZH = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
INVITE_PREFIX = "npi"


def prd_cities() -> list[str]:
    """The cities the trucks reach (``WHOLESALE_CITIES``)."""
    return get_settings().wholesale_city_list


def weekdays_zh(days: Sequence[int]) -> str:
    return "、".join(WEEKDAYS_ZH[d] for d in sorted(days) if d in WEEKDAYS_ZH) or "未设置"


async def _record(
    session: AsyncSession, company_id: int, action: CompanyAction, actor_id: int | None, **detail: Any
) -> None:
    session.add(CompanyEvent(company_id=company_id, action=action.value, actor_id=actor_id, detail=detail))
    await session.flush()


# ---- application ----------------------------------------------------------------------------------


@dataclass
class AddressInput:
    city: str = ""
    address: str = ""
    receiving_from: str = ""
    receiving_until: str = ""
    contact_name: str = ""
    contact_phone: str = ""

    def is_blank(self) -> bool:
        return not any(vars(self).values())


@dataclass
class ApplicationInput:
    """What an applicant typed, as typed: :func:`apply` checks every field and names each problem."""

    name: str = ""
    credit_code: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    username: str = ""
    password: str = ""
    addresses: list[AddressInput] = field(default_factory=list)


@dataclass(frozen=True)
class CheckedAddress:
    city: str
    address: str
    receiving_from: time
    receiving_until: time
    contact_name: str
    contact_phone: str


def check_credit_code(raw: str) -> str:
    """A 统一社会信用代码 as printed on the business licence → its 18 characters, or ValueError
    with what is wrong (python-stdnum knows the check character)."""
    from stdnum.cn import uscc  # on first use: python-stdnum imports pydoc and its whole tree (issue 15's memory)
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

    code = uscc.compact(raw).upper() if raw else ""
    if not code:
        raise ValueError("请填写营业执照上的 18 位统一社会信用代码")
    try:
        return str(uscc.validate(code))
    except InvalidLength as exc:
        raise ValueError(f"应为 18 位（现在是 {len(code)} 位）") from exc
    except (InvalidFormat, InvalidComponent) as exc:
        raise ValueError("含有不允许的字符或登记机关代码不正确（代码中没有 I、O、S、V、Z）") from exc
    except InvalidChecksum as exc:
        raise ValueError("校验位不正确，请对照营业执照逐位核对") from exc
    except ValidationError as exc:  # any other refusal of the library
        raise ValueError("格式不正确") from exc


def _hours(raw: str) -> time | None:
    matched = HOURS.match(raw.strip())
    return time(int(matched.group(1)), int(matched.group(2))) if matched else None


def _phone(raw: str) -> str:
    if not raw.strip():
        raise ValueError("请填写")
    return normalise_cn_phone(raw)


def check_address(entry: AddressInput, prefix: str, problems: dict[str, str]) -> CheckedAddress | None:
    """One delivery address; its problems go into ``problems`` under ``{prefix}{field}``."""
    cities = prd_cities()
    before = len(problems)
    if entry.city not in cities:
        problems[f"{prefix}city"] = f"请选择珠三角城市：{'、'.join(cities)}"
    address = " ".join(entry.address.split())
    if not 4 <= len(address) <= 300:
        problems[f"{prefix}address"] = "请填写详细地址（区、街道、门牌），4–300 字"
    start, end = _hours(entry.receiving_from), _hours(entry.receiving_until)
    if start is None:
        problems[f"{prefix}receiving_from"] = "请填写开始收货时间，如 06:00"
    if end is None:
        problems[f"{prefix}receiving_until"] = "请填写结束收货时间，如 10:00"
    elif start is not None and end <= start:
        problems[f"{prefix}receiving_until"] = "结束时间应晚于开始时间"
    contact = entry.contact_name.strip()
    if not 1 <= len(contact) <= 50:
        problems[f"{prefix}contact_name"] = "请填写收货联系人"
    try:
        phone = _phone(entry.contact_phone)
    except ValueError as exc:
        problems[f"{prefix}contact_phone"] = f"收货联系电话：{exc}"
        phone = ""
    if len(problems) > before or start is None or end is None:
        return None
    return CheckedAddress(entry.city, address, start, end, contact, phone)


async def apply(session: AsyncSession, application: ApplicationInput) -> BuyerCompany:
    """A PRD wholesaler applies: company, credit code, contact, the first buyer account and one or
    more delivery addresses in PRD cities. Every problem is named at once
    (:class:`~app.wholesale.errors.ApplicationInvalid`, ``detail["fields"]``); nothing is kept then.
    The account opens at approval (see ``accounts.service.register_buyer_company``)."""
    problems: dict[str, str] = {}
    name = " ".join(application.name.split())
    if not 2 <= len(name) <= 200:
        problems["name"] = "请填写营业执照上的企业名称（2–200 字）"
    credit_code = ""
    try:
        credit_code = check_credit_code(application.credit_code)
    except ValueError as exc:
        problems["credit_code"] = f"统一社会信用代码{exc}" if not str(exc).startswith("请") else str(exc)
    contact_name = application.contact_name.strip()
    if not 1 <= len(contact_name) <= 50:
        problems["contact_name"] = "请填写联系人姓名"
    try:
        contact_phone = _phone(application.contact_phone)
    except ValueError as exc:
        problems["contact_phone"] = f"联系人手机：{exc}"
        contact_phone = ""
    username = application.username.strip()
    if not USERNAME.match(username):
        problems["username"] = "用户名为 2–50 位字母、数字或 _ . -"
    if len(application.password) < 8:
        problems["password"] = "密码至少 8 位"  # noqa: S105 - a message, not a password
    elif len(application.password) > 200:
        problems["password"] = "密码最多 200 位"  # noqa: S105 - a message, not a password
    entries = [a for a in application.addresses if not a.is_blank()]
    if not entries:
        problems["addresses.0.city"] = "请至少填写一个收货地址"
    checked = [
        check_address(a, f"addresses.{i}.", problems) for i, a in enumerate(application.addresses) if not a.is_blank()
    ]
    if problems:
        raise errors.ApplicationInvalid(detail={"fields": problems})
    addresses = [a for a in checked if a is not None]
    first = addresses[0]
    company = await accounts_service.register_buyer_company(
        session,
        name=name,
        city=first.city,
        contact_name=contact_name,
        contact_phone=contact_phone,
        username=username,
        password=application.password,
        address=first.address,
        credit_code=credit_code,
    )
    for a in addresses:
        session.add(DeliveryAddress(company_id=company.id, **vars(a)))
    await _record(session, company.id, CompanyAction.applied, None, username=username)
    return company


# ---- the centre's decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What the centre agrees with a company. ``company_prices``: its own price list, else the
    wholesale list. Prepay companies have no credit limit."""

    payment_terms: PaymentTerms
    credit_limit_minor: int
    delivery_weekdays: tuple[int, ...]
    company_prices: bool
    fapiao_title: str = ""
    fapiao_tax_number: str = ""
    fapiao_address_phone: str = ""
    fapiao_bank_account: str = ""


def check_terms(terms: Terms) -> Terms:
    problems: dict[str, str] = {}
    if terms.credit_limit_minor < 0:
        problems["credit_limit"] = "信用额度不能为负数"
    if terms.payment_terms.on_account and terms.credit_limit_minor <= 0:
        problems["credit_limit"] = "月结企业需要设置信用额度（元）"
    days = tuple(sorted(set(terms.delivery_weekdays)))
    if not days or any(d not in WEEKDAYS_ZH for d in days):
        problems["delivery_weekdays"] = "请至少选择一个送货日"
    tax = terms.fapiao_tax_number.strip().upper()
    if tax and not re.fullmatch(r"[0-9A-Z]{15,20}", tax):
        problems["fapiao_tax_number"] = "纳税人识别号应为 15–20 位数字或大写字母"
    if problems:
        raise errors.TermsInvalid(detail={"fields": problems})
    limit = terms.credit_limit_minor if terms.payment_terms.on_account else 0
    return Terms(
        terms.payment_terms,
        limit,
        days,
        terms.company_prices,
        terms.fapiao_title.strip()[:200],
        tax,
        terms.fapiao_address_phone.strip()[:300],
        terms.fapiao_bank_account.strip()[:300],
    )


async def _company(session: AsyncSession, company_id: int) -> BuyerCompany:
    company = await repository.company_for_update(session, company_id)
    if company is None:
        raise accounts_errors.CompanyNotFound()
    return company


async def _use_price_list(session: AsyncSession, company: BuyerCompany, own: bool) -> None:
    existing = await repository.company_price_list(session, company.id)
    if existing is None and own:
        code = f"COMPANY-{company.id}"
        while await repository.price_list_code_taken(session, code):
            code = f"COMPANY-{company.id}-{secrets.token_hex(2).upper()}"
        session.add(
            PriceList(
                code=code,
                name=f"{company.name[:90]}协议价",
                kind=PriceListKind.company,
                company_id=company.id,
                currency=company.currency,
            )
        )
    elif existing is not None:
        existing.is_active = own


async def price_list_of(session: AsyncSession, company_id: int) -> PriceList | None:
    """The company's own list when it prices by it (active), else None: the wholesale list."""
    own = await repository.company_price_list(session, company_id)
    return own if own is not None and own.is_active else None


async def set_terms(session: AsyncSession, actor: Principal, company_id: int, terms: Terms) -> BuyerCompany:
    """Set (or change) a company's terms; recorded in its audit trail."""
    terms = check_terms(terms)
    company = await _company(session, company_id)
    company.payment_terms = terms.payment_terms
    company.payment_terms_days = terms.payment_terms.days
    company.credit_limit_minor = terms.credit_limit_minor
    company.delivery_weekdays = list(terms.delivery_weekdays)
    company.fapiao_title = terms.fapiao_title or None
    company.fapiao_tax_number = terms.fapiao_tax_number or None
    company.fapiao_address_phone = terms.fapiao_address_phone or None
    company.fapiao_bank_account = terms.fapiao_bank_account or None
    await _use_price_list(session, company, terms.company_prices)
    await _record(
        session,
        company.id,
        CompanyAction.terms_set,
        actor.user_id,
        payment_terms=terms.payment_terms.value,
        credit_limit_minor=terms.credit_limit_minor,
        delivery_weekdays=list(terms.delivery_weekdays),
        price_list="company" if terms.company_prices else "wholesale",
    )
    return company


async def approve(
    session: AsyncSession, actor: Principal, company_id: int, *, terms: Terms | None, username: str | None = None
) -> BuyerCompany:
    """Approve a pending application, with its terms when given (else the ones it has); the
    applicant's account opens as the company's owner (``accounts.service.decide_company``)."""
    company = await _company(session, company_id)
    if company.status is not CompanyStatus.pending:
        raise accounts_errors.CompanyStatusConflict()
    if terms is not None:
        await set_terms(session, actor, company_id, terms)
    company = await accounts_service.decide_company(session, actor, company_id, approve=True, username=username)
    company.status_reason = None
    await _record(session, company.id, CompanyAction.approved, actor.user_id, username=company.applicant_username)
    return company


def _reason(raw: str) -> str:
    reason = " ".join(raw.split())
    if not 1 <= len(reason) <= 300:
        raise errors.ReasonRequired()
    return reason


async def reject(session: AsyncSession, actor: Principal, company_id: int, reason: str | None) -> BuyerCompany:
    """Reject a pending application. The console always asks for the reason; the API may leave it
    out (``None``: the record says no reason was given)."""
    reason = _reason(reason) if reason is not None else None
    company = await accounts_service.decide_company(session, actor, company_id, approve=False)
    company.status_reason = reason
    await _record(session, company.id, CompanyAction.rejected, actor.user_id, reason=reason)
    return company


async def _change_status(
    session: AsyncSession, actor: Principal, company_id: int, *, expected: CompanyStatus, new: CompanyStatus
) -> BuyerCompany:
    company = await _company(session, company_id)
    won = await accounts_repository.set_company_status(
        session, company_id, expected=[expected], new=new, approved_by_id=actor.user_id, now=clock.now()
    )
    if not won:
        raise accounts_errors.CompanyStatusConflict()
    await session.refresh(company)
    return company


async def suspend(session: AsyncSession, actor: Principal, company_id: int, reason: str) -> BuyerCompany:
    """An approved company stops ordering at once (its buyers' next request sees it); its users and
    keys are kept for when it is reinstated."""
    reason = _reason(reason)
    company = await _change_status(
        session, actor, company_id, expected=CompanyStatus.approved, new=CompanyStatus.suspended
    )
    company.status_reason = reason
    await _record(session, company.id, CompanyAction.suspended, actor.user_id, reason=reason)
    return company


async def reinstate(session: AsyncSession, actor: Principal, company_id: int) -> BuyerCompany:
    company = await _change_status(
        session, actor, company_id, expected=CompanyStatus.suspended, new=CompanyStatus.approved
    )
    company.status_reason = None
    await _record(session, company.id, CompanyAction.reinstated, actor.user_id)
    return company


async def ordering_company(session: AsyncSession, principal: Principal) -> BuyerCompany:
    """The company a buyer (or its API key) orders for: refused with 403 ``company_not_approved``
    (pending, rejected) or ``company_suspended``. Ordering code calls this inside the order's
    transaction, which read the company with the caller's token or session a moment ago (not read
    again: a round trip per order); an on-account order's credit check reads it again under its
    lock, so a suspension decided meanwhile still counts there."""
    if principal.role is not Role.buyer or principal.company_id is None:
        raise errors.CompanyNotApproved()
    company = await repository.company_of_request(session, principal.company_id)
    if company is None:
        raise errors.CompanyNotApproved()
    ensure_may_order(company)
    return company


def ensure_may_order(company: BuyerCompany) -> None:
    """403 ``company_suspended`` or ``company_not_approved`` unless the company is approved."""
    if company.status is CompanyStatus.suspended:
        raise errors.CompanySuspended()
    if company.status is not CompanyStatus.approved:
        raise errors.CompanyNotApproved()


@dataclass(frozen=True)
class CompanyProfile:
    company: BuyerCompany
    addresses: Sequence[DeliveryAddress]
    price_list: PriceList | None


async def profile(session: AsyncSession, company_id: int) -> CompanyProfile:
    company = await repository.company(session, company_id)
    if company is None:
        raise accounts_errors.CompanyNotFound()
    return CompanyProfile(
        company, await repository.delivery_addresses(session, company_id), await price_list_of(session, company_id)
    )


def buyer_party(company: BuyerCompany) -> Party:
    """The company's block on wholesale documents, from its fapiao details: the title (else its
    name), the tax number (else the credit code, which is the tax number of a company registered
    since 2015), and the fapiao's two free lines as recorded (地址、电话 / 开户行及账号)."""
    return Party(
        name=company.fapiao_title or company.name,
        tax_id=company.fapiao_tax_number or company.credit_code or "",
        address=company.fapiao_address_phone or "",
        bank_name=company.fapiao_bank_account or "",
        contact=f"{company.contact_name} {company.contact_phone}",
    )


async def events(session: AsyncSession, company_id: int) -> Sequence[tuple[CompanyEvent, str | None]]:
    return await repository.events(session, company_id)


async def list_companies(session: AsyncSession, status: CompanyStatus | None = None) -> Sequence[BuyerCompany]:
    return await repository.list_companies(session, status=status)


# ---- colleagues ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Team:
    members: Sequence[User]
    invitations: Sequence[CompanyInvitation]
    keys: Sequence[ApiToken]


def _own_company(owner: Principal) -> int:
    if owner.company_id is None or not owner.company_owner:
        raise accounts_errors.CompanyOwnerOnly()
    return owner.company_id


async def team(session: AsyncSession, owner: Principal) -> Team:
    company_id = _own_company(owner)
    return Team(
        await repository.members(session, company_id),
        await repository.open_invitations(session, company_id, clock.now()),
        await repository.company_keys(session, company_id),
    )


@dataclass(frozen=True)
class SentInvitation:
    invitation: CompanyInvitation
    link: str  # sent by SMS only; the page shows that it went, not the link


async def invite(session: AsyncSession, owner: Principal, *, name: str, phone: str) -> SentInvitation:
    """A one-time link (random token, only its SHA-256 kept) sent by SMS to a colleague."""
    company_id = _own_company(owner)
    name = name.strip()
    if not 1 <= len(name) <= 50:
        raise InvalidInput("同事姓名：请填写（最多 50 字）")
    try:
        phone = normalise_cn_phone(phone)
    except ValueError as exc:
        raise InvalidInput(f"同事手机：{exc}") from exc
    company = await repository.company(session, company_id)
    assert company is not None  # the principal's own company
    settings = get_settings()
    raw = new_token(INVITE_PREFIX)
    days = settings.wholesale_invitation_ttl_days
    invitation = CompanyInvitation(
        company_id=company_id,
        token_hash=token_hash(raw),
        name=name,
        phone=phone,
        invited_by_id=owner.user_id,
        expires_at=clock.now() + timedelta(days=days),
    )
    session.add(invitation)
    await session.flush()
    link = f"{settings.public_base_url.rstrip('/')}/wholesale/join?t={raw}"
    await notify(
        session,
        template="buyer_invitation",
        recipient=phone,
        params={"company": company.name[:60], "inviter": owner.display_name[:60], "days": days, "invite_url": link},
        reference=f"company:{company_id}",
    )
    await _record(session, company_id, CompanyAction.colleague_invited, owner.user_id, name=name)
    return SentInvitation(invitation, link)


async def cancel_invitation(session: AsyncSession, owner: Principal, invitation_id: int) -> None:
    if not await repository.cancel_invitation(session, _own_company(owner), invitation_id, clock.now()):
        raise errors.InvitationNotFound()


@dataclass(frozen=True)
class OpenInvitation:
    invitation: CompanyInvitation
    company: BuyerCompany


async def open_invitation(session: AsyncSession, raw: str) -> OpenInvitation:
    """The invitation behind a link: 404 unknown, 409 used, 410 expired or cancelled."""
    invitation = await repository.invitation_by_hash(session, token_hash(raw.strip())) if raw else None
    if invitation is None:
        raise errors.InvitationInvalid()
    if invitation.accepted_at is not None:
        raise errors.InvitationUsed()
    if invitation.cancelled_at is not None or invitation.expires_at <= clock.now():
        raise errors.InvitationExpired()
    company = await repository.company(session, invitation.company_id)
    assert company is not None
    return OpenInvitation(invitation, company)


async def accept_invitation(session: AsyncSession, raw: str, *, username: str, password: str) -> User:
    """The colleague sets a username and password and becomes a buyer of the inviting company."""
    opened = await open_invitation(session, raw)
    invitation = opened.invitation
    username = username.strip()
    if not USERNAME.match(username):
        raise InvalidInput("用户名为 2–50 位字母、数字或 _ . -")
    accounts_service.check_password(password)
    if not await repository.take_invitation(session, invitation.id, clock.now()):
        raise errors.InvitationUsed()
    user = await accounts_service.create_user(
        session,
        username=username,
        password=password,
        role=Role.buyer,
        display_name=invitation.name,
        phone=invitation.phone,
        company_id=invitation.company_id,
    )
    invitation.user_id = user.id
    await _record(session, invitation.company_id, CompanyAction.colleague_joined, user.id, username=username)
    return user


async def deactivate_colleague(session: AsyncSession, owner: Principal, user_id: int) -> User:
    """The owner stops a colleague's account (its sessions and personal tokens end at once). A user
    of another company is a 404, as if it did not exist."""
    company_id = _own_company(owner)
    colleague = await repository.member(session, company_id, user_id)
    if colleague is None:
        raise errors.ColleagueNotFound()
    if colleague.is_company_owner:
        raise errors.CannotDeactivateOwner()
    user = await accounts_users.set_active(session, owner, user_id, active=False)
    await _record(session, company_id, CompanyAction.colleague_deactivated, owner.user_id, username=user.username)
    return user


# ---- API keys ---------------------------------------------------------------------------------------


async def issue_key(session: AsyncSession, owner: Principal, label: str) -> accounts_service.IssuedToken:
    company_id = _own_company(owner)
    label = label.strip()
    if not 1 <= len(label) <= 100:
        raise InvalidInput("密钥名称：请填写（如 采购系统），最多 100 字")
    user = await accounts_repository.user_by_id(session, owner.user_id)
    assert user is not None
    issued = await accounts_service.issue_company_key(session, user, label)
    await _record(session, company_id, CompanyAction.api_key_issued, owner.user_id, prefix=issued.record.prefix)
    return issued


async def revoke_key(session: AsyncSession, owner: Principal, token_id: int) -> ApiToken:
    """Revoke one of the company's keys; another company's key is a 404."""
    company_id = _own_company(owner)
    key = await repository.company_key(session, company_id, token_id)
    if key is None:
        raise errors.ApiKeyNotFound()
    if key.revoked_at is None:
        await accounts_repository.revoke_token(session, key.id, clock.now())
        await _record(session, company_id, CompanyAction.api_key_revoked, owner.user_id, prefix=key.prefix)
        await session.refresh(key)
    return key


def key_is_live(key: ApiToken, now: datetime) -> bool:
    return key.revoked_at is None and key.expires_at > now
