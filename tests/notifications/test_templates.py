"""Every template renders signed, short Chinese text; a missing or mistyped parameter refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.config import get_settings
from app.kit.phones import mask_phone
from app.notifications.templates import TEMPLATE_LABELS, TEMPLATE_PARAMS, TemplateError, render

DEADLINE = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # 18:00 in Shixing
SAMPLES: dict[str, dict[str, Any]] = {
    "order_placed": {"order_number": "NP2611290001", "station_name": "太平镇东湖坪村站", "amount_due_minor": 3650},
    "order_paid": {"order_number": "NP2611290001", "amount_minor": 3650},
    "order_cancelled": {"order_number": "NP2611290001", "refund_minor": 3650},
    "presale_allocated": {"order_number": "NP2611290001", "ordered": 3, "filled": 2, "refund_minor": 8800},
    "tickets_paid": {
        "order_number": "NP2611290001",
        "amount_minor": 13200,
        "order_url": "https://shop.example.cn/orders/NP2611290001?t=Zx1.abc",
    },
    "order_ready_for_pickup": {
        "order_number": "NP2611290001",
        "pickup_code": "2-3-483920",
        "station_name": "太平镇东湖坪村站",
        "pickup_deadline": DEADLINE,
        "order_url": "https://shop.example.cn/orders/NP2611290001?t=Zx1.abc",
    },
    "order_expiring": {"order_number": "NP2611290001", "minutes": 5},
    "login_code": {"code": "480915", "minutes": 5},
    "order_expired": {"order_number": "NP2611290001"},
    "refund_issued": {"order_number": "NP2611290001", "amount_minor": 1200},
    "claim_filed": {"order_number": "NP2611290001", "claim_no": "12"},
    "claim_approved": {"order_number": "NP2611290001", "amount_minor": 6800},
    "claim_partly_approved": {"order_number": "NP2611290001", "amount_minor": 3400},
    "claim_refused": {"order_number": "NP2611290001", "reason": "照片看不出坏果，且已超过正常损耗范围"},
    "buyer_approved": {"username": "dg-buyer"},
    "wholesale_order_held": {"order_number": "NP2611290001", "amount_minor": 1234500, "hold_until": DEADLINE},
    "wholesale_order_approved": {
        "order_number": "NP2611290001",
        "amount_minor": 1234500,
        "departure": "周二（12月8日）",
    },
    "wholesale_hold_lapsed": {"order_number": "NP2611290001", "amount_minor": 1234500},
    "wholesale_trip_dispatched": {"order_number": "NP2611290001", "trip": "SX-GZ-261208"},
    "wholesale_standing_placed": {
        "order_number": "NP2611290001",
        "trip_date": "周四（12月10日）",
        "amount_minor": 1_234_500,
        "status": "超出信用额度，待服务中心审批",
    },
    "wholesale_standing_failed": {
        "trip_date": "周四（12月10日）",
        "reason": "W-SKU-12 库存不足：12月10日车次可供 20 件（保质期余量不低于 60%），订购 6"[:37] + "…",
    },
    "buyer_invitation": {
        "company": "广州江南果菜批发市场粤北鲜果商行",
        "inviter": "陈志强",
        "days": 7,
        "invite_url": "https://shop.example.cn/wholesale/join?t=npi_Zx1abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    },
}


def test_the_samples_cover_every_template() -> None:
    assert set(SAMPLES) == set(TEMPLATE_PARAMS) == set(TEMPLATE_LABELS)
    assert set(SAMPLES) >= {
        "order_placed",
        "order_paid",
        "order_cancelled",
        "order_ready_for_pickup",
        "order_expiring",
        "order_expired",
        "refund_issued",
    }


@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_every_template_renders_signed_and_short(template: str) -> None:
    rendered = render(template, SAMPLES[template])
    about = {
        "buyer_approved": "批发采购商",
        "buyer_invitation": "批发采购商",
        "login_code": "您的登录验证码是480915",
        "presale_allocated": "预售订单NP2611290001",
        "wholesale_standing_failed": "每周重复订单",
    }.get(template, "订单NP2611290001")
    assert rendered.body.startswith("【南岭明珠】" + about)
    # One SMS segment (70 characters of Chinese); a notice carrying the order's link up to three
    # (3 × 67 in a concatenated message), far under the 500-character column.
    has_link = "url" in TEMPLATE_PARAMS[template].values()
    assert len(rendered.body) <= (201 if has_link else 70)
    assert "None" not in rendered.body and "{" not in rendered.body
    assert set(rendered.params) == set(TEMPLATE_PARAMS[template])


def test_ready_for_pickup_text() -> None:
    assert render("order_ready_for_pickup", SAMPLES["order_ready_for_pickup"]).body == (
        "【南岭明珠】订单NP2611290001已到太平镇东湖坪村站，取货码2-3-483920，请于12月2日18:00前取货，逾期将退回。"
        "取货二维码：https://shop.example.cn/orders/NP2611290001?t=Zx1.abc"
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/orders/NP1", "https://shop.example.cn/orders/NP1 x", "https://x.cn/" + "a" * 200]
)
def test_a_link_must_be_a_plain_web_address(url: str) -> None:
    with pytest.raises(TemplateError, match="order_url"):
        render("order_ready_for_pickup", {**SAMPLES["order_ready_for_pickup"], "order_url": url})


def test_buyer_approved_text() -> None:
    assert render("buyer_approved", SAMPLES["buyer_approved"]).body == (
        "【南岭明珠】批发采购商审核已通过，请用用户名dg-buyer和申请时设的密码登录。"
    )
    longest = render("buyer_approved", {"username": "u" * 50})  # the longest username an application takes
    assert "u" * 50 in longest.body


def test_wholesale_trip_dispatched_text() -> None:
    assert render("wholesale_trip_dispatched", SAMPLES["wholesale_trip_dispatched"]).body == (
        "【南岭明珠】订单NP2611290001已随珠三角车次SX-GZ-261208发车，请在收货时间内安排收货。"
    )


def test_texts_are_signed_with_the_countys_own_brand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another county of the programme signs its texts with its own registered name."""
    monkeypatch.setenv("SMS_SIGN_NAME", "丹霞好物")
    get_settings.cache_clear()
    try:
        assert render("order_expiring", SAMPLES["order_expiring"]).body == (
            "【丹霞好物】订单NP2611290001尚未支付，订单将在5分钟后因未支付自动取消。"
        )
    finally:
        monkeypatch.delenv("SMS_SIGN_NAME")
        get_settings.cache_clear()


