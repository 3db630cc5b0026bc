from app.kit.errors import Conflict, InvalidInput, NotFound


class DeliveryInvalid(InvalidInput):
    """What was entered at a stop does not add up; ``detail["lines"]`` names every such line
    (``{order_line_id, sku, field, message}``), ``detail["field"]`` a problem of the whole stop."""

    code = "delivery_invalid"
    message = "签收信息有误，请按提示修改"


class AlreadyDelivered(Conflict):
    code = "already_delivered"
    message = "该订单已登记签收，不能重复登记"


class NotDispatched(Conflict):
    code = "order_not_dispatched"
    message = "该订单还没有随车发出，不能登记签收"


class NotPacked(Conflict):
    code = "order_not_packed"
    message = "该订单没有装箱称重记录，不能按实送数量开结算单"


class StopNotFound(NotFound):
    code = "stop_not_found"
    message = "这趟车次上没有该订单"
