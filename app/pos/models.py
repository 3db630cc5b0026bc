"""Brand stores (the county brand's shops in farmers' markets), their managers and their tills.

A store's stock is the ``locations`` row of kind ``store`` pointing at it (made with the store,
``app.pos.stores``). Clerks belong to one store (``users.store_id``); a store manager may run
several, so managers are listed per store in ``store_managers``. A till is registered here and
becomes a device by the enrolment of ``app.accounts.devices`` (its token carries ``till_id``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin


class Store(IdMixin, TimestampMixin, Base):
    """A 南岭明珠 brand store in a farmers' market; its clerks sell over the counter."""

    __tablename__ = "stores"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class StoreManager(Base):
    """A store manager (role ``store_manager``) runs this store; one manager may run several."""

    __tablename__ = "store_managers"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Till(IdMixin, TimestampMixin, Base):
    """A till (收银机) of a store: a browser on the counter PC or tablet, enrolled as a device.

    ``sale_prefix`` starts the sale numbers the till gives (offline too: prefix + its own
    sequence), so it is unique across all stores. A till is never deleted (its sales name it);
    deactivating it revokes its device tokens and signs its clerk out."""

    __tablename__ = "tills"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    sale_prefix: Mapped[str] = mapped_column(String(8), nullable=False, unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (UniqueConstraint("store_id", "code", name="uq_tills_store_code"),)
