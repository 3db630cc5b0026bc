"""Local checks of a listing against what Alibaba.com refuses (reference §7.2, §7.4, §9).

The editor shows these messages before anything is sent, so a listing that would come back as
``B_TITLE_NOT_FOUND``, ``B_PRICE_SEQUENCE_INVALID``, ``B_PRICE_SCALE_INVALID``,
``CHK_BASIC_MAX_LENGTH`` … is fixed locally instead of burning calls and an audit round. The
limits are the documented ones: subject ≤ 128 characters, ≤ 3 keywords without ``,`` or ``;``
(the schema flow allows 384 bytes in all), ≤ 6 images, ladder ≤ 4 tiers on create with start
quantities 1–99999, prices 0.01–9999999.00 USD, MOQ 1–99999, handling time 1–60 days,
description ≤ 60000 characters, weight in kg with 3 decimals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol

TITLE_MAX: Final[int] = 128
KEYWORDS_MAX: Final[int] = 3
KEYWORD_MAX_CHARS: Final[int] = 128
KEYWORDS_MAX_BYTES: Final[int] = 384
DESCRIPTION_MAX: Final[int] = 60_000
IMAGES_MAX: Final[int] = 6
TIERS_MAX: Final[int] = 4
QUANTITY_MAX: Final[int] = 99_999
PRICE_MIN_CENTS: Final[int] = 1
PRICE_MAX_CENTS: Final[int] = 999_999_900  # 9999999.00 USD
LEAD_TIME_MAX_DAYS: Final[int] = 60
SIZE_KEYS: Final[tuple[str, ...]] = ("length", "width", "height")

# Printable ASCII: Alibaba.com's English site takes English text; CJK or full-width characters in
# the subject are refused or mangled by the translation-backed V2 listing.
_ENGLISH = re.compile(r"^[\x20-\x7e]*$")
_DIGITS = re.compile(r"^[1-9][0-9]{0,18}$")


class ListingFields(Protocol):
    """What the checks read: a ``Listing`` row or any object with the same attributes."""

    @property
    def title_en(self) -> str: ...

    @property
    def description_en(self) -> str: ...

    @property
    def keywords(self) -> list[str]: ...

    @property
    def category_id(self) -> str | None: ...

    @property
    def image_paths(self) -> list[str]: ...

    @property
    def price_tiers(self) -> list[dict[str, int]]: ...

    @property
    def moq(self) -> int: ...

    @property
    def unit(self) -> str: ...

    @property
    def lead_time_days(self) -> int: ...

    @property
    def weight_kg(self) -> Decimal | None: ...

    @property
    def size_cm(self) -> dict[str, Any]: ...


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _title(title: str) -> list[str]:
    stripped = title.strip()
    if not stripped:
        return ["英文标题不能为空"]
    errors = []
    if len(stripped) > TITLE_MAX:
        errors.append(f"英文标题不能超过 {TITLE_MAX} 个字符（现为 {len(stripped)} 个）")
    if not _ENGLISH.match(stripped):
        errors.append("英文标题只能包含英文字母、数字和半角标点（不能有中文或全角字符）")
    return errors


def _keywords(keywords: Sequence[str]) -> list[str]:
    words = [k.strip() for k in keywords]
    if not words or not any(words):
        return ["至少需要 1 个英文关键词"]
    errors = []
    if len(words) > KEYWORDS_MAX:
        errors.append(f"关键词最多 {KEYWORDS_MAX} 个（现为 {len(words)} 个）")
    for index, word in enumerate(words, start=1):
        if not word:
            errors.append(f"第 {index} 个关键词为空")
        elif len(word) > KEYWORD_MAX_CHARS:
            errors.append(f"第 {index} 个关键词不能超过 {KEYWORD_MAX_CHARS} 个字符")
        elif "," in word or ";" in word:
            errors.append(f"第 {index} 个关键词不能包含逗号或分号")
        elif not _ENGLISH.match(word):
            errors.append(f"第 {index} 个关键词只能使用英文")
    if len("\n".join(words).encode("utf-8")) > KEYWORDS_MAX_BYTES:
        errors.append(f"关键词合计不能超过 {KEYWORDS_MAX_BYTES} 字节")
    return errors


def _tiers(tiers: Sequence[Mapping[str, Any]], moq: int) -> list[str]:
    if not tiers:
        return ["至少需要 1 档美元阶梯价"]
    errors = []
    if len(tiers) > TIERS_MAX:
        errors.append(f"阶梯价最多 {TIERS_MAX} 档（现为 {len(tiers)} 档）")
    previous: tuple[int, int] | None = None
    for index, tier in enumerate(tiers, start=1):
        quantity, cents = tier.get("min_quantity"), tier.get("price_cents")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= QUANTITY_MAX:
            errors.append(f"第 {index} 档起订量须为 1–{QUANTITY_MAX} 的整数")
            previous = None
            continue
        if not isinstance(cents, int) or isinstance(cents, bool) or not PRICE_MIN_CENTS <= cents <= PRICE_MAX_CENTS:
            errors.append(f"第 {index} 档价格须在 0.01–9999999.00 美元之间（以美分整数保存，最多两位小数）")
            previous = None
            continue
        if previous is not None:
            if quantity <= previous[0]:
                errors.append(f"第 {index} 档起订量必须大于第 {index - 1} 档（{previous[0]}）")
            if cents > previous[1]:
                errors.append(f"第 {index} 档价格不能高于第 {index - 1} 档（数量越多单价不能越高）")
        previous = (quantity, cents)
    first = tiers[0].get("min_quantity")
    valid_first = isinstance(first, int) and not isinstance(first, bool) and 1 <= first <= QUANTITY_MAX
    if valid_first and _is_int(moq) and 1 <= moq <= QUANTITY_MAX and first != moq:
        errors.append(f"第 1 档起订量（{first}）必须等于最小起订量（{moq}）")
    return errors


def _size(size: Mapping[str, Any]) -> list[str]:
    for key in SIZE_KEYS:
        value = size.get(key)
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return ["包装尺寸（长、宽、高，厘米）都必须大于 0"]
        if value is None or isinstance(value, bool) or not number.is_finite() or number <= 0:
            return ["包装尺寸（长、宽、高，厘米）都必须大于 0"]
    return []


def validate_listing(listing: ListingFields) -> list[str]:
    """Every reason Alibaba.com would refuse this listing, in Chinese; empty when it looks publishable."""
    errors: list[str] = []
    errors += _title(listing.title_en or "")
    if len(listing.description_en or "") > DESCRIPTION_MAX:
        errors.append(f"英文描述不能超过 {DESCRIPTION_MAX} 个字符")
    errors += _keywords(listing.keywords or [])
    if not listing.category_id:
        errors.append("请选择阿里巴巴国际站类目（类目 ID）")
    elif not _DIGITS.match(str(listing.category_id)):
        errors.append("类目 ID 必须是数字")
    images = listing.image_paths or []
    if not images:
        errors.append("至少需要 1 张商品图片")
    elif len(images) > IMAGES_MAX:
        errors.append(f"商品图片最多 {IMAGES_MAX} 张（现为 {len(images)} 张）")
    moq = listing.moq
    if not _is_int(moq) or not 1 <= moq <= QUANTITY_MAX:
        errors.append(f"最小起订量须为 1–{QUANTITY_MAX} 的整数")
    errors += _tiers(listing.price_tiers or [], moq)
    if not (listing.unit or "").strip():
        errors.append("请填写计量单位（如 Box、Bag、Piece）")
    lead = listing.lead_time_days
    if not _is_int(lead) or not 1 <= lead <= LEAD_TIME_MAX_DAYS:
        errors.append(f"发货期须为 1–{LEAD_TIME_MAX_DAYS} 天")
    weight = listing.weight_kg
    if weight is None or weight <= 0:
        errors.append("毛重（千克）必须大于 0")
    elif weight != weight.quantize(Decimal("0.001")):
        errors.append("毛重最多保留 3 位小数（千克）")
    errors += _size(listing.size_cm or {})
    return errors