def test_expiring_text() -> None:
    assert render("order_expiring", SAMPLES["order_expiring"]).body == (
        "【南岭明珠】订单NP2611290001尚未支付，订单将在5分钟后因未支付自动取消。"
    )


def test_amounts_appear_only_when_there_is_one() -> None:
    assert render("order_placed", SAMPLES["order_placed"]).body == (
        "【南岭明珠】订单NP2611290001已提交，自提点：太平镇东湖坪村站，取货时付款¥36.50。到站后将短信通知取货码。"
    )
    prepaid = render("order_placed", {**SAMPLES["order_placed"], "amount_due_minor": 0}).body
    assert "付款" not in prepaid and "¥" not in prepaid
    assert render("order_cancelled", SAMPLES["order_cancelled"]).body == (
        "【南岭明珠】订单NP2611290001已取消。已付款项¥36.50将原路退回。"
    )
    assert render("order_cancelled", {**SAMPLES["order_cancelled"], "refund_minor": 0}).body == (
        "【南岭明珠】订单NP2611290001已取消。"
    )


def test_params_are_stored_json_ready() -> None:
    stored = render("order_ready_for_pickup", SAMPLES["order_ready_for_pickup"]).params
    assert stored["pickup_deadline"] == "2026-12-02T10:00:00+00:00"
    # A stored ISO time renders the same text again.
    again = render("order_ready_for_pickup", stored)
    assert again.body == render("order_ready_for_pickup", SAMPLES["order_ready_for_pickup"]).body


@pytest.mark.parametrize(("template", "missing"), [(t, p) for t in sorted(SAMPLES) for p in sorted(TEMPLATE_PARAMS[t])])
def test_a_missing_param_raises(template: str, missing: str) -> None:
    params = {k: v for k, v in SAMPLES[template].items() if k != missing}
    with pytest.raises(TemplateError, match=missing):
        render(template, params)
    with pytest.raises(TemplateError, match=missing):
        render(template, {**params, missing: None})


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("order_paid", {"order_number": "NP1", "amount_minor": 36.5}),  # float money
        ("order_paid", {"order_number": "NP1", "amount_minor": True}),
        ("order_paid", {"order_number": "NP1", "amount_minor": -1}),
        ("order_paid", {"order_number": "  ", "amount_minor": 1}),
        ("order_paid", {"order_number": 123, "amount_minor": 1}),
        ("order_expiring", {"order_number": "NP1", "minutes": 0}),
        ("order_expired", {"order_number": "NP1", "station_name": "多余的参数"}),
        ("order_ready_for_pickup", {**SAMPLES["order_ready_for_pickup"], "pickup_deadline": datetime(2026, 12, 2)}),
        ("order_ready_for_pickup", {**SAMPLES["order_ready_for_pickup"], "pickup_deadline": "明天"}),
        ("order_expired", {"order_number": "N" * 61}),
        ("order_ready_for_pickup", {**SAMPLES["order_ready_for_pickup"], "order_url": "javascript:alert(1)"}),
        ("order_ready_for_pickup", {**SAMPLES["order_ready_for_pickup"], "order_url": "https://a.cn/x y"}),
        ("no_such_template", {"order_number": "NP1"}),
    ],
)
def test_bad_params_raise(template: str, params: dict[str, Any]) -> None:
    with pytest.raises(TemplateError):
        render(template, params)


def test_masked_phone() -> None:
    assert mask_phone("+8613800138000") == "+86 138****8000"
    assert mask_phone("+85261234567") == "+852 612*4567"
