from app.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class InsufficientStock(Conflict):
    """``detail["lines"]`` names every short line with what was asked and what is available."""

    code = "insufficient_stock"
    message = "库存不足"


class LocationNotFound(NotFound):
    code = "location_not_found"
    message = "找不到该库位"


class LotNotFound(NotFound):
    code = "lot_not_found"
    message = "找不到该批次"


class SupplierNotFound(NotFound):
    code = "supplier_not_found"
    message = "找不到该供应商"


class SupplierNotGrower(InvalidInput):
    """The supplier is not registered as a grower of the lot's product; the text names both."""

    code = "supplier_not_grower"
    message = "该供应商未登记为此商品的生产者"


class GrowerExceptionReasonRequired(InvalidInput):
    code = "grower_exception_reason_required"
    message = "按例外收货须填写原因（例如：经销商供货、代收农户产品）"


class ProductsNotFound(InvalidInput):
    code = "products_not_found"
    message = "找不到这些商品"


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    message = "找不到该库存预留"


class ReservationNotActive(Conflict):
    code = "reservation_not_active"
    message = "该预留已释放、过期或已转为销售"


class ReservationExists(Conflict):
    code = "reservation_exists"
    message = "该单据已有库存预留"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    message = "找不到该调拨单"


class TransferNotInTransit(Conflict):
    code = "transfer_not_in_transit"
    message = "该调拨单已签收"


class CountNotFound(NotFound):
    code = "count_not_found"
    message = "找不到该盘点单"


class CountNotOpen(Conflict):
    code = "count_not_open"
    message = "该盘点单已过账"


class InvalidStockQuantity(InvalidInput):
    code = "invalid_stock_quantity"
    message = "数量不正确"


class StockLocationForbidden(Forbidden):
    code = "stock_location_forbidden"
    message = "无权操作该库位的库存"
