from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.catalog.models import StorageClass
from app.channels import SalesChannel
from app.kit.quantities import Unit
from app.kit.schemas import InputModel, OutputModel, QuantityValue

Slug = Annotated[str, Field(min_length=2, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Sku = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
Month = Annotated[int, Field(ge=1, le=12)]
PriceMinor = Annotated[int, Field(gt=0, le=100_000_000, description="单价，单位为分（最小货币单位）")]


class Certification(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: Literal["geographical_indication", "green_food", "organic", "pollution_free", "compliance", "other"]
    name: str = Field(min_length=1, max_length=60)
    number: str = Field(default="", max_length=60)


class CategoryIn(InputModel):
    slug: Slug
    name_zh: str = Field(min_length=1, max_length=50)
    name_en: str = Field(min_length=1, max_length=80)
    sort_order: int = Field(default=0, ge=0, le=10_000)


class CategoryPatch(InputModel):
    name_zh: str | None = Field(default=None, min_length=1, max_length=50)
    name_en: str | None = Field(default=None, min_length=1, max_length=80)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)


class ProductFields(InputModel):
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=150)
    description_zh: str = Field(default="", max_length=5000)
    description_en: str = Field(default="", max_length=5000)
    origin_township: str = Field(min_length=1, max_length=30)
    origin_village: str = Field(default="", max_length=50)
    growing_base: str = Field(default="", max_length=100)
    supplier_code: str | None = Field(default=None, max_length=20)
    season_months: list[Month] = Field(default_factory=list, max_length=12)
    storage_class: StorageClass = StorageClass.ambient
    shelf_life_days: int = Field(gt=0, le=3650)
    certifications: list[Certification] = Field(default_factory=list, max_length=10)
    is_active: bool = True

    @field_validator("season_months")
    @classmethod
    def _distinct_sorted(cls, months: list[int]) -> list[int]:
        return sorted(set(months))


class ProductIn(ProductFields):
    slug: Slug
    category_slug: Slug


class ProductPatch(InputModel):
    category_slug: Slug | None = None
    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, min_length=1, max_length=150)
    description_zh: str | None = Field(default=None, max_length=5000)
    description_en: str | None = Field(default=None, max_length=5000)
    origin_township: str | None = Field(default=None, min_length=1, max_length=30)
    origin_village: str | None = Field(default=None, max_length=50)
    growing_base: str | None = Field(default=None, max_length=100)
    supplier_code: str | None = Field(default=None, max_length=20)
    season_months: list[Month] | None = Field(default=None, max_length=12)
    storage_class: StorageClass | None = None
    shelf_life_days: int | None = Field(default=None, gt=0, le=3650)
    certifications: list[Certification] | None = Field(default=None, max_length=10)
    is_active: bool | None = None


class VariantIn(InputModel):
    sku: Sku
    barcode: str | None = Field(default=None, max_length=13)
    plu: int | None = Field(default=None, ge=1, le=999_999, description="称重散货的 PLU（秤与收银键号）")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=150)
    unit: Unit
    net_weight_grams: int | None = Field(default=None, gt=0, le=1_000_000)
    case_pack: int = Field(default=1, ge=1, le=10_000)
    grade: str = Field(default="", max_length=30)
    is_supply_sku: bool = False
    is_active: bool = True
    sort_order: int = Field(default=0, ge=0, le=10_000)


class VariantPatch(InputModel):
    barcode: str | None = Field(default=None, max_length=13)
    plu: int | None = Field(default=None, ge=1, le=999_999, description="称重散货的 PLU（秤与收银键号）")
    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, min_length=1, max_length=150)
    net_weight_grams: int | None = Field(default=None, gt=0, le=1_000_000)
    case_pack: int | None = Field(default=None, ge=1, le=10_000)
    grade: str | None = Field(default=None, max_length=30)
    is_supply_sku: bool | None = None
    is_active: bool | None = None
    sort_order: int | None = Field(default=None, ge=0, le=10_000)
    reorder_point: QuantityValue | None = Field(
        default=None, description="补货点（规格单位）：可售库存低于它时列入运营看板；传 null 清除"
    )


class TierIn(InputModel):
    min_quantity: QuantityValue
    unit_price_minor: PriceMinor


