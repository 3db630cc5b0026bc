from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column
from app.kit.quantities import Quantity, Unit


class StorageClass(StrEnum):
    ambient = "ambient"
    cool = "cool"
    chilled = "chilled"
    frozen = "frozen"

    @property
    def label_zh(self) -> str:
        return {"ambient": "常温", "cool": "阴凉", "chilled": "冷藏", "frozen": "冷冻"}[self.value]


class PriceListKind(StrEnum):
    retail = "retail"
    wholesale = "wholesale"
    company = "company"

    @property
    def label_zh(self) -> str:
        return {"retail": "零售价", "wholesale": "批发价", "company": "客户协议价"}[self.value]


class Category(IdMixin, TimestampMixin, Base):
    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    name_zh: Mapped[str] = mapped_column(String(50), nullable=False)
    name_en: Mapped[str] = mapped_column(String(80), nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    slug: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False, index=True)
    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), nullable=False)
    description_zh: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description_en: Mapped[str] = mapped_column(Text, nullable=False, default="")
    origin_township: Mapped[str] = mapped_column(String(30), nullable=False)
    origin_village: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    growing_base: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    season_months: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), nullable=False, default=list)
    storage_class: Mapped[StorageClass] = mapped_column(
        enum_column(StorageClass, "storage_class"), nullable=False, default=StorageClass.ambient
    )
    shelf_life_days: Mapped[int] = mapped_column(Integer, nullable=False)
    # [{"type": "geographical_indication", "name": "国家地理标志产品", "number": "..."}]
    certifications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    category: Mapped[Category] = relationship(lazy="raise")
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", lazy="raise", order_by="Variant.sort_order, Variant.id"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", lazy="raise", order_by="ProductImage.sort_order, ProductImage.id"
    )

    __table_args__ = (
        CheckConstraint("shelf_life_days > 0", name="shelf_life_positive"),
        CheckConstraint("season_months <@ ARRAY[1,2,3,4,5,6,7,8,9,10,11,12]::smallint[]", name="season_months_valid"),
    )


class ProductImage(IdMixin, TimestampMixin, Base):
    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
    path: Mapped[str] = mapped_column(String(200), nullable=False)
    thumb_path: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(30), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    byte_size: Mapped[int] = mapped_column(Integer, nullable=False)
    alt_zh: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    product: Mapped[Product] = relationship(back_populates="images", lazy="raise")


class Variant(IdMixin, TimestampMixin, Base):
    """A SKU: what is counted in stock and priced, in its own unit of measure."""

    __tablename__ = "variants"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False, index=True)
    sku: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    barcode: Mapped[str | None] = mapped_column(String(13), unique=True)
    # The scale / till key number (PLU) of a variant sold loose by weight: the item code a scale
    # prints in a variable-measure label and a clerk types at the till (app/pos/scanning.py).
    plu: Mapped[int | None] = mapped_column(Integer, unique=True)
    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), nullable=False)
    unit: Mapped[Unit] = mapped_column(enum_column(Unit, "unit_of_measure"), nullable=False)
    # Net weight of one unit in grams (a 5 kg box is 5000); for kg / 斤 it is 1000 / 500.
    net_weight_grams: Mapped[int | None] = mapped_column(Integer)
    # Units per shipping case: wholesale orders of this SKU come in multiples of it by default.
    case_pack: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    grade: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    is_supply_sku: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Reorder point (补货点), in the variant's unit: the ops dashboard lists the variant when its
    # sellable stock (on hand − reserved, unexpired lots, every location) falls below it. NULL: none.
    reorder_point: Mapped[Decimal | None] = mapped_column(Quantity)

    product: Mapped[Product] = relationship(back_populates="variants", lazy="raise")

    __table_args__ = (
        CheckConstraint("case_pack >= 1", name="case_pack_positive"),
        CheckConstraint("net_weight_grams IS NULL OR net_weight_grams > 0", name="net_weight_positive"),
        CheckConstraint("barcode IS NULL OR barcode ~ '^[0-9]{13}$'", name="barcode_ean13_digits"),
        CheckConstraint("plu IS NULL OR plu BETWEEN 1 AND 999999", name="plu_range"),
    )


class PriceList(IdMixin, TimestampMixin, Base):
    """Retail (shop and POS), wholesale, or one buyer company's negotiated list."""

    __tablename__ = "price_lists"

    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[PriceListKind] = mapped_column(enum_column(PriceListKind, "price_list_kind"), nullable=False)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("buyer_companies.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint("(kind = 'company') = (company_id IS NOT NULL)", name="company_list_has_company"),
    )


class PriceListItem(IdMixin, TimestampMixin, Base):
    """The price of one variant on one list: base unit price, MOQ, order increment, tiers."""

    __tablename__ = "price_list_items"

    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"), nullable=False)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False, index=True)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    min_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    increment: Mapped[Decimal] = mapped_column(Quantity, nullable=False)

    tiers: Mapped[list[PriceTier]] = relationship(
        back_populates="item",
        lazy="raise",
        order_by="PriceTier.min_quantity",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        UniqueConstraint("price_list_id", "variant_id", name="uq_price_list_items_list_variant"),
        CheckConstraint("unit_price_minor > 0", name="unit_price_positive"),
        CheckConstraint("min_quantity > 0", name="min_quantity_positive"),
        CheckConstraint("increment > 0", name="increment_positive"),
    )


class PriceTier(IdMixin, Base):
    """From ``min_quantity`` up, every unit costs ``unit_price_minor`` (the whole line, not a band)."""

    __tablename__ = "price_tiers"

    item_id: Mapped[int] = mapped_column(ForeignKey("price_list_items.id", ondelete="CASCADE"), nullable=False)
    min_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)

    item: Mapped[PriceListItem] = relationship(back_populates="tiers", lazy="raise")

    __table_args__ = (
        UniqueConstraint("item_id", "min_quantity", name="uq_price_tiers_item_min_quantity"),
        CheckConstraint("unit_price_minor > 0", name="tier_price_positive"),
        CheckConstraint("min_quantity > 0", name="tier_min_quantity_positive"),
    )


class CatalogState(Base):
    """One row whose ``version`` a database trigger bumps on every write to a catalog table, so every
    web worker can tell in one tiny query whether its cached listings are still current."""

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


# Tables whose changes can alter what a catalog listing shows (see the migration's triggers).
CATALOG_TABLES = (
    "categories",
    "products",
    "product_images",
    "variants",
    "price_lists",
    "price_list_items",
    "price_tiers",
    "suppliers",
)
