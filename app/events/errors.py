"""Errors of farm events and their tickets: each a code, an HTTP status and a Chinese message."""

from __future__ import annotations

from app.kit.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound


class EventNotFound(NotFound):
    code = "event_not_found"
    message = "找不到该活动"


class SlotNotFound(NotFound):
    code = "event_slot_not_found"
    message = "找不到该活动场次"


class EventInvalid(InvalidInput):
    code = "event_invalid"
    message = "活动信息有误"


class NoTicketsChosen(InvalidInput):
    code = "no_tickets_chosen"
    message = "请至少选择 1 张门票"


class TooManyTickets(InvalidInput):
    code = "too_many_tickets"
    message = "一单最多购买 20 张门票"


class SlotNotOnSale(Conflict):
    code = "event_slot_not_on_sale"
    message = "该场次已开始、已结束或活动已取消，不能再购票"


class TicketOrderNotFound(NotFound):
    code = "ticket_order_not_found"
    message = "该订单不是活动门票订单"


class CancellationTooLate(Conflict):
    code = "ticket_cancellation_too_late"
    message = "已过退票截止时间，不能取消"


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    message = "二维码无法识别：不是本平台的活动门票"


class TicketWrongStation(Forbidden):
    code = "ticket_wrong_station"
    message = "该门票的活动不在本站集合，不能在本站签到"


class TicketNotValid(Conflict):
    code = "ticket_not_valid"
    message = "该门票的订单未付款或已取消，不能签到"


class TicketNotForNow(Conflict):
    code = "ticket_not_for_now"
    message = "该门票不是本场次的：只能在场次开始前 2 小时至结束时签到"


class TicketAlreadyCheckedIn(Conflict):
    code = "ticket_already_checked_in"
    message = "该门票已签到过，不能重复签到"


class FreeTicketsNeedSignIn(NotAuthenticated):
    code = "free_tickets_need_sign_in"
    message = "免费活动请先登录顾客账号再预约"


class FreeTicketsLimit(Conflict):
    code = "free_tickets_limit"
    message = "每位顾客每个场次最多预约 20 个免费名额"


class EventAlreadyCancelled(Conflict):
    code = "event_already_cancelled"
    message = "该活动已取消"
