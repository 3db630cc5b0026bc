"""The Alibaba.com listing editor's form, read into a ``ListingEdit`` and written back out.

Only what the text boxes mean lives here: one keyword, attribute ("Name: Value") or ladder tier
("quantity price") per line, US dollars to integer cents, kilograms as a Decimal, whole
centimetres. Whether the result is acceptable to Alibaba.com is ``app.crossborder.validation``'s
call. A field that cannot be read at all is reported here and, for the validation pass that
follows, keeps its stored value: the page then shows every other field's problems at once instead
of one round trip per mistake.

Round trip: :func:`listing_values` renders a listing exactly as :func:`parse_listing` reads it
back, so saving an untouched form changes nothing (and schedules no push).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

from starlette.datastructures import FormData

from app.crossborder.listings import ListingEdit
from app.crossborder.models import Listing
from app.web import forms

T = TypeVar("T")

TEXT_FIELDS: Final[tuple[str, ...]] = (
    "title_en",
    "description_en",
    "keywords",
    "category_id",
    "attributes",
    "price_tiers",
    "moq",
    "unit",
    "lead_time_days",
    "weight_kg",
    "size_length",
    "size_width",
    "size_height",
    "shipping_template_id",
)
SIZE_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("length", "size_length"),
    ("width", "size_width"),
    ("height", "size_height"),
)
UNIT_MAX: Final[int] = 30  # the column's width
TEMPLATE_ID_DIGITS: Final[int] = 19

# "20 19.80", "20: 19.80", "20 = $19.80", "20\t19.80" (pasted from a spreadsheet).
_TIER = re.compile(r"^(?P<quantity>\d{1,9})\s*[\s:：=]\s*(?:US\$|USD|\$)?\s*(?P<price>\d{1,9}(?:\.\d+)?)$")
_WHOLE = re.compile(r"^\d{1,9}$")
_DECIMAL = re.compile(r"^(?P<whole>\d+)(?:\.\d+)?$")
_CENTIMETRES = re.compile(r"^\d{1,5}$")


class _Unreadable(Exception):
    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


def form_values(form: FormData) -> dict[str, Any]:
    """The submitted form as typed (shown again as it was when the save is refused)."""
    values: dict[str, Any] = {name: forms.text(form, name, strip=False) for name in TEXT_FIELDS}
    values["image_paths"] = [v for v in form.getlist("image_paths") if isinstance(v, str)]
    values["desired_online"] = form.get("desired_online") == "on"
    return values


def usd(cents: int) -> str:
    """``1980`` → ``"19.80"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def _number_text(value: Any) -> str:
    return "" if value is None else str(value)


def listing_values(listing: Listing) -> dict[str, Any]:
    """The stored listing in the form's terms."""
    size = listing.size_cm or {}
    tiers = []
    for tier in listing.price_tiers or []:
        cents = tier.get("price_cents")
        price = usd(cents) if isinstance(cents, int) else _number_text(cents)
        tiers.append(f"{_number_text(tier.get('min_quantity'))} {price}")
    return {
        "title_en": listing.title_en,
        "description_en": listing.description_en,
        "keywords": "\n".join(listing.keywords or []),
        "category_id": listing.category_id or "",
        "attributes": "\n".join(
            f"{a.get('attribute_name', '')}: {a.get('attribute_value', '')}" for a in listing.attributes or []
        ),
        "price_tiers": "\n".join(tiers),
        "moq": str(listing.moq),
        "unit": listing.unit,
        "lead_time_days": str(listing.lead_time_days),
        "weight_kg": _number_text(listing.weight_kg),
        **{field: _number_text(size.get(key)) for key, field in SIZE_FIELDS},
        "shipping_template_id": listing.shipping_template_id or "",
        "image_paths": list(listing.image_paths or []),
        "desired_online": listing.desired_online,
    }


# ---- one parser per field: the value, or _Unreadable with the reasons ----------------------------


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _description(raw: str) -> str:
    return raw.replace("\r\n", "\n").replace("\r", "\n").strip()


def _attributes(raw: str) -> list[dict[str, Any]]:
    attributes: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(_lines(raw), start=1):
        name, colon, value = line.replace("：", ":").partition(":")
        if not colon or not name.strip() or not value.strip():
            problems.append(f"产品属性第 {number} 行“{line}”应写成“名称: 值”，如 Place of Origin: Guangdong, China")
            continue
        attributes.append({"attribute_name": name.strip(), "attribute_value": value.strip()})
    if problems:
        raise _Unreadable(*problems)
    return attributes


