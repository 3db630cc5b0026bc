"""Cross-border orders, read from Alibaba.com (``alibaba.seller.order.list`` on ``/sync``, reference §8).

Read-only: the team sees the orders in the ops console beside the rest; fulfilment happens on
Alibaba.com. Each pull reads the newest pages (newest first, ``PULL_PAGES`` × ``PAGE_SIZE``) and
upserts them by trade id, so new orders appear and recent status changes are picked up; older
orders keep the status they had when they were last on those pages.

Only company-level buyer data is kept (country, company name). Contacts, phone numbers, e-mail
and addresses are dropped from the stored ``raw`` copy: the platform does not need them here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.crossborder import repository
from app.crossborder.client import CallResult

ORDER_LIST_METHOD: Final[str] = "alibaba.seller.order.list"
PAGE_SIZE: Final[int] = 50
PULL_PAGES: Final[int] = 5
_PERSONAL_KEYS: Final[frozenset[str]] = frozenset(
    {
        "contact",
        "contact_name",
        "phone",
        "mobile",
        "email",
        "address",
        "receiver",
        "shipping_address",
        "buyer_login_id",
        "full_name",
        "first_name",
        "last_name",
        "tel",
        "fax",
    }
)

STATUS_ZH: Final[dict[str, str]] = {
    "to_be_audited": "待审核",
    "unpay": "待付款",
    "paying": "付款中",
    "paid": "已付款",
    "captured": "已收款",
    "undeliver": "待发货",
    "delivering": "发货中",
    "wait_confirm_receipt": "待确认收货",
    "trade_success": "交易成功",
    "trade_close": "交易关闭",
    "frozen": "冻结",
    "charge_back": "拒付",
    "wait_confirm_modify": "待确认修改",
}


def _strip_personal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_personal(v) for k, v in value.items() if k.lower() not in _PERSONAL_KEYS}
    if isinstance(value, list):
        return [_strip_personal(v) for v in value]
    return value


def _when(value: Any) -> datetime | None:
    """``create_date`` is ``{"timestamp": ms, "format_date": "yyyy-MM-dd HH:mm:ss"}``."""
    if isinstance(value, dict):
        value = value.get("timestamp")
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _amount_minor(order: dict[str, Any]) -> tuple[int | None, str]:
    total = order.get("total_amount")
    if not isinstance(total, dict):
        return None, "USD"
    currency = str(total.get("currency") or "USD")[:3]
    try:
        amount = Decimal(str(total.get("amount")))
    except InvalidOperation:
        return None, currency
    if not amount.is_finite() or amount < 0:
        return None, currency
    return int((amount * 100).to_integral_value()), currency


def order_row(order: dict[str, Any]) -> dict[str, Any] | None:
    """An ``alibaba_orders`` row from one ``order_list`` item (None without a trade id)."""
    trade_id = str(order.get("trade_id") or "")
    if not trade_id:
        return None
    found = order.get("buyer")
    buyer: dict[str, Any] = found if isinstance(found, dict) else {}
    amount, currency = _amount_minor(order)
    return {
        "trade_id": trade_id[:64],
        "status": str(order.get("trade_status") or "")[:40],
        "amount_minor": amount,
        "currency": currency,
        "buyer_country": str(buyer.get("country") or "")[:60],
        "buyer_company": str(buyer.get("company_name") or "")[:200],
        "created_remote_at": _when(order.get("create_date")),
        "modified_remote_at": _when(order.get("modify_date")),
        "raw": _strip_personal(order),
    }


ListPage = Callable[[dict[str, Any]], Awaitable[CallResult]]


async def fetch_orders(
    list_page: ListPage, *, pages: int = PULL_PAGES, page_size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """The newest orders, page by page (``start_page`` is 0-based), until a short page."""
    rows: list[dict[str, Any]] = []
    for page in range(pages):
        query = {"role": "seller", "start_page": page, "page_size": page_size}
        result = await list_page({"param_trade_ecology_order_list_query": query})
        inner = result.data.get("value")
        value: dict[str, Any] = inner if isinstance(inner, dict) else result.data
        items = value.get("order_list") or []
        if isinstance(items, dict):  # non-simplified TOP wrapper
            items = next((v for v in items.values() if isinstance(v, list)), [])
        for item in items:
            row = order_row(item) if isinstance(item, dict) else None
            if row is not None:
                rows.append(row)
        total_text = str(value.get("total_count") or "0")
        total = int(total_text) if total_text.isdigit() else 0
        if len(items) < page_size or (page + 1) * page_size >= total:
            break
    return rows


async def store_orders(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    # One trade id once per statement (ON CONFLICT cannot touch a row twice).
    unique = list({row["trade_id"]: row for row in rows}.values())
    return await repository.upsert_orders(session, unique)
