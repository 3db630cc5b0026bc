"""Accounts JSON API: tokens, the caller, users, devices and buyer companies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.accounts import devices, errors, repository, schemas, service, sms_login, users
from app.accounts.access import AdminUser, AnyUser, PublicAccess, Role
from app.accounts.models import CompanyStatus
from app.accounts.ratelimit import ApplicationLimiter, EnrolmentLimiter
from app.db import DbSession
from app.kit.errors import InvalidInput
from app.kit.http import client_address
from app.kit.phones import mask_phone

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def client_ip(request: Request) -> str:
    return client_address(request)


@router.post(
    "/auth/token",
    response_model=schemas.TokenOut,
    dependencies=[PublicAccess],
    responses={401: {"description": "invalid_credentials"}, 429: {"description": "login_rate_limited"}},
)
async def issue_token(
    request: Request,
    session: DbSession,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> schemas.TokenOut:
    """OAuth2 password grant. Failed attempts are limited per username and per address."""
    user = await service.authenticate(
        session,
        request.app.state.login_limiter,
        username=form.username,
        password=form.password,
        client_ip=client_ip(request),
    )
    issued = await service.issue_user_token(session, user, form.scopes or None)
    return schemas.TokenOut(
        access_token=issued.token, expires_at=issued.record.expires_at, scope=" ".join(issued.record.scopes)
    )


@router.post(
    "/auth/sms/code",
    response_model=schemas.SmsCodeOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[PublicAccess],
    responses={422: {"description": "not_a_mainland_mobile"}, 429: {"description": "sms_code_rate_limited"}},
)
async def send_sms_code(body: schemas.SmsCodeIn, request: Request, session: DbSession) -> schemas.SmsCodeOut:
    """Send a one-time sign-in code to a mainland mobile number (a customer's first sign-in creates
    the account). The answer is the same whether the number has an account or not."""
    sent = await sms_login.send_code(
        session, request.app.state.sms_login_limiter, phone=body.phone, client_ip=client_ip(request)
    )
    return schemas.SmsCodeOut(
        phone_masked=mask_phone(sent.phone),
        ttl_minutes=sent.ttl_minutes,
        resend_after_seconds=int(sms_login.RESEND_INTERVAL.total_seconds()),
    )


@router.post(
    "/auth/sms/token",
    response_model=schemas.TokenOut,
    dependencies=[PublicAccess],
    responses={
        422: {"description": "sms_code_invalid / sms_code_expired / not_a_mainland_mobile"},
        429: {"description": "sms_code_rate_limited"},
    },
)
async def sms_token(body: schemas.SmsSignInIn, request: Request, session: DbSession) -> schemas.TokenOut:
    """Exchange the SMS code for a customer's bearer token (scope ``shop``)."""
    user = await sms_login.sign_in_with_code(
        session, request.app.state.sms_login_limiter, phone=body.phone, code=body.code, client_ip=client_ip(request)
    )
    issued = await service.issue_user_token(session, user)
    return schemas.TokenOut(
        access_token=issued.token, expires_at=issued.record.expires_at, scope=" ".join(issued.record.scopes)
    )


@router.get("/auth/me", response_model=schemas.MeOut)
async def me(principal: AnyUser) -> schemas.MeOut:
    return schemas.MeOut(
        user_id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role,
        role_label_zh=principal.role.label_zh,
        scopes=sorted(principal.scopes),
        company_id=principal.company_id,
        company_approved=principal.company_approved,
        station_id=principal.station_id,
        store_id=principal.store_id,
    )


@router.post("/auth/revoke", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_current_token(session: DbSession, principal: AnyUser) -> None:
    """Revoke the bearer token this request was made with (sign out of an API client)."""
    if principal.token_id is not None:
        await service.revoke_token(session, principal, principal.token_id)


@router.post(
    "/wholesale/applications",
    response_model=schemas.CompanyOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[PublicAccess],
    responses={
        409: {"description": "company_name_taken / credit_code_taken"},
        429: {"description": "application_rate_limited"},
    },
)
async def apply_as_buyer(
    body: schemas.CompanyApplicationIn, request: Request, session: DbSession
) -> schemas.CompanyOut:
    """A PRD wholesaler applies with its company and the username and password of its first buyer
    account. The account opens when an admin approves the company (an SMS to the contact phone
    names the username); until then nobody signs in with it, and the answer does not depend on
    whether the username is free. Applications are limited per client address
    (``WHOLESALE_APPLICATION_RATE_LIMIT``)."""
    limiter: ApplicationLimiter = request.app.state.application_limiter
    if not await limiter.attempt(client_ip(request)):
        raise errors.ApplicationRateLimited()
    company = await service.register_buyer_company(
        session,
        name=body.name,
        city=body.city,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        address=body.address,
        credit_code=body.credit_code,
        username=body.username,
        password=body.password,
    )
    return schemas.CompanyOut.model_validate(company)


@router.post(
    "/devices/enrol",
    response_model=schemas.DeviceEnrolledOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[PublicAccess],
    responses={
        409: {"description": "enrolment_code_used"},
        410: {"description": "enrolment_code_expired（已过期或已作废）"},
        422: {"description": "enrolment_code_invalid / affiliation_missing / user_disabled"},
        429: {"description": "enrolment_rate_limited"},
    },
)
async def enrol_device(body: schemas.DeviceEnrolIn, request: Request, session: DbSession) -> schemas.DeviceEnrolledOut:
    """A PDA (or till) trades the one-time code shown in the console for its device token, once.
    Attempts are counted per client address before the code is looked at
    (``DEVICE_ENROL_RATE_LIMIT``)."""
    limiter: EnrolmentLimiter = request.app.state.enrolment_limiter
    issued = await devices.redeem(session, limiter, code=body.code, label=body.label, client_ip=client_ip(request))
    record = issued.record
    owner = await repository.user_by_id(session, record.user_id)
    assert owner is not None
    return schemas.DeviceEnrolledOut(
        access_token=issued.token,
        kind=record.kind,
        scopes=record.scopes,
        station_id=record.station_id,
        store_id=record.store_id,
        till_id=record.till_id,
        username=owner.username,
        expires_at=record.expires_at,
    )


admin = APIRouter(prefix="/api/v1/admin", tags=["accounts admin"])


@admin.get("/users", response_model=list[schemas.UserOut])
async def list_users(session: DbSession, _: AdminUser, role: Role | None = None) -> list[schemas.UserOut]:
    return [schemas.UserOut.model_validate(u) for u in await repository.list_users(session, role=role)]


@admin.post(
    "/users",
    response_model=schemas.UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "username_taken"}, 422: {"description": "affiliation_missing"}},
)
async def create_user(body: schemas.UserIn, session: DbSession, _: AdminUser) -> schemas.UserOut:
    user = await service.create_user(session, **body.model_dump())
    return schemas.UserOut.model_validate(user)


