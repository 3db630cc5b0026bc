"""The money rules of wholesale invoices, credit notes and statements, as pure functions.

- A line's amount is its unit price × the delivered (weighed) quantity, rounded half-up to the fen
  once per line (``app.kit.money.line_total_minor``, the rounding every channel prices with); the
  invoice total is the sum of the line amounts, never re-rounded.
- Prices include VAT. The tax line shows the share of the total the tax is, total × r / (1 + r),
  rounded half-up once per invoice; its rate is ``WHOLESALE_INVOICE_TAX_RATE_PERCENT`` (9 %, the
  rate of agricultural products) and 0 hides it.
- A credit note for a shortage or damage is negative lines at the invoice's own unit prices, so
  it reverses exactly what those quantities were billed (half-up rounds away from zero, so −q is
  billed −round(p × q)).
- A statement: opening balance + invoices − credit notes − payments = closing balance; open
  invoices are aged by days past due on a China-time date: current, 1–30, 31–60, 61–90, over 90.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.config import get_settings
from app.kit import clock
from app.kit.money import line_total_minor, round_minor
from app.kit.quantities import format_quantity
from app.wholesale.document_data import EntryKind, InvoiceLine, OpenItem, StatementEntry
from app.wholesale.invoice_errors import CreditNoteInvalid


def line_amount_minor(line: InvoiceLine) -> int:
    return line_total_minor(line.unit_price_minor, line.quantity)


def tax_rate_percent() -> int:
    return get_settings().wholesale_invoice_tax_rate_percent


def included_tax_minor(total_minor: int, rate_percent: int) -> int:
    """The VAT inside a tax-inclusive ``total_minor``: total × r / (100 + r) with r in percent,
    rounded half-up once."""
    if rate_percent == 0:
        return 0
    return round_minor(Decimal(total_minor) * rate_percent / (100 + rate_percent))


@dataclass(frozen=True)
class InvoiceTotals:
    line_amounts: tuple[int, ...]
    total_minor: int  # what the buyer pays (tax included)
    tax_minor: int
    rate_percent: int

    @property
    def excluding_tax_minor(self) -> int:
        return self.total_minor - self.tax_minor

    @property
    def shows_tax(self) -> bool:
        return self.rate_percent > 0


def invoice_totals(lines: Sequence[InvoiceLine], rate_percent: int) -> InvoiceTotals:
    amounts = tuple(line_amount_minor(line) for line in lines)
    total = sum(amounts)
    return InvoiceTotals(amounts, total, included_tax_minor(total, rate_percent), rate_percent)


@dataclass(frozen=True)
class Shortfall:
    """What the buyer did not receive in good order: ``quantity`` (positive) of ``sku``."""

    sku: str
    quantity: Decimal
    reason: str  # 短缺 / 破损 / …


def credit_note_lines(
    invoice_lines: Sequence[InvoiceLine],
    shortfalls: Iterable[Shortfall],
    *,
    already_credited: Mapping[str, Decimal] | None = None,
) -> tuple[InvoiceLine, ...]:
    """Negative lines at the invoice's unit prices, one per shortfall, in the order given. A SKU the
    invoice does not bill, a quantity that is not positive, or more than was delivered (less what
    earlier credit notes already took back) is refused, every such line named."""
    credited = dict(already_credited or {})
    billed: dict[str, InvoiceLine] = {}
    delivered: dict[str, Decimal] = {}
    # Two prices for one SKU: which one a shortage comes off is not ours to guess.
    two_prices: set[str] = set()
    for line in invoice_lines:
        if line.sku in billed and billed[line.sku].unit_price_minor != line.unit_price_minor:
            two_prices.add(line.sku)
        billed.setdefault(line.sku, line)
        delivered[line.sku] = delivered.get(line.sku, Decimal(0)) + line.quantity
    problems: list[dict[str, str]] = []
    lines: list[InvoiceLine] = []
    for index, shortfall in enumerate(shortfalls):
        source = billed.get(shortfall.sku)
        left = delivered.get(shortfall.sku, Decimal(0)) - credited.get(shortfall.sku, Decimal(0))
        if source is None:
            problem = "结算单上没有这个商品"
        elif shortfall.sku in two_prices:
            problem = "结算单上这个商品有两种单价，请按行冲减"
        elif shortfall.quantity <= 0:
            problem = "冲减数量必须大于 0"
        elif shortfall.quantity > left:
            problem = f"最多可冲减 {format_quantity(left)}"
        else:
            credited[shortfall.sku] = credited.get(shortfall.sku, Decimal(0)) + shortfall.quantity
            lines.append(
                InvoiceLine(
                    sku=source.sku,
                    name=source.name,
                    unit=source.unit,
                    quantity=-shortfall.quantity,
                    unit_price_minor=source.unit_price_minor,
                    note=shortfall.reason,
                )
            )
            continue
        problems.append({"line": str(index), "sku": shortfall.sku, "message": problem})
    if problems:
        raise CreditNoteInvalid(detail={"lines": problems})
    return tuple(lines)


# ---- statements -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    entry: StatementEntry
    debit_minor: int  # raises what the company owes (an invoice)
    credit_minor: int  # lowers it (a credit note, a payment)
    balance_minor: int  # running balance after this row


@dataclass(frozen=True)
class StatementFigures:
    opening_minor: int
    invoiced_minor: int
    credited_minor: int
    paid_minor: int
    closing_minor: int
    rows: tuple[StatementRow, ...]


def statement_figures(opening_minor: int, entries: Sequence[StatementEntry]) -> StatementFigures:
    """Opening + invoices − credit notes − payments = closing, with a running balance per row (rows
    by date, in the order given within a day)."""
    totals = {kind: 0 for kind in EntryKind}
    rows: list[StatementRow] = []
    balance = opening_minor
    for entry in sorted(entries, key=lambda e: e.day):
        totals[entry.kind] += entry.amount_minor
        debit = entry.amount_minor if entry.kind is EntryKind.invoice else 0
        credit = 0 if entry.kind is EntryKind.invoice else entry.amount_minor
        balance += debit - credit
        rows.append(StatementRow(entry, debit, credit, balance))
    closing = opening_minor + totals[EntryKind.invoice] - totals[EntryKind.credit_note] - totals[EntryKind.payment]
    assert closing == balance  # the running balance and the formula are the same sum
    return StatementFigures(
        opening_minor=opening_minor,
        invoiced_minor=totals[EntryKind.invoice],
        credited_minor=totals[EntryKind.credit_note],
        paid_minor=totals[EntryKind.payment],
        closing_minor=closing,
        rows=tuple(rows),
    )


AGEING_BUCKETS = ("未到期", "逾期 1–30 天", "逾期 31–60 天", "逾期 61–90 天", "逾期 90 天以上")


@dataclass(frozen=True)
class Ageing:
    """Outstanding amounts per bucket of days past due, in ``AGEING_BUCKETS`` order."""

    as_of: date
    buckets: tuple[int, int, int, int, int]

    @property
    def total_minor(self) -> int:
        return sum(self.buckets)

    @property
    def overdue_minor(self) -> int:
        return sum(self.buckets[1:])


def days_overdue(due_date: date, as_of: date) -> int:
    return max((as_of - due_date).days, 0)


def bucket_of(days: int) -> int:
    """0 for not yet due (due today is not late), then 1–30, 31–60, 61–90 and over 90 days."""
    if days <= 0:
        return 0
    if days <= 30:
        return 1
    if days <= 60:
        return 2
    if days <= 90:
        return 3
    return 4


def ageing(open_items: Iterable[OpenItem], as_of: date | None = None) -> Ageing:
    """Age what is left of each open invoice on ``as_of`` (default: today in China time)."""
    day = as_of if as_of is not None else clock.today()
    buckets = [0, 0, 0, 0, 0]
    for item in open_items:
        buckets[bucket_of(days_overdue(item.due_date, day))] += item.outstanding_minor
    return Ageing(day, (buckets[0], buckets[1], buckets[2], buckets[3], buckets[4]))


# ---- 人民币大写 -------------------------------------------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def _capital_integer(value: int) -> str:
    """Whole yuan in capital numerals: 100005 → 壹拾万零伍. Zeros between digits (within a group or
    across a group boundary) are read once as 零; trailing zeros are not read."""
    groups: list[int] = []
    while value:
        value, group = divmod(value, 10_000)
        groups.append(group)
    if len(groups) > len(_GROUPS):
        raise ValueError("金额过大")
    out: list[str] = []
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(out)
            continue
        for place in range(3, -1, -1):
            digit = group // 10**place % 10
            if digit == 0:
                pending_zero = pending_zero or bool(out)
                continue
            if pending_zero:
                out.append("零")
                pending_zero = False
            out.append(_DIGITS[digit] + _PLACES[place])
        out.append(_GROUPS[index])
    return "".join(out)


def rmb_capital(amount_minor: int) -> str:
    """An amount in fen as the capital amount written on financial documents (人民币大写):
    123450 → 壹仟贰佰叁拾肆元伍角整, 5 → 伍分, 100000001 → 壹佰万元零壹分, −1230 → 负壹拾贰元叁角整.

    Written as 《支付结算办法》 says: 整 after 元 and after 角, none after 分; a 零 where 角 is zero
    between yuan and fen. Our own function: the maintained library (cn2an) installs stray top-level
    packages (``src``, ``example``) into site-packages and writes no 整 after 角.
    """
    sign = "负" if amount_minor < 0 else ""
    yuan, fen_total = divmod(abs(amount_minor), 100)
    jiao, fen = divmod(fen_total, 10)
    whole = _capital_integer(yuan)
    if fen_total == 0:
        return f"{sign}{whole or '零'}元整"
    text = f"{whole}元" if whole else ""
    if jiao:
        text += f"{_DIGITS[jiao]}角"
    elif whole:
        text += "零"
    text += f"{_DIGITS[fen]}分" if fen else "整"
    return sign + text
