"""The centre keeps a company's delivery addresses (the console's company page): add one, change
one (city of ``WHOLESALE_CITIES``, address, receiving hours, contact and phone — checked by
``service.check_address``, every problem named at once), or deactivate one. Each change is a
company event (who, when, what).

An order keeps its address by id (``wholesale_orders.delivery_address_id``): a changed address is
where its open orders now go, and the trip's manifest and the order pages show the address as it
is now (the order's own ``delivery_address`` JSON keeps the block as it was when placed, for the
record). Deactivating an address that open, undelivered orders still go to is refused (409,
naming them); the company row is locked first, as placing an order does, so an order placed at
the same moment is either counted or refused its (now inactive) address. Services only flush."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors as accounts_errors
from app.accounts.access import Principal
from app.wholesale import address_queries as queries
from app.wholesale import amend_errors, repository, service
from app.wholesale.models import CompanyAction, CompanyEvent, DeliveryAddress


def _checked(entry: service.AddressInput) -> service.CheckedAddress:
    problems: dict[str, str] = {}
    checked = service.check_address(entry, "", problems)
    if problems or checked is None:
        raise amend_errors.AddressInvalid(detail={"fields": problems})
    return checked


def _summary(row: DeliveryAddress | service.CheckedAddress) -> str:
    return f"{row.city} {row.address}"


async def _record(
    session: AsyncSession, company_id: int, action: CompanyAction, actor: Principal, row: DeliveryAddress, **more: Any
) -> None:
    """The company's audit trail: which address (as it is now), who, and what else."""
    detail = {"address": _summary(row), "address_id": row.id, **more}
    session.add(CompanyEvent(company_id=company_id, action=action.value, actor_id=actor.user_id, detail=detail))
    await session.flush()


async def _locked_company(session: AsyncSession, company_id: int) -> None:
    if await repository.company_for_update(session, company_id) is None:
        raise accounts_errors.CompanyNotFound()


async def add_address(
    session: AsyncSession, actor: Principal, company_id: int, entry: service.AddressInput
) -> DeliveryAddress:
    """A new delivery address; the same place deactivated before comes back with these details."""
    checked = _checked(entry)
    await _locked_company(session, company_id)
    row = await queries.same_place(session, company_id, checked.address)
    if row is not None and row.is_active:
        raise amend_errors.AddressTaken(detail={"address_id": row.id})
    if row is None:
        row = DeliveryAddress(company_id=company_id, **vars(checked), is_active=True)
        await queries.add(session, row)
    else:
        for name, value in vars(checked).items():
            setattr(row, name, value)
        row.is_active = True
        await session.flush()
    await _record(session, company_id, CompanyAction.address_added, actor, row)
    return row


async def update_address(
    session: AsyncSession, actor: Principal, company_id: int, address_id: int, entry: service.AddressInput
) -> DeliveryAddress:
    """Change an active address in place (its open orders go to it as changed)."""
    checked = _checked(entry)
    await _locked_company(session, company_id)
    row = await queries.address(session, company_id, address_id, for_update=True)
    if row is None or not row.is_active:
        raise amend_errors.AddressNotFound(detail={"address_id": address_id})
    other = await queries.same_place(session, company_id, checked.address)
    if other is not None and other.id != row.id:
        raise amend_errors.AddressTaken(detail={"address_id": other.id})
    changed: dict[str, Any] = {}
    for name, value in vars(checked).items():
        if getattr(row, name) != value:
            changed[name] = str(value)
            setattr(row, name, value)
    if not changed:
        return row
    await session.flush()
    orders = await queries.undelivered_orders(session, row.id)
    await _record(session, company_id, CompanyAction.address_changed, actor, row, changed=changed, open_orders=orders)
    return row


async def deactivate_address(
    session: AsyncSession, actor: Principal, company_id: int, address_id: int
) -> DeliveryAddress:
    """No more orders to this address; refused while undelivered orders go there."""
    await _locked_company(session, company_id)
    row = await queries.address(session, company_id, address_id, for_update=True)
    if row is None or not row.is_active:
        raise amend_errors.AddressNotFound(detail={"address_id": address_id})
    orders = await queries.undelivered_orders(session, row.id)
    if orders:
        raise amend_errors.AddressInUse(
            f"收货地址“{_summary(row)}”还有未送达的订单：{'、'.join(orders)}，送达或取消后才能停用",
            detail={"address_id": row.id, "orders": orders},
        )
    row.is_active = False
    await session.flush()
    await _record(session, company_id, CompanyAction.address_deactivated, actor, row)
    return row


async def address_of(session: AsyncSession, company_id: int, address_id: int) -> DeliveryAddress:
    """One active address of the company (the console's edit page)."""
    row = await queries.address(session, company_id, address_id)
    if row is None or not row.is_active:
        raise amend_errors.AddressNotFound(detail={"address_id": address_id})
    return row
