"""Which stores a console user may see and act on: an admin (or the warehouse, on the pages it
has) every store; a store manager only the stores it runs (``store_managers``), and only signed in
on a page — a manager's session at a till is for the till, not the console."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.accounts.models import Role
from app.pos import console_errors, console_queries


async def stores_in_reach(session: AsyncSession, principal: Principal) -> frozenset[int] | None:
    """The ids of the stores ``principal`` may see; None means every store."""
    if principal.role is not Role.store_manager:
        return None
    if principal.via != "session":
        raise console_errors.StoreConsoleOnPagesOnly()
    return frozenset(await console_queries.managed_store_ids(session, principal.user_id))


async def check_store(session: AsyncSession, principal: Principal, store_id: int) -> None:
    """Refuse (403) a store the principal does not run."""
    reach = await stores_in_reach(session, principal)
    if reach is not None and store_id not in reach:
        raise console_errors.StoreNotYours()


def within(reach: frozenset[int] | None, store_id: int) -> bool:
    return reach is None or store_id in reach
