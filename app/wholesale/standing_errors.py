from app.kit.errors import Conflict, InvalidInput, NotFound


class StandingOrderNotFound(NotFound):
    code = "standing_order_not_found"
    message = "找不到该每周重复订单"


class StandingOrderInvalid(InvalidInput):
    code = "standing_order_invalid"
    message = "每周重复订单有误，请按提示修改"


class NoTripOnWeekday(InvalidInput):
    code = "standing_no_trip_on_weekday"
    message = "该收货地址所在城市这一天没有车次"


class AlreadySkipped(Conflict):
    code = "standing_already_skipped"
    message = "下一次已经跳过：每次只能跳过一周"


class NotSkipped(Conflict):
    code = "standing_not_skipped"
    message = "这一周没有跳过"
