"""The Chinese message templates: short SMS texts signed with the brand (``SMS_SIGN_NAME``, in 【】).

A template names its parameters and their kinds; rendering refuses a missing, empty, unknown or
mistyped parameter (a notice reading "取货码None" is worse than no notice: the caller's transaction
fails and the bug shows). The body holds only what the template puts in it: order number, station,
amounts, pickup code and times — never an address or the recipient's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.config import get_settings
from app.kit import clock
from app.kit.money import format_minor
from app.notifications.models import BODY_MAX_CHARS

CHINA_TZ = clock.business_tz()
TEXT_PARAM_MAX_CHARS = 60


def signature() -> str:
    """The 【签名】 every text starts with: the county's brand as registered with the SMS gateway."""
    return f"【{get_settings().sms_sign_name}】"


class TemplateError(ValueError):
    """A programming error in a caller: unknown template or wrong parameters."""


class ParamKind(StrEnum):
    text = "text"  # a non-empty single-line string (order number, station name, pickup code)
    money = "money"  # an int in fen (CNY minor units), >= 0
    number = "number"  # an int > 0 (minutes)
    time = "time"  # an aware datetime (or its ISO string), shown in China time
    url = "url"  # an absolute http(s) address on one line (a link to our own site)


@dataclass(frozen=True)
class Rendered:
    body: str
    params: dict[str, Any]  # JSON-ready copy of what was rendered (times as ISO strings)


def _mask_code(value: str) -> str:
    head, _, secret = value.rpartition("-")
    return (f"{head}-" if head else "") + "*" * len(secret)


def _mask_link(value: str) -> str:
    address, _, _ = value.partition("?")
    return f"{address}?***"


# Params that are the customer's secret (the SMS carries them to the customer only): staff reading
# the outbox see them masked outside demo. A pickup code keeps its shelf slot, a link its page.
SECRET_PARAMS: dict[str, Callable[[str], str]] = {
    "pickup_code": _mask_code,
    "order_url": _mask_link,
    "code": _mask_code,
    "invite_url": _mask_link,
}


def mask_secrets(body: str, params: Mapping[str, Any]) -> str:
    """``…取货码2-3-480915…`` → ``…取货码2-3-******…``; ``…/orders/NP1?t=…`` → ``…/orders/NP1?***``."""
    for name, mask in SECRET_PARAMS.items():
        value = str(params.get(name) or "")
        if value:
            body = body.replace(value, mask(value))
    return body


URL_PARAM_MAX_CHARS = 200


def _url(name: str, value: Any) -> tuple[str, Any]:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise TemplateError(f"参数 {name} 应为 http(s) 地址")
    if len(value) > URL_PARAM_MAX_CHARS or any(c.isspace() for c in value):
        raise TemplateError(f"参数 {name} 不是有效的链接")
    return value, value


def _text(name: str, value: Any) -> tuple[str, Any]:
    if not isinstance(value, str):
        raise TemplateError(f"参数 {name} 应为文本")
    cleaned = " ".join(value.split())
    if not cleaned:
        raise TemplateError(f"参数 {name} 不能为空")
    if len(cleaned) > TEXT_PARAM_MAX_CHARS:
        raise TemplateError(f"参数 {name} 过长（最多 {TEXT_PARAM_MAX_CHARS} 字）")
    return cleaned, cleaned


def _int(name: str, value: Any, minimum: int) -> int:
    # bool is an int subclass; True is not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TemplateError(f"参数 {name} 应为整数")
    if value < minimum:
        raise TemplateError(f"参数 {name} 不能小于 {minimum}")
    return value


def _money(name: str, value: Any) -> tuple[str, Any]:
    amount = _int(name, value, 0)
    return format_minor(amount), amount


def _number(name: str, value: Any) -> tuple[str, Any]:
    n = _int(name, value, 1)
    return str(n), n


def _time(name: str, value: Any) -> tuple[str, Any]:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise TemplateError(f"参数 {name} 不是有效的时间") from exc
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TemplateError(f"参数 {name} 应为带时区的时间")
    local = value.astimezone(CHINA_TZ)
    return f"{local.month}月{local.day}日{local:%H:%M}", value.isoformat()


FORMATTERS: dict[ParamKind, Callable[[str, Any], tuple[str, Any]]] = {
    ParamKind.text: _text,
    ParamKind.money: _money,
    ParamKind.number: _number,
    ParamKind.time: _time,
    ParamKind.url: _url,
}

