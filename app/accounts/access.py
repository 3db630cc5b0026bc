"""Who may call a route: every route declares one access rule, through a dependency.

Rules are plain data (:class:`AccessRule`) attached to the dependency function (or, for
:func:`anonymous`, the endpoint) as ``access_rule``; the route-walker test reads them from the
app's route table and fails on a route that declares none. A public route says so with
``dependencies=[PublicAccess]``, or with :func:`anonymous` on its endpoint when it never looks its
caller up.

A caller is a :class:`Principal`, resolved once per request from a bearer token
(``Authorization: Bearer …``, API clients and devices) or the session cookie (pages). Tokens carry
scopes; a cookie session carries every scope of its role. Cookie-authenticated API calls that
change state must also send the CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from app.accounts import errors
from app.accounts.models import CompanyStatus, Role

__all__ = ["Role"]
from app.db import DbSession
from app.kit.errors import NotAuthenticated

SESSION_COOKIE = "np_session"
CSRF_COOKIE = "np_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Scope(StrEnum):
    shop = "shop"
    wholesale = "wholesale"
    pos = "pos"
    pda = "pda"
    stock = "stock"
    admin = "admin"
    # Read-only: the county centre's dashboard and reports (no personal data, no writes).
    county = "county"
    # A live-stream seller's own figures (its link, QR and commission statements), nothing else.
    streamer = "streamer"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.customer: frozenset({Scope.shop}),
    Role.buyer: frozenset({Scope.wholesale}),
    Role.clerk: frozenset({Scope.pos}),
    Role.store_manager: frozenset({Scope.pos}),
    Role.station_operator: frozenset({Scope.pda}),
    Role.warehouse: frozenset({Scope.stock}),
    Role.admin: frozenset({Scope.admin, Scope.stock, Scope.pos}),
    Role.county_official: frozenset({Scope.county}),
    Role.streamer: frozenset({Scope.streamer}),
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    scopes: frozenset[str]
    via: str  # "token" or "session"
    token_id: int | None = None
    company_id: int | None = None
    company_approved: bool = False
    station_id: int | None = None
    store_id: int | None = None
    # Set only for a clerk's session at a till (token kind ``pos_clerk``): the till it is bound to.
    till_id: int | None = None
    display_name: str = ""
    # A company API key (the buyer's purchasing system): it acts for ``company_id`` and passes only
    # rules that take company keys; ``company_owner`` is the owner signed in as a person.
    company_key: bool = False
    company_owner: bool = False

    def has_scope(self, scope: Scope) -> bool:
        return scope.value in self.scopes


@dataclass(frozen=True)
class AccessRule:
    """Who may call a route: the (role, scope) pairs that grant it.

    A caller passes when its role is one of the grants' roles *and* it holds that grant's scope, so
    a token narrowed to ``pos`` or a device token (``pda`` / ``pos``) never reads what only its
    role's other scopes allow. ``grants=None``: anyone (public) or any signed-in user."""

    name: str
    grants: frozenset[tuple[Role, Scope]] | None
    authenticated: bool = True
    approved_company: bool = False
    # Company API keys pass only rules that say so: the wholesale JSON API, never a page, an
    # account route or an owner's management of keys and colleagues.
    company_keys: bool = False
    owner_only: bool = False
    # Only a clerk's session at an enrolled till (not a cookie, not a user token, not the till's
    # own token): the POS API acts for one store and one till.
    at_till: bool = False

    @property
    def roles(self) -> frozenset[Role] | None:
        return None if self.grants is None else frozenset(role for role, _ in self.grants)

    def admits(self, principal: Principal) -> bool:
        return self.grants is None or any(
            principal.role is role and principal.has_scope(scope) for role, scope in self.grants
        )


def _grants(*pairs: tuple[Role, Scope]) -> frozenset[tuple[Role, Scope]]:
    return frozenset(pairs)


