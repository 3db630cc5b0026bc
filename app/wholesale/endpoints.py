"""Wholesale JSON API, company side: the company's profile (the first route a company API key can
call) and the owner's API keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.accounts import schemas as accounts_schemas
from app.accounts.access import AdminUser, BuyerUser, CompanyOwnerUser
from app.db import DbSession
from app.wholesale import schemas, service

router = APIRouter(prefix="/api/v1/wholesale", tags=["wholesale"])


def _profile_fields(profile: service.CompanyProfile) -> dict[str, object]:
    c = profile.company
    return dict(
        id=c.id,
        name=c.name,
        credit_code=c.credit_code,
        status=c.status,
        contact_name=c.contact_name,
        contact_phone=c.contact_phone,
        payment_terms=c.payment_terms,
        payment_terms_days=c.payment_terms_days,
        credit_limit_minor=c.credit_limit_minor,
        currency=c.currency,
        price_list="company" if profile.price_list is not None else "wholesale",
        delivery_weekdays=sorted(c.delivery_weekdays),
        delivery_addresses=[schemas.DeliveryAddressOut.model_validate(a) for a in profile.addresses],
        fapiao_title=c.fapiao_title,
        fapiao_tax_number=c.fapiao_tax_number,
    )


def profile_out(profile: service.CompanyProfile) -> schemas.CompanyProfileOut:
    return schemas.CompanyProfileOut.model_validate(_profile_fields(profile))


@router.get(
    "/company",
    response_model=schemas.CompanyProfileOut,
    responses={401: {"description": "token_invalid"}, 403: {"description": "company_not_approved / scope_missing"}},
)
async def my_company(session: DbSession, principal: BuyerUser) -> schemas.CompanyProfileOut:
    """The caller's company: terms, credit limit, price list, delivery days and addresses. A buyer
    or the company's API key (scope ``wholesale``) sees its own company only."""
    assert principal.company_id is not None  # the BUYER rule wants an approved company
    return profile_out(await service.profile(session, principal.company_id))


@router.get("/keys", response_model=list[schemas.ApiKeyOut], responses={403: {"description": "company_owner_only"}})
async def list_keys(session: DbSession, owner: CompanyOwnerUser) -> list[schemas.ApiKeyOut]:
    """The company's API keys with their last use (the owner, signed in as a person)."""
    team = await service.team(session, owner)
    return [schemas.ApiKeyOut.model_validate(k) for k in team.keys]


@router.post(
    "/keys",
    response_model=schemas.ApiKeyIssuedOut,
    status_code=status.HTTP_201_CREATED,
    responses={403: {"description": "company_owner_only"}},
)
async def issue_key(body: schemas.ApiKeyIn, session: DbSession, owner: CompanyOwnerUser) -> schemas.ApiKeyIssuedOut:
    """A key for the company's purchasing system (scope ``wholesale``), returned this once."""
    issued = await service.issue_key(session, owner, body.label)
    return schemas.ApiKeyIssuedOut(key=schemas.ApiKeyOut.model_validate(issued.record), access_token=issued.token)


@router.post(
    "/keys/{key_id}/revoke",
    response_model=schemas.ApiKeyOut,
    responses={
        404: {"description": "api_key_not_found（含其他企业的密钥）"},
        403: {"description": "company_owner_only"},
    },
)
async def revoke_key(key_id: int, session: DbSession, owner: CompanyOwnerUser) -> schemas.ApiKeyOut:
    return schemas.ApiKeyOut.model_validate(await service.revoke_key(session, owner, key_id))


admin = APIRouter(prefix="/api/v1/admin/companies", tags=["wholesale admin"])
COMPANY_ERRORS: dict[int | str, dict[str, object]] = {404: {"description": "company_not_found"}}


async def _admin_out(session: DbSession, company_id: int) -> schemas.AdminCompanyOut:
    profile = await service.profile(session, company_id)
    events = [
        schemas.CompanyEventOut(action=e.action, actor=who, detail=e.detail, created_at=e.created_at)
        for e, who in await service.events(session, company_id)
    ]
    return schemas.AdminCompanyOut.model_validate(
        {**_profile_fields(profile), "status_reason": profile.company.status_reason, "events": events}
    )


