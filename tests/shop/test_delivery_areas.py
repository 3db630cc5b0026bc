"""Home-delivery areas come from where the settings put the county, not from code: another county
of the same programme gets its own seat, townships and province."""

from __future__ import annotations

from app.config import Settings
from app.shop import delivery

SHIXING = delivery.CountyPlace.from_settings(Settings())
OTHER = delivery.CountyPlace.from_settings(
    Settings(
        county_name="连山县",
        county_province="湖南省",
        county_city="永州市",
        county_seat_township="吉田镇",
        county_townships=("吉田镇", "太保镇"),
    )
)


def test_the_default_county_keeps_its_rate_card() -> None:
    assert delivery.quote("", "", "太平镇", 1000, SHIXING) == delivery.DeliveryQuote("county_seat", 500, "县城")
    assert delivery.quote("", "", "马市镇", 1000, SHIXING) == delivery.DeliveryQuote("county", 800, "始兴县乡镇")
    assert delivery.quote("广东省", "广州市", "天河区", 1000, SHIXING).fee_minor == 1200
    assert delivery.quote("湖南省", "长沙市", "岳麓区", 1000, SHIXING).area == "mainland"
    # Free inside the county from the threshold; never outside it.
    assert delivery.quote("", "", "马市镇", delivery.FREE_IN_COUNTY_FROM_MINOR, SHIXING).fee_minor == 0
    assert delivery.quote("广东", "广州市", "天河区", delivery.FREE_IN_COUNTY_FROM_MINOR, SHIXING).fee_minor == 1200


def test_another_county_gets_its_own_areas_and_labels() -> None:
    assert delivery.quote("", "", "吉田镇", 1000, OTHER) == delivery.DeliveryQuote("county_seat", 500, "县城")
    assert delivery.quote("", "", "太保镇", 1000, OTHER) == delivery.DeliveryQuote("county", 800, "连山县乡镇")
    # Shixing's townships are nowhere special to it; its own province is.
    assert delivery.quote("广东省", "韶关市", "太平镇", 1000, OTHER).area == "mainland"
    assert delivery.quote("湖南省", "长沙市", "岳麓区", 1000, OTHER) == delivery.DeliveryQuote(
        "in_province", 1200, "湖南省内"
    )
