"""A seller's monthly commission statement (China-time month of the order's first payment).

Commission of an attributed order = Σ over its lines of rate × the line's share of what was kept
(paid − refunded): ``(paid − refunded) × line_total / order_total × bps / 10 000``, rounded ONCE per
order line, half-up, to the fen. The rate is the seller's rule for the line's product when there is
one, else the seller's default. The delivery fee's share of the order earns nothing; a fully
refunded order is listed with zero; a partial refund nets the base proportionally.

Payable: the statement is 可结算 once the claim window (``CLAIM_WINDOW_DAYS``) has closed for every
order in it, counted from the order's completion (pickup / delivery) or, while it is not completed,
from its payment — until then 待结算.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.kit import clock
from app.kit.money import format_minor
from app.streamers import errors, repository
from app.streamers.models import Seller

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None) -> tuple[int, int]:
    """``YYYY-MM``; None: the current China-time month."""
    if not text:
        today = clock.today()
        return today.year, today.month
    match = MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise errors.BadMonth(detail={"field": "month"})
    return int(match.group(1)), int(match.group(2))


def half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up (both non-negative), exactly in integers."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class StatementOrder:
    number: str
    paid_on: date
    paid_minor: int
    refunded_minor: int
    commission_minor: int
    claim_closes_at: datetime

    @property
    def net_minor(self) -> int:
        return self.paid_minor - self.refunded_minor


@dataclass(frozen=True)
class Statement:
    seller: Seller
    month: str
    orders: list[StatementOrder]
    payable: bool
    payable_from: datetime | None

    @property
    def paid_minor(self) -> int:
        return sum(o.paid_minor for o in self.orders)

    @property
    def refunded_minor(self) -> int:
        return sum(o.refunded_minor for o in self.orders)

    @property
    def commission_minor(self) -> int:
        return sum(o.commission_minor for o in self.orders)

    @property
    def status_zh(self) -> str:
        return "可结算" if self.payable else "待结算"


async def statement(session: AsyncSession, seller: Seller, year: int, month: int) -> Statement:
    start, end = clock.month_bounds(year, month)
    window = timedelta(days=get_settings().claim_window_days)
    orders: dict[int, StatementOrder] = {}
    for line in await repository.statement_lines(session, seller.id, start, end):
        bps = line.rule_bps if line.rule_bps is not None else seller.commission_bps
        net = line.paid_minor - line.refunded_minor
        commission = (
            half_up_div(net * line.line_total_minor * bps, line.total_minor * 10000) if line.total_minor > 0 else 0
        )
        earlier = orders.get(line.order_id)
        if earlier is None:
            orders[line.order_id] = StatementOrder(
                number=line.number,
                paid_on=clock.local_date(line.paid_at),
                paid_minor=line.paid_minor,
                refunded_minor=line.refunded_minor,
                commission_minor=commission,
                claim_closes_at=(line.completed_at or line.paid_at) + window,
            )
        else:
            orders[line.order_id] = StatementOrder(
                earlier.number,
                earlier.paid_on,
                earlier.paid_minor,
                earlier.refunded_minor,
                earlier.commission_minor + commission,
                earlier.claim_closes_at,
            )
    rows = list(orders.values())
    payable_from = max((o.claim_closes_at for o in rows), default=None)
    payable = payable_from is not None and clock.now() >= payable_from
    return Statement(seller, f"{year:04d}-{month:02d}", rows, payable, payable_from)


async def months(session: AsyncSession, seller: Seller) -> list[str]:
    return await repository.paid_months(session, seller.id, get_settings().business_timezone)


def statement_xlsx(st: Statement) -> bytes:
    from openpyxl import Workbook  # only when a statement is downloaded

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = st.month
    sheet.append([f"{st.seller.name}（推荐码 {st.seller.code}）{st.month} 佣金结算单", "", "", "", "", st.status_zh])
    sheet.append(["订单号", "付款日期", "实付（元）", "已退款（元）", "净额（元）", "佣金（元）"])
    for o in st.orders:
        sheet.append(
            [
                o.number,
                o.paid_on.isoformat(),
                _yuan(o.paid_minor),
                _yuan(o.refunded_minor),
                _yuan(o.net_minor),
                _yuan(o.commission_minor),
            ]
        )
    sheet.append(
        [
            "合计",
            "",
            _yuan(st.paid_minor),
            _yuan(st.refunded_minor),
            _yuan(st.paid_minor - st.refunded_minor),
            _yuan(st.commission_minor),
        ]
    )
    for column in "CDEF":
        for cell in sheet[column][2:]:
            cell.number_format = "0.00"
    sheet.column_dimensions["A"].width = 22
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _yuan(amount_minor: int) -> Decimal:
    return Decimal(amount_minor) / 100


def money(amount_minor: int) -> str:
    return format_minor(amount_minor)
