"""Home-delivery fees by area (fen). Station pickup is free.

Areas: the county seat, the county's other townships, the rest of the county's province, elsewhere
in mainland China. Where the county is — its province, city, seat and townships — is the
deployment's settings (``COUNTY_PROVINCE``, ``COUNTY_CITY``, ``COUNTY_SEAT_TOWNSHIP``,
``COUNTY_TOWNSHIPS``), so another county runs the same code. Orders inside the county ship free from
``FREE_IN_COUNTY_FROM_MINOR``. The fees are the county e-commerce centre's published rate card;
change them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings, get_settings

AREAS = ("county_seat", "county", "in_province", "mainland")
FEES_MINOR = {"county_seat": 500, "county": 800, "in_province": 1200, "mainland": 1800}
FREE_IN_COUNTY_FROM_MINOR = 9900


@dataclass(frozen=True)
class CountyPlace:
    """Where the county is, as the settings name it."""

    name: str
    province: str
    city: str
    seat: str
    townships: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CountyPlace:
        settings = settings or get_settings()
        return cls(
            name=settings.county_name,
            province=settings.county_province,
            city=settings.county_city,
            seat=settings.county_seat_township,
            townships=tuple(settings.county_townships),
        )

    def area_label_zh(self, area: str) -> str:
        return {
            "county_seat": "县城",
            "county": f"{self.name}乡镇",
            "in_province": f"{self.province}内",
            "mainland": "省外",
        }[area]


@dataclass(frozen=True)
class DeliveryQuote:
    area: str
    fee_minor: int
    area_label_zh: str


def area_of(province: str, city: str, township: str, county: CountyPlace) -> str:
    """A township of the county is inside it whatever city was typed (people often leave it out);
    the province is compared without its 省 suffix (广东 / 广东省)."""
    if township in county.townships:
        return "county_seat" if township == county.seat else "county"
    return "in_province" if province and province.startswith(county.province.removesuffix("省")) else "mainland"


def fee_for(area: str, subtotal_minor: int) -> int:
    if area in ("county_seat", "county") and subtotal_minor >= FREE_IN_COUNTY_FROM_MINOR:
        return 0
    return FEES_MINOR[area]


def quote(
    province: str, city: str, township: str, subtotal_minor: int, county: CountyPlace | None = None
) -> DeliveryQuote:
    county = county or CountyPlace.from_settings()
    area = area_of(province or county.province, city or county.city, township, county)
    return DeliveryQuote(area, fee_for(area, subtotal_minor), county.area_label_zh(area))