@admin.post(
    "/users/{user_id}/status",
    response_model=schemas.UserOut,
    responses={404: {"description": "user_not_found"}, 409: {"description": "cannot_disable_self"}},
)
async def set_user_status(
    user_id: int, body: schemas.UserStatusIn, session: DbSession, principal: AdminUser
) -> schemas.UserOut:
    """Disable (sessions and tokens stop at once) or re-enable an account."""
    return schemas.UserOut.model_validate(await users.set_active(session, principal, user_id, active=body.active))


@admin.post(
    "/users/{user_id}/password",
    response_model=schemas.PasswordResetOut,
    responses={404: {"description": "user_not_found"}},
)
async def reset_user_password(
    user_id: int, body: schemas.PasswordResetIn, session: DbSession, _: AdminUser
) -> schemas.PasswordResetOut:
    """Set a password, or generate one (returned this once); the account's sessions end."""
    reset = await users.reset_password(session, user_id, password=body.password)
    return schemas.PasswordResetOut(user=schemas.UserOut.model_validate(reset.user), password=reset.generated)


@admin.post(
    "/users/{user_id}/affiliation",
    response_model=schemas.AffiliationOut,
    responses={
        404: {"description": "user_not_found / station_not_found / store_not_found"},
        422: {"description": "wrong_role_for_binding / invalid_input"},
    },
)
async def bind_user(
    user_id: int, body: schemas.AffiliationIn, session: DbSession, _: AdminUser
) -> schemas.AffiliationOut:
    """Move a station operator to a station (or a clerk to a store); the devices enrolled at the
    old place are revoked."""
    if (body.station_id is None) == (body.store_id is None):
        raise InvalidInput("station_id 与 store_id 须二选一")
    if body.station_id is not None:
        bound = await users.bind_station(session, user_id, body.station_id)
    else:
        assert body.store_id is not None
        bound = await users.bind_store(session, user_id, body.store_id)
    return schemas.AffiliationOut(
        user=schemas.UserOut.model_validate(bound.user),
        previous_id=bound.previous_id,
        revoked_devices=bound.revoked_devices,
    )


@admin.post(
    "/enrolments",
    response_model=schemas.EnrolmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "user_not_found"},
        422: {"description": "affiliation_missing / operator_missing / user_disabled"},
    },
)
async def create_enrolment(
    body: schemas.EnrolmentIn, request: Request, session: DbSession, principal: AdminUser
) -> schemas.EnrolmentOut:
    """A one-time code for one PDA (or till), valid ``DEVICE_ENROLMENT_TTL_MINUTES``; the device
    redeems it at ``POST /api/v1/devices/enrol``."""
    issued = await devices.create_enrolment(session, principal, **body.model_dump())
    record = issued.record
    return schemas.EnrolmentOut(
        id=record.id,
        code=issued.display,
        qr_text=issued.qr(request.app.state.settings.public_base_url),
        kind=record.kind,
        station_id=record.station_id,
        store_id=record.store_id,
        user_id=record.user_id,
        expires_at=record.expires_at,
    )


@admin.get("/tokens", response_model=list[schemas.ApiTokenOut])
async def list_tokens(session: DbSession, _: AdminUser, user_id: int | None = None) -> list[schemas.ApiTokenOut]:
    return [schemas.ApiTokenOut.model_validate(t) for t in await repository.list_tokens(session, user_id=user_id)]


@admin.post(
    "/devices",
    response_model=schemas.DeviceTokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "affiliation_missing"}},
)
async def issue_device_token(body: schemas.DeviceTokenIn, session: DbSession, _: AdminUser) -> schemas.DeviceTokenOut:
    """A revocable token for a station PDA (bound to one station) or a POS till (one store)."""
    issued = await service.issue_device_token(session, **body.model_dump())
    record = issued.record
    return schemas.DeviceTokenOut(
        id=record.id,
        access_token=issued.token,
        kind=record.kind,
        label=record.label,
        scopes=record.scopes,
        expires_at=record.expires_at,
    )


@admin.post(
    "/tokens/{token_id}/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "token_not_found"}},
)
async def revoke_token(token_id: int, session: DbSession, principal: AdminUser) -> None:
    await service.revoke_token(session, principal, token_id)


@admin.get("/companies", response_model=list[schemas.CompanyOut])
async def list_companies(
    session: DbSession, _: AdminUser, status_filter: CompanyStatus | None = None
) -> list[schemas.CompanyOut]:
    companies = await repository.list_companies(session, status=status_filter)
    return [schemas.CompanyOut.model_validate(c) for c in companies]
