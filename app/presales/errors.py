"""Errors of pre-sale waves: each a code, an HTTP status and a Chinese message."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class WaveNotFound(NotFound):
    code = "presale_wave_not_found"
    message = "找不到该预售活动"


class WaveInvalid(InvalidInput):
    code = "presale_wave_invalid"
    message = "预售活动信息有误"


class WaveNotOpen(Conflict):
    code = "presale_wave_not_open"
    message = "该预售活动未在预订中"


class WaveClosed(Conflict):
    """An order after the wave's cut-off."""

    code = "presale_closed"
    message = "该预售已截单，不能再预订"


class WaveNotClosed(Conflict):
    """Allocation before the cut-off: orders could still arrive after it."""

    code = "presale_not_closed"
    message = "预售尚未截单，截单后才能分配到货"


class WaveStateConflict(Conflict):
    """A compare-and-set on the wave's status lost (cancelled or allocated meanwhile)."""

    code = "presale_wave_state_conflict"
    message = "预售活动状态已变化，请刷新后重试"


class PayAtPickupNotAllowed(Conflict):
    code = "presale_pay_at_pickup_not_allowed"
    message = "该预售不支持到站付款，请在线支付"


class PhoneLimitReached(Conflict):
    code = "presale_phone_limit"
    message = "该手机号在本次预售中到站付款的预订已达上限"


class TooManyBoxes(InvalidInput):
    code = "presale_too_many_boxes"
    message = "单笔预订数量超过上限"


class WaveUnitNotCountable(InvalidInput):
    """A wave on a weighed variant (kg / 斤): allocation hands out whole units only."""

    code = "presale_unit_not_countable"
    message = "预售只能按个或按箱（整份）销售，不能用称重的商品规格"
