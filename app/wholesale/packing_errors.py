"""What the warehouse can get wrong packing and dispatching a PRD trip."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class TripOrderNotFound(NotFound):
    """No live order of that number on the trip (another trip's, cancelled, held, or none)."""

    code = "trip_order_not_found"
    message = "该车次上没有这个待发订单"


class TripNotPackable(Conflict):
    """Packing happens while the trip is planned or loading, not once the truck has left."""

    code = "trip_not_packable"
    message = "车次已发车或已取消，不能再打包"


class PackingInvalid(InvalidInput):
    """Some packed quantities are wrong: ``detail.lines`` names each ({line_id, sku, message})."""

    code = "packing_invalid"
    message = "打包数量有误，请按提示修改"


class TripHasUnpackedOrders(Conflict):
    """Dispatch refused: ``detail.orders`` lists the live orders not packed yet."""

    code = "trip_has_unpacked_orders"
    message = "还有订单未打包，不能发车"


class OrderNotPacked(Conflict):
    code = "order_not_packed"
    message = "订单尚未打包，不能打印箱贴"
