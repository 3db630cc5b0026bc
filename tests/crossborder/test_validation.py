"""Local listing validation: exact Chinese messages for what Alibaba.com would refuse."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from app.crossborder.validation import validate_listing


@dataclass
class Draft:
    title_en: str = "Nanling Pearl Fresh Loquat Grade A 5kg Box"
    description_en: str = "Sweet loquats from Shixing County."
    keywords: list[str] = field(default_factory=lambda: ["fresh loquat", "chinese fruit"])
    category_id: str | None = "100003"
    image_paths: list[str] = field(default_factory=lambda: ["listings/loquat-1.jpg"])
    price_tiers: list[dict[str, int]] = field(
        default_factory=lambda: [{"min_quantity": 20, "price_cents": 1850}, {"min_quantity": 100, "price_cents": 1690}]
    )
    moq: int = 20
    unit: str = "Box"
    lead_time_days: int = 7
    weight_kg: Decimal | None = Decimal("5.600")
    size_cm: dict[str, Any] = field(default_factory=lambda: {"length": 40, "width": 30, "height": 18})


def test_a_good_listing_has_no_messages() -> None:
    assert validate_listing(Draft()) == []


def test_title() -> None:
    assert validate_listing(Draft(title_en="  ")) == ["英文标题不能为空"]
    assert validate_listing(Draft(title_en="x" * 128)) == []
    assert validate_listing(Draft(title_en="x" * 129)) == ["英文标题不能超过 128 个字符（现为 129 个）"]
    not_english = ["英文标题只能包含英文字母、数字和半角标点（不能有中文或全角字符）"]
    assert validate_listing(Draft(title_en="始兴 Loquat")) == not_english
    assert validate_listing(Draft(title_en="Loquat，5kg")) == not_english


def test_keywords() -> None:
    assert validate_listing(Draft(keywords=[])) == ["至少需要 1 个英文关键词"]
    assert validate_listing(Draft(keywords=["a", "b", "c", "d"])) == ["关键词最多 3 个（现为 4 个）"]
    assert validate_listing(Draft(keywords=["loquat, fresh"])) == ["第 1 个关键词不能包含逗号或分号"]
    assert validate_listing(Draft(keywords=["ok", "枇杷"])) == ["第 2 个关键词只能使用英文"]
    assert validate_listing(Draft(keywords=["ok", ""])) == ["第 2 个关键词为空"]
    assert validate_listing(Draft(keywords=["k" * 129])) == ["第 1 个关键词不能超过 128 个字符"]
    assert validate_listing(Draft(keywords=["k" * 128, "k" * 128, "k" * 128])) == ["关键词合计不能超过 384 字节"]


def test_category_images_unit_description() -> None:
    assert validate_listing(Draft(category_id=None)) == ["请选择阿里巴巴国际站类目（类目 ID）"]
    assert validate_listing(Draft(category_id="fruit")) == ["类目 ID 必须是数字"]
    assert validate_listing(Draft(image_paths=[])) == ["至少需要 1 张商品图片"]
    assert validate_listing(Draft(image_paths=[f"{i}.jpg" for i in range(7)])) == ["商品图片最多 6 张（现为 7 张）"]
    assert validate_listing(Draft(unit=" ")) == ["请填写计量单位（如 Box、Bag、Piece）"]
    assert validate_listing(Draft(description_en="d" * 60_001)) == ["英文描述不能超过 60000 个字符"]


def test_price_tiers() -> None:
    def tiers(*pairs: tuple[Any, Any]) -> list[dict[str, Any]]:
        return [{"min_quantity": q, "price_cents": p} for q, p in pairs]

    assert validate_listing(Draft(price_tiers=[])) == ["至少需要 1 档美元阶梯价"]
    assert validate_listing(Draft(price_tiers=tiers((20, 900), (40, 800), (60, 700), (80, 600), (100, 500)))) == [
        "阶梯价最多 4 档（现为 5 档）"
    ]
    assert validate_listing(Draft(price_tiers=tiers((20, 900), (20, 800)))) == ["第 2 档起订量必须大于第 1 档（20）"]
    assert validate_listing(Draft(price_tiers=tiers((20, 900), (10, 800)))) == ["第 2 档起订量必须大于第 1 档（20）"]
    assert validate_listing(Draft(price_tiers=tiers((20, 900), (50, 901)))) == [
        "第 2 档价格不能高于第 1 档（数量越多单价不能越高）"
    ]
    assert validate_listing(Draft(price_tiers=tiers((20, 900), (50, 900)))) == []  # equal prices are fine
    assert validate_listing(Draft(price_tiers=tiers((20, 0)))) == [
        "第 1 档价格须在 0.01–9999999.00 美元之间（以美分整数保存，最多两位小数）"
    ]
    assert validate_listing(Draft(price_tiers=tiers((20, 12.505)))) == [
        "第 1 档价格须在 0.01–9999999.00 美元之间（以美分整数保存，最多两位小数）"
    ]
    assert validate_listing(Draft(price_tiers=tiers((20, 1_000_000_000)))) == [
        "第 1 档价格须在 0.01–9999999.00 美元之间（以美分整数保存，最多两位小数）"
    ]
    assert validate_listing(Draft(price_tiers=tiers((0, 900)), moq=1)) == [
        "第 1 档起订量须为 1–99999 的整数",
    ]
    assert validate_listing(Draft(price_tiers=tiers((10, 900)))) == ["第 1 档起订量（10）必须等于最小起订量（20）"]


def test_moq_lead_time_weight_size() -> None:
    base = Draft()
    assert validate_listing(replace(base, moq=0, price_tiers=[{"min_quantity": 0, "price_cents": 100}])) == [
        "最小起订量须为 1–99999 的整数",
        "第 1 档起订量须为 1–99999 的整数",
    ]
    assert validate_listing(Draft(lead_time_days=0)) == ["发货期须为 1–60 天"]
    assert validate_listing(Draft(lead_time_days=61)) == ["发货期须为 1–60 天"]
    assert validate_listing(Draft(weight_kg=None)) == ["毛重（千克）必须大于 0"]
    assert validate_listing(Draft(weight_kg=Decimal("0"))) == ["毛重（千克）必须大于 0"]
    assert validate_listing(Draft(weight_kg=Decimal("1.2345"))) == ["毛重最多保留 3 位小数（千克）"]
    assert validate_listing(Draft(size_cm={"length": 40, "width": 30})) == ["包装尺寸（长、宽、高，厘米）都必须大于 0"]
    assert validate_listing(Draft(size_cm={"length": 40, "width": 0, "height": 2})) == [
        "包装尺寸（长、宽、高，厘米）都必须大于 0"
    ]
    assert validate_listing(Draft(size_cm={"length": "x", "width": 1, "height": 2})) == [
        "包装尺寸（长、宽、高，厘米）都必须大于 0"
    ]


def test_every_problem_is_reported_at_once() -> None:
    bad = Draft(title_en="", keywords=[], category_id=None, image_paths=[], price_tiers=[], lead_time_days=0,
                weight_kg=None, size_cm={})
    assert validate_listing(bad) == [
        "英文标题不能为空",
        "至少需要 1 个英文关键词",
        "请选择阿里巴巴国际站类目（类目 ID）",
        "至少需要 1 张商品图片",
        "至少需要 1 档美元阶梯价",
        "发货期须为 1–60 天",
        "毛重（千克）必须大于 0",
        "包装尺寸（长、宽、高，厘米）都必须大于 0",
    ]
