from app.kit.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class ParcelNotFound(NotFound):
    code = "parcel_not_found"
    message = "找不到该包裹"


class ParcelWrongStation(Forbidden):
    code = "parcel_wrong_station"
    message = "该包裹不属于本站"


class ParcelWrongState(Conflict):
    code = "parcel_wrong_state"
    message = "包裹当前状态不允许此操作"


class WrongPickupCode(AppError):
    code = "wrong_pickup_code"
    status_code = 422
    message = "取货码不正确"


class PickupLocked(AppError):
    code = "pickup_locked"
    status_code = 423
    message = "取货码错误次数过多，已锁定，请联系站长核实身份"


class QrForAnotherParcel(Conflict):
    code = "qr_for_another_parcel"
    message = "取货二维码与扫描的包裹不是同一个订单，请核对包裹"


class PaymentRequired(InvalidInput):
    code = "payment_required"
    message = "到站付款订单需先收款（现金或扫码）"


class StationNotFound(NotFound):
    code = "station_not_found"
    message = "找不到该村站"


class UnknownStation(InvalidInput):
    """A pickup order named a station that does not exist or is closed: refused, never replaced by
    some "default" station the customer did not choose (``detail.field`` names the body field)."""

    code = "unknown_station"
    message = "所选自提村站不存在或未开放，请重新选择"


class RouteNotFound(NotFound):
    code = "route_not_found"
    message = "找不到该配送路线"


class RunNotFound(NotFound):
    code = "run_not_found"
    message = "找不到该配送批次"


class RunAlreadyDispatched(Conflict):
    code = "run_already_dispatched"
    message = "该批次已发车"


class ShelfFull(Conflict):
    code = "shelf_full"
    message = "本站货架已满"


class RunDateInPast(InvalidInput):
    code = "run_date_in_past"
    message = "不能为已过去的日期安排配送批次"


class NothingToPack(Conflict):
    code = "nothing_to_pack"
    message = "该路线没有待发的订单"