@admin.post(
    "/{company_id}/approve",
    response_model=accounts_schemas.CompanyOut,
    responses={
        **COMPANY_ERRORS,
        409: {"description": "company_status_conflict / applicant_username_taken（请在 username 中另设用户名）"},
    },
)
async def approve_company(
    company_id: int,
    session: DbSession,
    principal: AdminUser,
    body: accounts_schemas.CompanyApprovalIn | None = None,
) -> accounts_schemas.CompanyOut:
    """Approve a pending buyer company with the terms it has (set them with ``…/terms``); its
    applicant's account opens as the company's owner (``username`` overrides the one applied for
    when that one is taken). A suspended company comes back with ``…/reinstate``."""
    company = await service.approve(
        session, principal, company_id, terms=None, username=body.username if body else None
    )
    return accounts_schemas.CompanyOut.model_validate(company)


@admin.post(
    "/{company_id}/reject",
    response_model=accounts_schemas.CompanyOut,
    responses={**COMPANY_ERRORS, 409: {"description": "company_status_conflict"}},
)
async def reject_company(
    company_id: int, session: DbSession, principal: AdminUser, body: schemas.ReasonIn | None = None
) -> accounts_schemas.CompanyOut:
    """Reject a pending application, with the reason when given (kept in the company's record)."""
    company = await service.reject(session, principal, company_id, body.reason if body else None)
    return accounts_schemas.CompanyOut.model_validate(company)


@admin.get("/{company_id}", response_model=schemas.AdminCompanyOut, responses=COMPANY_ERRORS)
async def company_detail(company_id: int, session: DbSession, _: AdminUser) -> schemas.AdminCompanyOut:
    """A company with its addresses, terms and the record of who decided what, when."""
    return await _admin_out(session, company_id)


@admin.post(
    "/{company_id}/terms",
    response_model=schemas.AdminCompanyOut,
    responses={**COMPANY_ERRORS, 422: {"description": "terms_invalid（detail.fields）"}},
)
async def set_terms(
    company_id: int, body: schemas.TermsIn, session: DbSession, principal: AdminUser
) -> schemas.AdminCompanyOut:
    """Payment terms (prepay, net 15, net 30 with a credit limit), price list, delivery days, fapiao details."""
    terms = service.Terms(
        payment_terms=body.payment_terms,
        credit_limit_minor=body.credit_limit_minor,
        delivery_weekdays=tuple(body.delivery_weekdays),
        company_prices=body.price_list == "company",
        fapiao_title=body.fapiao_title,
        fapiao_tax_number=body.fapiao_tax_number,
        fapiao_address_phone=body.fapiao_address_phone,
        fapiao_bank_account=body.fapiao_bank_account,
    )
    await service.set_terms(session, principal, company_id, terms)
    return await _admin_out(session, company_id)


@admin.post(
    "/{company_id}/suspend",
    response_model=schemas.AdminCompanyOut,
    responses={**COMPANY_ERRORS, 409: {"description": "company_status_conflict"}},
)
async def suspend(
    company_id: int, body: schemas.ReasonIn, session: DbSession, principal: AdminUser
) -> schemas.AdminCompanyOut:
    """An approved company stops ordering at once (403 ``company_suspended`` for its buyers and keys)."""
    await service.suspend(session, principal, company_id, body.reason)
    return await _admin_out(session, company_id)


@admin.post(
    "/{company_id}/reinstate",
    response_model=schemas.AdminCompanyOut,
    responses={**COMPANY_ERRORS, 409: {"description": "company_status_conflict"}},
)
async def reinstate(company_id: int, session: DbSession, principal: AdminUser) -> schemas.AdminCompanyOut:
    await service.reinstate(session, principal, company_id)
    return await _admin_out(session, company_id)