def _price_tiers(raw: str) -> list[dict[str, int]]:
    tiers: list[dict[str, int]] = []
    problems: list[str] = []
    for number, line in enumerate(_lines(raw), start=1):
        found = _TIER.match(line)
        if found is None:
            problems.append(f"阶梯价第 {number} 档“{line}”格式不对：每行写“起订量 单价（美元）”，如 20 19.80")
            continue
        price = Decimal(found["price"])
        if price != price.quantize(Decimal("0.01")):
            problems.append(f"阶梯价第 {number} 档单价 {found['price']} 美元最多两位小数")
            continue
        tiers.append({"min_quantity": int(found["quantity"]), "price_cents": int(price * 100)})
    if problems:
        raise _Unreadable(*problems)
    return tiers


def _whole(label: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        text = raw.strip()
        if not text:
            raise _Unreadable(f"{label}：必填")
        if not _WHOLE.match(text):
            raise _Unreadable(f"{label}须为整数（现为“{text}”）")
        return int(text)

    return parse


def _unit(raw: str) -> str:
    text = raw.strip()
    if len(text) > UNIT_MAX:
        raise _Unreadable(f"计量单位不能超过 {UNIT_MAX} 个字符")
    return text


def _weight(raw: str) -> Decimal | None:
    text = raw.strip()
    if not text:
        return None  # validation says it is required
    found = _DECIMAL.match(text)
    if found is None:
        raise _Unreadable(f"毛重（千克）须为数字，如 5.6（现为“{text}”）")
    if len(found["whole"].lstrip("0")) > 7:
        raise _Unreadable("毛重（千克）不能超过 9999999")
    return Decimal(text)


def _size(raw: Mapping[str, str]) -> dict[str, Any]:
    size: dict[str, Any] = {}
    for key, field in SIZE_FIELDS:
        text = raw[field].strip()
        if not text:
            continue  # validation says all three are required
        if not _CENTIMETRES.match(text):
            raise _Unreadable("包装尺寸（长、宽、高）须为整数厘米，如 40")
        size[key] = int(text)
    return size


def _template_id(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > TEMPLATE_ID_DIGITS:
        raise _Unreadable("运费模板 ID 必须是数字")
    return text


def _images(selected: list[str], allowed: Collection[str]) -> list[str]:
    chosen = list(dict.fromkeys(selected))  # a path ticked twice counts once, first place kept
    if any(path not in allowed for path in chosen):
        raise _Unreadable("所选图片不属于该商品，请刷新页面后重新选择")
    return chosen


def _read(problems: list[str], parse: Callable[[Any], T], raw: Any, fallback: T) -> T:
    try:
        return parse(raw)
    except _Unreadable as exc:
        problems.extend(exc.messages)
        return fallback


def parse_listing(
    values: Mapping[str, Any], current: Listing, *, allowed_images: Collection[str]
) -> tuple[ListingEdit, list[str]]:
    """The edit the form describes, and what could not be read (fields that could not be read keep
    ``current``'s value in the edit). ``allowed_images``: the catalog product's image paths plus
    those the listing already has — never an arbitrary file path."""
    problems: list[str] = []
    edit = ListingEdit(
        title_en=str(values["title_en"]).strip(),
        description_en=_description(values["description_en"]),
        keywords=_lines(values["keywords"]),
        category_id=str(values["category_id"]).strip() or None,
        attributes=_read(problems, _attributes, values["attributes"], current.attributes),
        image_paths=_read(
            problems, lambda raw: _images(raw, allowed_images), values["image_paths"], current.image_paths
        ),
        price_tiers=_read(problems, _price_tiers, values["price_tiers"], current.price_tiers),
        moq=_read(problems, _whole("最小起订量"), values["moq"], current.moq),
        unit=_read(problems, _unit, values["unit"], current.unit),
        lead_time_days=_read(problems, _whole("发货期（天）"), values["lead_time_days"], current.lead_time_days),
        weight_kg=_read(problems, _weight, values["weight_kg"], current.weight_kg),
        size_cm=_read(problems, _size, values, current.size_cm),
        shipping_template_id=_read(
            problems, _template_id, values["shipping_template_id"], current.shipping_template_id
        ),
        desired_online=bool(values["desired_online"]),
    )
    return edit, problems
