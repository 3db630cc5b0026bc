"""Home-delivery fees by area (fen). Station pickup is free.

Areas: the county seat (太平镇), the rest of Shixing County, the rest of Guangdong, elsewhere in
mainland China. Orders inside the county ship free from ``FREE_IN_COUNTY_FROM_MINOR``. The table
is the county e-commerce centre's published rate card; change it here.
"""

from __future__ import annotations

from dataclasses import dataclass

SHIXING_TOWNSHIPS = (
    "太平镇",
    "马市镇",
    "澄江镇",
    "顿岗镇",
    "罗坝镇",
    "司前镇",
    "隘子镇",
    "城南镇",
    "沈所镇",
    "深渡水瑶族乡",
)
COUNTY_SEAT = "太平镇"

FEES_MINOR = {"county_seat": 500, "county": 800, "guangdong": 1200, "mainland": 1800}
AREA_LABELS_ZH = {"county_seat": "县城", "county": "始兴县乡镇", "guangdong": "广东省内", "mainland": "省外"}
FREE_IN_COUNTY_FROM_MINOR = 9900


@dataclass(frozen=True)
class DeliveryQuote:
    area: str
    fee_minor: int

    @property
    def area_label_zh(self) -> str:
        return AREA_LABELS_ZH[self.area]


def area_of(province: str, city: str, township: str) -> str:
    in_county = (city.startswith("韶关") and township in SHIXING_TOWNSHIPS) or township in SHIXING_TOWNSHIPS
    if in_county:
        return "county_seat" if township == COUNTY_SEAT else "county"
    return "guangdong" if province.startswith("广东") else "mainland"


def quote(province: str, city: str, township: str, subtotal_minor: int) -> DeliveryQuote:
    area = area_of(province, city, township)
    fee = FEES_MINOR[area]
    if area in ("county_seat", "county") and subtotal_minor >= FREE_IN_COUNTY_FROM_MINOR:
        fee = 0
    return DeliveryQuote(area, fee)