class PriceItemIn(InputModel):
    """Set a variant's price on a list. Quantities are in the variant's own unit."""

    unit_price_minor: PriceMinor
    min_quantity: QuantityValue | None = None
    increment: QuantityValue | None = None
    tiers: list[TierIn] = Field(default_factory=list, max_length=10)


class PriceListIn(InputModel):
    code: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["retail", "wholesale", "company"]
    company_id: int | None = None


class QuoteLineIn(BaseModel):
    # Unknown fields (a client's "price", "unit_price" …) are ignored on purpose: the server prices.
    model_config = ConfigDict(extra="ignore")
    sku: str = Field(min_length=1, max_length=40)
    quantity: str | int = Field(description='数量，十进制字符串，例如 "1.235"')


def _priced_by_lists(channel: SalesChannel) -> SalesChannel:
    if not channel.policy.price_lists:
        raise ValueError(f"{channel.label_zh}渠道不按价目表报价")
    return channel


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    channel: Annotated[SalesChannel, AfterValidator(_priced_by_lists)] = SalesChannel.shop
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=200)


# ---- outputs -------------------------------------------------------------------------------------


class CategoryOut(OutputModel):
    id: int
    slug: str
    name_zh: str
    name_en: str
    sort_order: int


class TierOut(BaseModel):
    min_quantity: QuantityValue
    unit_price_minor: int


class PriceOut(BaseModel):
    price_list: str
    kind: str
    currency: str
    unit_price_minor: int
    unit_price_display: str
    per_unit: str
    min_quantity: QuantityValue
    increment: QuantityValue
    tiers: list[TierOut]


class ImageOut(OutputModel):
    id: int
    url: str
    thumb_url: str | None
    width: int
    height: int
    alt_zh: str


class VariantOut(BaseModel):
    id: int
    sku: str
    barcode: str | None
    plu: int | None = Field(default=None, description="称重散货的 PLU（秤与收银键号）")
    name_zh: str
    name_en: str
    unit: Unit
    unit_label_zh: str
    net_weight_grams: int | None
    case_pack: int
    grade: str
    is_supply_sku: bool
    is_active: bool
    price: PriceOut | None = Field(description="零售价（网店与门店）")
    stock_state: Literal["in_stock", "low_stock", "out_of_stock"] | None = Field(
        default=None, description="可售状态：现货 / 库存紧张 / 售罄（按调用者的渠道：网店或批发）"
    )
    available: QuantityValue | None = Field(default=None, description="可售数量（仅员工可见）")
    wholesale_price: PriceOut | None = Field(
        default=None, description="批发价：仅对已审核采购商（其企业协议价优先）与员工可见"
    )


class ProductSummaryOut(BaseModel):
    """A product as the public list shows it: all but the long descriptions, which the product's
    own answer (``GET /api/v1/products/{slug}``) carries — they were two thirds of the list's
    compressed bytes, and a list is read on phones over slow links."""

    id: int
    slug: str
    category: CategoryOut
    name_zh: str
    name_en: str
    origin_township: str
    origin_village: str
    growing_base: str
    supplier_code: str | None
    season_months: list[int]
    in_season: bool
    storage_class: StorageClass
    storage_class_label_zh: str
    shelf_life_days: int
    certifications: list[Certification]
    is_active: bool
    images: list[ImageOut]
    variants: list[VariantOut]


class ProductOut(ProductSummaryOut):
    description_zh: str
    description_en: str


class PricedLineOut(BaseModel):
    sku: str
    quantity: QuantityValue
    unit: Unit
    unit_price_minor: int
    line_total_minor: int
    currency: str
    price_list: str
    rule: str
    tier_min_quantity: QuantityValue | None


class QuoteOut(BaseModel):
    channel: str
    currency: str
    lines: list[PricedLineOut]
    total_minor: int


class PriceItemOut(BaseModel):
    price_list: str
    sku: str
    unit_price_minor: int
    min_quantity: QuantityValue
    increment: QuantityValue
    tiers: list[TierOut]


class PriceListOut(OutputModel):
    id: int
    code: str
    name: str
    kind: str
    company_id: int | None
    currency: str
    is_active: bool