PUBLIC = AccessRule("public", None, authenticated=False)
SIGNED_IN = AccessRule("signed_in", None)
CUSTOMER = AccessRule("customer", _grants((Role.customer, Scope.shop)))
BUYER = AccessRule("buyer", _grants((Role.buyer, Scope.wholesale)), approved_company=True, company_keys=True)
# A company's owner (a person, not a key) managing its colleagues and API keys.
COMPANY_OWNER = AccessRule(
    "company_owner", _grants((Role.buyer, Scope.wholesale)), approved_company=True, owner_only=True
)
CLERK = AccessRule("clerk", _grants((Role.clerk, Scope.pos), (Role.admin, Scope.pos)))
# Someone signed in at an enrolled till (a clerk or a store manager of the till's store): the
# principal carries the store and the till, and its token has scope ``pos`` only.
AT_TILL = AccessRule("at_till", _grants((Role.clerk, Scope.pos), (Role.store_manager, Scope.pos)), at_till=True)
# The brand-store console on pages: admins (every store) and store managers (only the stores they
# run: the route checks the store, see ``app.pos.console_access``).
STORE_CONSOLE_GRANTS = _grants((Role.admin, Scope.admin), (Role.store_manager, Scope.pos))
STORE_CONSOLE = AccessRule("store_console", STORE_CONSOLE_GRANTS)
# Replenishment requests: the stores that ask (as above) and the warehouse that ships them.
STORE_OR_WAREHOUSE = AccessRule(
    "store_or_warehouse", STORE_CONSOLE_GRANTS | _grants((Role.warehouse, Scope.stock), (Role.admin, Scope.stock))
)
STATION_OPERATOR = AccessRule("station_operator", _grants((Role.station_operator, Scope.pda)))
# Checking event tickets in: operators of a station (the route checks it is the event's meeting
# station) and the centre's admins.
TICKET_CHECKIN = AccessRule("ticket_checkin", _grants((Role.station_operator, Scope.pda), (Role.admin, Scope.admin)))
WAREHOUSE = AccessRule("warehouse", _grants((Role.warehouse, Scope.stock), (Role.admin, Scope.stock)))
ADMIN = AccessRule("admin", _grants((Role.admin, Scope.admin)))
# Reading stock, lots, locations, suppliers, transfers, counts, routes and every station's report:
# the county centre's back office with its stock or admin scope. Not clerks' tills nor station PDAs
# (their own station's figures have routes of their own).
STAFF_GRANTS = _grants((Role.admin, Scope.admin), (Role.admin, Scope.stock), (Role.warehouse, Scope.stock))
STAFF = AccessRule("staff", STAFF_GRANTS)
# The back office, and station operators with their PDA scope for what belongs to their station
# (the route checks the object): lot labels of their upstream consignments, their case photos.
STAFF_OR_STATION = AccessRule("staff_or_station", STAFF_GRANTS | _grants((Role.station_operator, Scope.pda)))
# Orders of any customer (names, phones, addresses): admins and the warehouse that packs them.
BACK_OFFICE = AccessRule("back_office", _grants((Role.admin, Scope.admin), (Role.warehouse, Scope.stock)))
# What wholesale buyers (of an approved company, or its purchasing system's key) and the back
# office both read: the PRD trips.
BUYER_OR_STAFF = AccessRule(
    "buyer_or_staff",
    _grants((Role.buyer, Scope.wholesale)) | STAFF_GRANTS,
    approved_company=True,
    company_keys=True,
)

# The county centre's dashboard, plan targets, funds and quarterly reports, read: the centre's admins
# and the county official (read-only role, no personal data; lists behind figures mask names and
# phones for it). Every write there stays ADMIN.
COUNTY_READ = AccessRule("county_read", _grants((Role.admin, Scope.admin), (Role.county_official, Scope.county)))

# A live-stream seller's own page (``/streamer``): the route reads the seller linked to the caller.
STREAMER = AccessRule("streamer", _grants((Role.streamer, Scope.streamer)))

# ``/metrics``: admins (session or a token with the admin scope), or Prometheus with METRICS_TOKEN
# (``metrics_reader``).
METRICS = AccessRule("metrics", _grants((Role.admin, Scope.admin)))


