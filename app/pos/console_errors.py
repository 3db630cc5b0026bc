"""Errors of the brand-store console: stock exceptions, replenishment requests, the sales pages
and who may act on which store."""

from __future__ import annotations

from app.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class StoreNotYours(Forbidden):
    code = "store_not_yours"
    message = "您不是该门店的店长，不能查看或操作该门店"


class StoreConsoleOnPagesOnly(Forbidden):
    code = "store_console_pages_only"
    message = "店长请在网页后台登录后操作（收银机上的登录不能用于后台）"


class StockExceptionNotFound(NotFound):
    code = "stock_exception_not_found"
    message = "找不到该库存异常"


class StockExceptionResolved(Conflict):
    code = "stock_exception_resolved"
    message = "该库存异常已处理，不能重复处理"


class ResolutionReferenceInvalid(InvalidInput):
    code = "resolution_reference_invalid"
    message = "处理依据无效"


class ReplenishmentNotFound(NotFound):
    code = "replenishment_not_found"
    message = "找不到该补货申请"


class ReplenishmentDecided(Conflict):
    code = "replenishment_decided"
    message = "该补货申请已发货或已拒绝，不能再次处理"


class ReplenishmentInvalid(InvalidInput):
    code = "replenishment_invalid"
    message = "补货申请内容有误"


class SaleNotFound(NotFound):
    code = "sale_not_found"
    message = "找不到该销售单"
