"""The money rules of wholesale invoices, credit notes and statements (app/wholesale/invoicing.py),
checked against figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.config import Settings
from app.kit import clock
from app.kit.quantities import Unit
from app.wholesale import invoicing
from app.wholesale.document_data import EntryKind, InvoiceLine, OpenItem, StatementEntry
from app.wholesale.invoice_errors import CreditNoteInvalid
from app.wholesale.invoicing import Shortfall


def line(sku: str, quantity: str, price: int, unit: Unit = Unit.box) -> InvoiceLine:
    return InvoiceLine(sku=sku, name=f"商品 {sku}", unit=unit, quantity=Decimal(quantity), unit_price_minor=price)


SAUSAGES = line("LW-500", "3", 3450)  # 3 × ¥34.50 = ¥103.50
LOQUATS = line("PP-KG", "12.345", 799, Unit.kg)  # 12.345 kg × ¥7.99 = 9863.655 fen → ¥98.64
TARO = line("XY-KG", "0.125", 1850, Unit.kg)  # 231.25 fen → ¥2.31


def test_each_line_is_rounded_once_and_the_total_is_their_sum() -> None:
    totals = invoicing.invoice_totals([SAUSAGES, LOQUATS, TARO], 0)

    assert totals.line_amounts == (10350, 9864, 231)
    assert totals.total_minor == 20445
    assert totals.tax_minor == 0 and not totals.shows_tax and totals.excluding_tax_minor == 20445
    # Rounding the sum instead would give 10350 + 9863.655 + 231.25 = 20444.905 → 20445 here, but
    # 3 lines of 0.125 kg (231.25 each) show the difference: 693 billed, not 693.75 → 694.
    assert invoicing.invoice_totals([TARO, TARO, TARO], 0).total_minor == 693


def test_the_tax_line_is_the_share_of_the_tax_inclusive_total() -> None:
    # 20445 × 9 / 109 = 1688.11… → 1688; the rest is the amount before tax.
    totals = invoicing.invoice_totals([SAUSAGES, LOQUATS, TARO], 9)
    assert (totals.total_minor, totals.tax_minor, totals.excluding_tax_minor) == (20445, 1688, 18757)
    assert totals.shows_tax
    # Half-up once per invoice: 1090 × 9 / 109 = 90 exactly; 1199 × 9/109 = 98.999… → 99;
    # 1635 × 13 / 113 = 188.097… → 188; 6 × 9 / 109 = 0.495… → 0; 109 fen → 9 exactly.
    assert invoicing.included_tax_minor(1090, 9) == 90
    assert invoicing.included_tax_minor(1199, 9) == 99
    assert invoicing.included_tax_minor(1635, 13) == 188
    assert invoicing.included_tax_minor(6, 9) == 0
    assert invoicing.included_tax_minor(109, 9) == 9
    # A half fen rounds up, away from zero on a credit note: at r = 100, 1 × 100 / 200 = 0.5 → 1.
    assert invoicing.included_tax_minor(1, 100) == 1
    assert invoicing.included_tax_minor(-1, 100) == -1
    assert invoicing.included_tax_minor(20445, 0) == 0


def test_the_rate_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().wholesale_invoice_tax_rate_percent == 9
    monkeypatch.setenv("WHOLESALE_INVOICE_TAX_RATE_PERCENT", "0")
    assert Settings().wholesale_invoice_tax_rate_percent == 0
    monkeypatch.setenv("WHOLESALE_INVOICE_TAX_RATE_PERCENT", "-1")
    with pytest.raises(ValueError):
        Settings()


def test_a_credit_note_reverses_shortfalls_at_the_invoice_prices() -> None:
    credit = invoicing.credit_note_lines(
        [SAUSAGES, LOQUATS, TARO],
        [Shortfall("PP-KG", Decimal("1.235"), "破损"), Shortfall("LW-500", Decimal("1"), "短缺")],
    )

    assert [(c.sku, c.quantity, c.unit_price_minor, c.note) for c in credit] == [
        ("PP-KG", Decimal("-1.235"), 799, "破损"),
        ("LW-500", Decimal("-1"), 3450, "短缺"),
    ]
    # 1.235 × 799 = 986.765 → −987 (half-up away from zero), −3450; total −4437.
    totals = invoicing.invoice_totals(credit, 9)
    assert totals.line_amounts == (-987, -3450)
    assert totals.total_minor == -4437
    assert totals.tax_minor == -366  # −4437 × 9 / 109 = −366.36…
    # Crediting everything that was delivered gives back exactly what was billed.
    everything = invoicing.credit_note_lines(
        [SAUSAGES, LOQUATS, TARO],
        [Shortfall(x.sku, x.quantity, "拒收") for x in (SAUSAGES, LOQUATS, TARO)],
    )
    assert invoicing.invoice_totals(everything, 9).total_minor == -20445


def test_a_credit_note_never_takes_back_more_than_was_delivered() -> None:
    with pytest.raises(CreditNoteInvalid) as refused:
        invoicing.credit_note_lines(
            [SAUSAGES, LOQUATS],
            [
                Shortfall("LW-500", Decimal("2"), "短缺"),
                Shortfall("NOPE", Decimal("1"), "短缺"),
                Shortfall("PP-KG", Decimal("0"), "破损"),
                Shortfall("LW-500", Decimal("1"), "破损"),  # 2 earlier on this note + 1 earlier note
            ],
            already_credited={"LW-500": Decimal("0.5")},
        )
    assert refused.value.detail == {
        "lines": [
            {"line": "1", "sku": "NOPE", "message": "结算单上没有这个商品"},
            {"line": "2", "sku": "PP-KG", "message": "冲减数量必须大于 0"},
            {"line": "3", "sku": "LW-500", "message": "最多可冲减 0.5"},
        ]
    }
    with pytest.raises(CreditNoteInvalid):
        invoicing.credit_note_lines([SAUSAGES, line("LW-500", "1", 3300)], [Shortfall("LW-500", Decimal(1), "短缺")])


# ---- statement --------------------------------------------------------------------------------

NOVEMBER = (
    StatementEntry(date(2026, 11, 3), EntryKind.invoice, "INV-1", 1_234_550, due_date=date(2026, 12, 3)),
    StatementEntry(date(2026, 11, 5), EntryKind.payment, "网银 88120", 500_000),
    StatementEntry(date(2026, 11, 4), EntryKind.credit_note, "CN-1", 4_437),
    StatementEntry(date(2026, 11, 20), EntryKind.invoice, "INV-2", 98_765, due_date=date(2026, 12, 20)),
    StatementEntry(date(2026, 11, 28), EntryKind.payment, "网银 90311", 300_000),
)


def test_statement_figures_equal_the_hand_computed_fixture() -> None:
    figures = invoicing.statement_figures(250_000, NOVEMBER)

    # 2500.00 + 12345.50 + 987.65 − 44.37 − 5000.00 − 3000.00 = 7788.78
    assert (figures.opening_minor, figures.invoiced_minor, figures.credited_minor, figures.paid_minor) == (
        250_000,
        1_333_315,
        4_437,
        800_000,
    )
    assert figures.closing_minor == 778_878
    assert [(r.entry.reference, r.debit_minor, r.credit_minor, r.balance_minor) for r in figures.rows] == [
        ("INV-1", 1_234_550, 0, 1_484_550),
        ("CN-1", 0, 4_437, 1_480_113),
        ("网银 88120", 0, 500_000, 980_113),
        ("INV-2", 98_765, 0, 1_078_878),
        ("网银 90311", 0, 300_000, 778_878),
    ]


def open_item(number: str, due: date, amount: int) -> OpenItem:
    return OpenItem(number, date(2026, 1, 1), due, amount)


def test_ageing_buckets_at_their_boundaries() -> None:
    as_of = date(2026, 12, 31)
    items = [
        open_item("due-later", date(2027, 1, 15), 1),
        open_item("due-today", date(2026, 12, 31), 2),  # not late yet: current
        open_item("1-day", date(2026, 12, 30), 10),
        open_item("30-days", date(2026, 12, 1), 20),
        open_item("31-days", date(2026, 11, 30), 100),
        open_item("60-days", date(2026, 11, 1), 200),
        open_item("61-days", date(2026, 10, 31), 1_000),
        open_item("90-days", date(2026, 10, 2), 2_000),
        open_item("91-days", date(2026, 10, 1), 10_000),
        open_item("a-year", date(2025, 12, 31), 20_000),
    ]

    aged = invoicing.ageing(items, as_of)

    assert aged.buckets == (3, 30, 300, 3_000, 30_000)
    assert aged.total_minor == 33_333 and aged.overdue_minor == 33_330
    assert [invoicing.days_overdue(i.due_date, as_of) for i in items] == [0, 0, 1, 30, 31, 60, 61, 90, 91, 365]


def test_ageing_counts_to_today_in_china_time() -> None:
    from datetime import UTC, datetime

    item = open_item("due-1-dec", date(2026, 12, 1), 500)
    # 15:59 UTC on 1 December is 23:59 in China: the invoice is due today, not late.
    with clock.pinned(datetime(2026, 12, 1, 15, 59, tzinfo=UTC)):
        assert invoicing.ageing([item]).buckets == (500, 0, 0, 0, 0)
    # 16:00 UTC is already 2 December in China: one day late.
    with clock.pinned(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)):
        aged = invoicing.ageing([item])
    assert aged.as_of == date(2026, 12, 2) and aged.buckets == (0, 500, 0, 0, 0)


# ---- 人民币大写 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "capital"),
    [
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (1_000, "壹拾元整"),
        (10_000_530, "壹拾万零伍元叁角整"),
        (100_000_001, "壹佰万元零壹分"),
        (123_450, "壹仟贰佰叁拾肆元伍角整"),
        (100_005, "壹仟元零伍分"),
        (1_010_000, "壹万零壹佰元整"),
        (10_001_000_000, "壹亿零壹万元整"),
        (10_010_000_000, "壹亿零壹拾万元整"),
        (2_000_000_000_000, "贰佰亿元整"),
        (6_007_080_912, "陆仟零柒万零捌佰零玖元壹角贰分"),
        (-4_437, "负肆拾肆元叁角柒分"),
    ],
)
def test_chinese_capital_amounts(fen: int, capital: str) -> None:
    assert invoicing.rmb_capital(fen) == capital
