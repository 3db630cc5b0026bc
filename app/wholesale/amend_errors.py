"""Refusals of a buyer cancelling a wholesale order and of the centre changing a company's delivery
addresses."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class OrderNotCancellable(Conflict):
    code = "wholesale_order_not_cancellable"
    message = "该订单现在不能取消"


class OrderAlreadyPacked(Conflict):
    code = "wholesale_order_packed"
    message = "订单已打包，不能在线取消；如需取消请致电服务中心"


class CancelAfterCutoff(Conflict):
    """After the trip's cut-off the warehouse is picking: only the centre, on the phone, can still
    take an order off the truck (the online cancel is refused, not queued)."""

    code = "wholesale_cancel_after_cutoff"
    message = "已过车次截单时间，不能在线取消；如需取消请致电服务中心"


class AddressNotFound(NotFound):
    code = "company_address_not_found"
    message = "找不到该收货地址"


class AddressInUse(Conflict):
    """An address open orders still go to: named in ``detail["orders"]``."""

    code = "company_address_in_use"
    message = "该收货地址还有未送达的订单，不能停用"


class AddressTaken(Conflict):
    code = "company_address_taken"
    message = "本企业已登记过这个收货地址"


class AddressInvalid(InvalidInput):
    """Every problem of an address at once: ``detail["fields"]`` maps a field to its message."""

    code = "company_address_invalid"
    message = "收货地址需要修改，请按提示填写"
