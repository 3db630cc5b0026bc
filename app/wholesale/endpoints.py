"""Wholesale JSON API, company side: the company's profile (the first route a company API key can
call) and the owner's API keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.accounts.access import BuyerUser, CompanyOwnerUser
from app.db import DbSession
from app.wholesale import schemas, service

router = APIRouter(prefix="/api/v1/wholesale", tags=["wholesale"])


def profile_out(profile: service.CompanyProfile) -> schemas.CompanyProfileOut:
    c = profile.company
    return schemas.CompanyProfileOut(
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