T, M, N, TIME, URL = ParamKind.text, ParamKind.money, ParamKind.number, ParamKind.time, ParamKind.url


def _placed(p: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    pay = f"取货时付款{p['amount_due_minor']}。" if raw["amount_due_minor"] > 0 else ""
    return f"订单{p['order_number']}已提交，自提点：{p['station_name']}，{pay}到站后将短信通知取货码。"


def _cancelled(p: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    refund = f"已付款项{p['refund_minor']}将原路退回。" if raw["refund_minor"] > 0 else ""
    return f"订单{p['order_number']}已取消。{refund}"


def _presale_allocated(p: Mapping[str, str], raw: Mapping[str, Any]) -> str:
    if raw["filled"] >= raw["ordered"]:
        short = ""
    elif raw["refund_minor"] > 0:
        short = f"未配到部分退{p['refund_minor']}。"
    else:
        short = "未配到部分无需付款。"
    return f"预售订单{p['order_number']}到货：订{p['ordered']}份配到{p['filled']}份，{short}到站后短信通知取货码。"


_TEXTS: dict[str, tuple[str, dict[str, ParamKind], Callable[[Mapping[str, str], Mapping[str, Any]], str]]] = {
    "order_placed": (
        "下单成功",
        {"order_number": T, "station_name": T, "amount_due_minor": M},
        _placed,
    ),
    "order_paid": (
        "支付成功",
        {"order_number": T, "amount_minor": M},
        lambda p, _: f"订单{p['order_number']}已付款{p['amount_minor']}，我们正在备货，到货后会再短信通知您。",
    ),
    "order_cancelled": ("订单取消", {"order_number": T, "refund_minor": M}, _cancelled),
    "presale_allocated": (
        "预售到货",
        {"order_number": T, "ordered": N, "filled": N, "refund_minor": M},
        _presale_allocated,
    ),
    # An event-ticket order (app.events) once paid: nothing ships; the QRs are on the order page.
    "tickets_paid": (
        "门票已出票",
        {"order_number": T, "amount_minor": M, "order_url": URL},
        lambda p, _: (
            f"订单{p['order_number']}已付款{p['amount_minor']}，门票已出票。活动当天请在集合村站出示"
            f"订单页上的门票二维码签到：{p['order_url']}"
        ),
    ),
    "order_ready_for_pickup": (
        "到站待取",
        {"order_number": T, "pickup_code": T, "station_name": T, "pickup_deadline": TIME, "order_url": URL},
        # The link opens the order page with the pickup QR: the station scans it, nobody types.
        lambda p, _: (
            f"订单{p['order_number']}已到{p['station_name']}，取货码{p['pickup_code']}，"
            f"请于{p['pickup_deadline']}前取货，逾期将退回。取货二维码：{p['order_url']}"
        ),
    ),
    "login_code": (
        "登录验证码",
        {"code": T, "minutes": N},
        lambda p, _: f"您的登录验证码是{p['code']}，{p['minutes']}分钟内有效。如非本人操作，请忽略本短信。",
    ),
    "order_expiring": (
        "即将超时",
        {"order_number": T, "minutes": N},
        lambda p, _: f"订单{p['order_number']}尚未支付，订单将在{p['minutes']}分钟后因未支付自动取消。",
    ),
    "order_expired": (
        "超时取消",
        {"order_number": T},
        lambda p, _: f"订单{p['order_number']}因超时未支付已自动取消。如仍需要，欢迎重新下单。",
    ),
    "buyer_approved": (
        "采购商审核通过",
        {"username": T},
        lambda p, _: f"批发采购商审核已通过，请用用户名{p['username']}和申请时设的密码登录。",
    ),
    "buyer_invitation": (
        "采购商同事邀请",
        {"company": T, "inviter": T, "days": N, "invite_url": URL},
        # The link is the invitation itself (one use, a few days): masked for staff like a code.
        lambda p, _: (
            f"批发采购商{p['company']}的{p['inviter']}邀请您开通采购账号，"
            f"请在{p['days']}天内打开链接设置用户名和密码：{p['invite_url']}"
        ),
    ),
    # Wholesale orders held over the company's credit limit: the buyer who placed it and the owner.
    "wholesale_order_held": (
        "批发订单待审批",
        {"order_number": T, "amount_minor": M, "hold_until": TIME},
        lambda p, _: (
            f"订单{p['order_number']}（{p['amount_minor']}）待服务中心信用审批，保留至{p['hold_until']}，逾期自动取消。"
        ),
    ),
    "wholesale_order_approved": (
        "批发订单已审批",
        {"order_number": T, "amount_minor": M, "departure": T},
        lambda p, _: (
            f"订单{p['order_number']}（{p['amount_minor']}）已获服务中心审批确认，随{p['departure']}的车次送货。"
        ),
    ),
    "wholesale_hold_lapsed": (
        "批发订单审批超时",
        {"order_number": T, "amount_minor": M},
        lambda p, _: (
            f"订单{p['order_number']}（{p['amount_minor']}）信用审批未按时通过，已取消并释放库存车位；"
            "如需要请联系服务中心。"
        ),
    ),
    "wholesale_trip_dispatched": (
        "批发订单发车",
        {"order_number": T, "trip": T},
        lambda p, _: f"订单{p['order_number']}已随珠三角车次{p['trip']}发车，请在收货时间内安排收货。",
    ),
    "wholesale_standing_placed": (
        "每周重复订单已下单",
        {"order_number": T, "trip_date": T, "amount_minor": M, "status": T},
        lambda p, _: (
            f"订单{p['order_number']}已按每周重复下单：{p['trip_date']}车次，{p['amount_minor']}，{p['status']}。"
        ),
    ),
    "wholesale_standing_failed": (
        "每周重复订单未能下单",
        {"trip_date": T, "reason": T},
        lambda p, _: f"每周重复订单{p['trip_date']}车次未能下单：{p['reason']}",
    ),
    "refund_issued": (
        "退款办理",
        {"order_number": T, "amount_minor": M},
        lambda p, _: f"订单{p['order_number']}的退款{p['amount_minor']}已办理，将原路退回，到账时间以支付渠道为准。",
    ),
    "claim_filed": (
        "理赔已提交",
        {"order_number": T, "claim_no": T},
        lambda p, _: f"订单{p['order_number']}的售后理赔申请（第{p['claim_no']}号）已收到，审核后短信告知结果。",
    ),
    "claim_approved": (
        "理赔已同意",
        {"order_number": T, "amount_minor": M},
        lambda p, _: f"订单{p['order_number']}的售后理赔已同意，退款{p['amount_minor']}，将原路退回或在村站退现金。",
    ),
    "claim_partly_approved": (
        "理赔部分同意",
        {"order_number": T, "amount_minor": M},
        lambda p, _: f"订单{p['order_number']}的售后理赔部分同意，退款{p['amount_minor']}，详情请查看订单页。",
    ),
    "claim_refused": (
        "理赔未同意",
        {"order_number": T, "reason": T},
        lambda p, _: f"订单{p['order_number']}的售后理赔未获同意，原因：{p['reason']}。如有疑问请联系客服。",
    ),
}

TEMPLATE_LABELS: dict[str, str] = {code: label for code, (label, _, _) in _TEXTS.items()}
TEMPLATE_PARAMS: dict[str, dict[str, ParamKind]] = {code: params for code, (_, params, _) in _TEXTS.items()}


def render(template: str, params: Mapping[str, Any]) -> Rendered:
    """The signed body for ``template`` with ``params``, and the JSON-ready parameters to store."""
    try:
        _, kinds, text = _TEXTS[template]
    except KeyError:
        raise TemplateError(f"未知的消息模板：{template}") from None
    missing = sorted(name for name in kinds if params.get(name) is None)
    if missing:
        raise TemplateError(f"消息模板 {template} 缺少参数：{', '.join(missing)}")
    unknown = sorted(set(params) - set(kinds))
    if unknown:
        raise TemplateError(f"消息模板 {template} 不认识参数：{', '.join(unknown)}")
    shown: dict[str, str] = {}
    stored: dict[str, Any] = {}
    for name, kind in kinds.items():
        shown[name], stored[name] = FORMATTERS[kind](name, params[name])
    body = signature() + text(shown, stored)
    if len(body) > BODY_MAX_CHARS:
        raise TemplateError(f"消息过长（{len(body)} 字，最多 {BODY_MAX_CHARS} 字）")
    return Rendered(body=body, params=stored)
