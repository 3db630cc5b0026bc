"""Rows a Core statement wrote, kept in step with the session as the ORM's own execution would.

A statement that names a mapped class (``insert(Order)``, ``update(WholesaleTrip)``) goes through
the ORM's execution: about half a millisecond more per statement than the same statement on the
table, on every order and every PDA call (issue 15). The hot statements therefore name tables, and
what the ORM would have done to the session afterwards is done here: an instance already loaded takes
the values the statement returned, and a row the statement inserted joins the session as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

T = TypeVar("T")


def refresh_loaded(session: AsyncSession, model: type[T], primary_key: Any, values: Mapping[str, Any]) -> T | None:
    """The instance of ``model`` with ``primary_key`` if the session holds it, its ``values`` (by
    attribute name) set as stored, with no change pending; None when it is not loaded.

    Values set this way are not a change of the session's, so rolling back a savepoint does not
    expire them as it expires flushed changes: after a savepoint's rollback, read the row again
    (``populate_existing``) rather than trust a loaded instance."""
    loaded = session.sync_session.identity_map.get(identity_key(model, primary_key))
    if not isinstance(loaded, model):
        return None
    for key, value in values.items():
        set_committed_value(loaded, key, value)
    return loaded


def join_as_stored(session: AsyncSession, *written: Any) -> None:
    """Instances whose rows a statement has just written (every column set, the server's included)
    join the session as those rows, persistent with no change pending, as the ORM's own ``INSERT …
    RETURNING`` of the entity makes them: a rollback expires them."""
    for instance in written:
        make_transient_to_detached(instance)
        session.add(instance)


def as_stored(session: AsyncSession, model: type[T], values: Mapping[str, Any], primary_key: Any) -> T:
    """The ``model`` instance of a row a statement returned with every column (``values`` by attribute
    name): the loaded one brought up to date (its loaded relations stay), or a new one joining the
    session as stored (relations unloaded; a rollback expires it)."""
    loaded = refresh_loaded(session, model, primary_key, values)
    if loaded is not None:
        return loaded
    instance = model(**values)
    join_as_stored(session, instance)
    return instance
