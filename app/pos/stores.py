"""Brand stores in the ops console: a store and its stock location, its managers, its tills and
the PINs its people sign in with at a till. Services only flush; the request commits.

- A store is made with its stock location (``locations``, kind ``store``, the same code), where
  its stock is received and from which the till will sell (FEFO).
- Clerks belong to one store (``users.store_id``, bound on the user's page); store managers run
  one or more stores (``store_managers``, added on the store's page).
- A till has a code unique in its store and a sale-number prefix unique everywhere (offline
  sale numbers are prefix + the till's own sequence, so two tills never give the same number).
  Deactivating a till revokes its device tokens, which signs its clerk out at the next request.
- A PIN (4–6 digits) is set by an admin or a manager of the store for one of the store's people,
  stored as an argon2 hash like a password.
"""

from __future__ import annotations

import itertools
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors as account_errors
from app.accounts import repository as accounts_repository
from app.accounts.access import Principal
from app.accounts.models import Role, User
from app.accounts.security import hash_password
from app.kit import clock
from app.pos import errors, repository
from app.pos.models import Store, Till
from app.supply.models import Location, LocationKind

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,19}$"
TILL_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,19}$"
PREFIX_PATTERN = r"^[A-Z0-9]{2,8}$"
PIN_PATTERN = re.compile(r"^[0-9]{4,6}$")


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class StoreEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=100)
    address: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    is_open: bool = True

    @field_validator("phone", mode="before")
    @classmethod
    def _blank_phone(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class StoreNew(StoreEdit):
    code: str = Field(pattern=CODE_PATTERN, description="门店编号，如 STORE-03；也是门店库位的编号")

    _code = field_validator("code", mode="before")(_upper)


class TillNew(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(pattern=TILL_CODE_PATTERN, description="店内编号，如 T1")
    name: str = Field(min_length=1, max_length=100)
    sale_prefix: str = Field(pattern=PREFIX_PATTERN, description="销售单号前缀，全局唯一，如 S01A")

    _code = field_validator("code", "sale_prefix", mode="before")(_upper)


async def store_or_404(session: AsyncSession, code: str) -> Store:
    store = await repository.store_by_code(session, code)
    if store is None:
        raise errors.StoreNotFound(detail={"store": code})
    return store


async def create_store(session: AsyncSession, data: StoreNew) -> Store:
    """A store and its stock location (same code, kind ``store``)."""
    if await repository.store_by_code(session, data.code) is not None or await repository.location_code_taken(
        session, data.code
    ):
        raise errors.StoreCodeTaken(detail={"code": data.code})
    store = Store(**data.model_dump())
    session.add(store)
    await session.flush()
    session.add(Location(code=store.code, name=store.name, kind=LocationKind.store, store_id=store.id))
    await session.flush()
    return store


async def update_store(session: AsyncSession, store: Store, data: StoreEdit) -> Store:
    """Name, address, phone, open or not; the location's name follows the store's (a store made
    before its location existed gets one now)."""
    for name, value in data.model_dump().items():
        setattr(store, name, value)
    location = await repository.location_of_store(session, store.id)
    if location is None:
        session.add(Location(code=store.code, name=store.name, kind=LocationKind.store, store_id=store.id))
    else:
        location.name = store.name
    await session.flush()
    return store


async def add_till(session: AsyncSession, store: Store, data: TillNew) -> Till:
    if await repository.till_by_code(session, store.id, data.code) is not None:
        raise errors.TillCodeTaken(detail={"code": data.code})
    if await repository.sale_prefix_taken(session, data.sale_prefix):
        raise errors.SalePrefixTaken(detail={"sale_prefix": data.sale_prefix})
    till = Till(store_id=store.id, **data.model_dump())
    session.add(till)
    await session.flush()
    return till


async def till_of(session: AsyncSession, store: Store, code: str) -> Till:
    till = await repository.till_by_code(session, store.id, code)
    if till is None:
        raise errors.TillNotFound(detail={"till": code})
    return till


async def set_till_active(session: AsyncSession, till: Till, *, active: bool) -> int:
    """Activate or deactivate a till; deactivating revokes its tokens (the device's and the clerk
    sessions on it) — how many is returned. Reactivated, it must be enrolled again."""
    till.is_active = active
    revoked = 0 if active else await repository.revoke_till_tokens(session, till.id, clock.now())
    await session.flush()
    return revoked


async def add_manager(session: AsyncSession, store: Store, user_id: int) -> User:
    user = await accounts_repository.user_by_id(session, user_id)
    if user is None:
        raise account_errors.UserNotFound()
    if user.role is not Role.store_manager:
        raise account_errors.WrongRoleForBinding("只有门店店长账号可以设为店长")
    await repository.add_manager(session, store.id, user.id)
    await session.flush()
    return user


async def remove_manager(session: AsyncSession, store: Store, user_id: int) -> None:
    """The manager no longer runs this store: its sessions at this store's tills end with it
    (each request checks that the person still works at the till's store)."""
    await repository.remove_manager(session, store.id, user_id)
    await session.flush()


def check_pin(pin: str) -> None:
    """4–6 digits, not one digit repeated nor a run up or down (1234, 987654)."""
    if not PIN_PATTERN.match(pin):
        raise errors.PinInvalid()
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        raise errors.PinInvalid()


async def set_pin(session: AsyncSession, actor: Principal, store: Store, user_id: int, pin: str) -> User:
    """Set the till PIN of one of the store's people: by an admin, or by a manager of the store
    signed in on a page."""
    allowed = actor.role is Role.admin or (
        actor.role is Role.store_manager
        and actor.via == "session"
        and await accounts_repository.manages_store(session, actor.user_id, store.id)
    )
    if not allowed:
        raise account_errors.RoleNotAllowed()
    check_pin(pin)
    user = await repository.staff_member(session, store.id, user_id)
    if user is None:
        raise errors.NotStoreStaff()
    user.pin_hash = hash_password(pin)
    await session.flush()
    return user
