from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.models import enum_column
from app.kit.models import Base, IdMixin, TimestampMixin


class SupplierKind(StrEnum):
    cooperative = "cooperative"
    farm = "farm"
    growing_base = "growing_base"
    processor = "processor"
    household = "household"

    @property
    def label_zh(self) -> str:
        return {
            "cooperative": "专业合作社",
            "farm": "家庭农场",
            "growing_base": "种植基地",
            "processor": "加工企业",
            "household": "农户",
        }[self.value]


class Supplier(IdMixin, TimestampMixin, Base):
    """Who grew or made the produce: co-operatives, farms, growing bases, processors, households."""

    __tablename__ = "suppliers"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[SupplierKind] = mapped_column(enum_column(SupplierKind, "supplier_kind"), nullable=False)
    township: Mapped[str] = mapped_column(String(30), nullable=False)
    village: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # [{"type": "green_food", "name": "绿色食品", "number": "LB-..."}]
    certifications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