async def resolve_principal(request: Request, session: DbSession) -> Principal | None:
    """The caller of this request, or None for an anonymous one (cached per request)."""
    from app.accounts import service

    cached = request.scope.get("np.principal", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    principal: Principal | None = None
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.TokenInvalid()
        principal = await service.principal_from_token(session, token.strip())
        if principal is None:
            raise errors.TokenInvalid()
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = await service.principal_from_session_cookie(session, cookie)
            if principal is not None and request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                _check_csrf_header(request)
    request.scope["np.principal"] = principal
    return principal


_MISSING = object()


def _check_csrf_header(request: Request) -> None:
    from app.accounts.security import csrf_token_valid
    from app.config import get_settings
    from app.kit.errors import CsrfFailed

    header = request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    secret = get_settings().secret_key.get_secret_value()
    if not header or header != cookie or not csrf_token_valid(secret, header):
        raise CsrfFailed()


OptionalPrincipal = Annotated[Principal | None, Depends(resolve_principal)]


def check_rule(rule: AccessRule, principal: Principal | None) -> Principal | None:
    if not rule.authenticated:
        return principal
    if principal is None:
        raise NotAuthenticated()
    if principal.company_key and not rule.company_keys:
        raise errors.CompanyKeyNotAllowed()
    roles = rule.roles
    if roles is not None and principal.role not in roles:
        raise errors.RoleNotAllowed()
    if not rule.admits(principal):
        raise errors.ScopeMissing()
    # The approved-company condition is the buyers' (staff belong to no company).
    if rule.approved_company and principal.role is Role.buyer and not principal.company_approved:
        raise errors.CompanyNotApproved()
    if rule.owner_only and not principal.company_owner:
        raise errors.CompanyOwnerOnly()
    if rule.at_till and principal.till_id is None:
        raise errors.TillSessionRequired()
    return principal


def require(rule: AccessRule) -> Callable[..., Awaitable[Any]]:
    async def dependency(principal: OptionalPrincipal) -> Principal | None:
        return check_rule(rule, principal)

    dependency.access_rule = rule  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{rule.name}"
    return dependency


_public_dependency = require(PUBLIC)
PublicAccess = Depends(_public_dependency)


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def anonymous(endpoint: Endpoint) -> Endpoint:
    """Declares a route that answers everyone the same and never looks its caller up: no database
    session, no token or cookie read (liveness must not depend on the database). The rule sits on
    the endpoint itself, not on a dependency: there is nothing to run, and a dependency would cost
    FastAPI a round of dependency solving on every request of the per-request floor (issue 15)."""
    endpoint.access_rule = PUBLIC  # type: ignore[attr-defined]
    return endpoint


async def metrics_reader(request: Request, session: DbSession) -> Principal | None:
    """:data:`METRICS`: ``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus, compared in constant
    time) passes without being a user; anything else is a caller that must pass the rule."""
    token = request.app.state.settings.metrics_token
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    if token is not None and token.get_secret_value() and scheme.lower() == "bearer":
        if hmac.compare_digest(offered.strip().encode(), token.get_secret_value().encode()):
            return None
    return check_rule(METRICS, await resolve_principal(request, session))


metrics_reader.access_rule = METRICS  # type: ignore[attr-defined]
MetricsAccess = Depends(metrics_reader)

AnyUser = Annotated[Principal, Depends(require(SIGNED_IN))]
CustomerUser = Annotated[Principal, Depends(require(CUSTOMER))]
BuyerUser = Annotated[Principal, Depends(require(BUYER))]
CompanyOwnerUser = Annotated[Principal, Depends(require(COMPANY_OWNER))]
ClerkUser = Annotated[Principal, Depends(require(CLERK))]
TillClerk = Annotated[Principal, Depends(require(AT_TILL))]
StoreConsoleUser = Annotated[Principal, Depends(require(STORE_CONSOLE))]
StoreOrWarehouseUser = Annotated[Principal, Depends(require(STORE_OR_WAREHOUSE))]
StationOperator = Annotated[Principal, Depends(require(STATION_OPERATOR))]
TicketCheckInUser = Annotated[Principal, Depends(require(TICKET_CHECKIN))]
WarehouseUser = Annotated[Principal, Depends(require(WAREHOUSE))]
StaffUser = Annotated[Principal, Depends(require(STAFF))]
AdminUser = Annotated[Principal, Depends(require(ADMIN))]
BackOfficeUser = Annotated[Principal, Depends(require(BACK_OFFICE))]
StaffOrStationUser = Annotated[Principal, Depends(require(STAFF_OR_STATION))]
CountyReader = Annotated[Principal, Depends(require(COUNTY_READ))]
StreamerUser = Annotated[Principal, Depends(require(STREAMER))]
BuyerOrStaffUser = Annotated[Principal, Depends(require(BUYER_OR_STAFF))]
# Public routes that personalise (a buyer sees its own prices) take the caller when there is one.
MaybeUser = Annotated[Principal | None, Depends(_public_dependency)]


def principal_for(
    user: Any,
    *,
    via: str,
    scopes: frozenset[str],
    token_id: int | None = None,
    station_id: int | None = None,
    store_id: int | None = None,
    till_id: int | None = None,
    company_key: bool = False,
) -> Principal:
    company = user.company
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        scopes=scopes,
        via=via,
        token_id=token_id,
        company_id=user.company_id,
        company_approved=company is not None and company.status == CompanyStatus.approved,
        station_id=station_id if station_id is not None else user.station_id,
        store_id=store_id if store_id is not None else user.store_id,
        till_id=till_id,
        display_name=user.display_name or user.username,
        company_key=company_key,
        company_owner=bool(user.is_company_owner) and not company_key,
    )
