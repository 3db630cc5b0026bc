"""订货确认单: the order confirmation a buyer downloads after placing a wholesale order (A4).

It says what was ordered (SKU, name, case pack, cases, quantity, unit price, amount), for which
trip (number, date, departure) and address (with its receiving hours), on which payment terms, and
carries the order number as a Code128 the warehouse and the buyer's receiving staff can scan.
Amounts are the order's, priced at placing; the invoice bills the delivered (weighed) quantities.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from app.config import get_settings
from app.kit.clock import business_tz
from app.kit.money import line_total_minor
from app.kit.quantities import UNIT_LABELS_ZH
from app.wholesale.document_data import OrderConfirmation
from app.wholesale.invoicing import rmb_capital
from app.wholesale.pdf_layout import PLAIN, USABLE_WIDTH, grid, header, money, para, party_lines, qty, render


def confirmation_pdf(order: OrderConfirmation) -> bytes:
    settings = get_settings()
    placed = order.placed_at.astimezone(business_tz()).strftime("%Y-%m-%d %H:%M")
    story: list[Any] = [
        header(
            "订货确认单",
            order.order_number,
            [f"订单号：{order.order_number}", f"下单时间：{placed}", f"供货方：{settings.service_centre_name}"],
        ),
        Spacer(1, 3 * mm),
    ]
    delivery = order.delivery
    receiver = " ".join(p for p in (delivery.contact, delivery.phone) if p)
    departs = f"{order.trip_date.isoformat()} {order.departure.strftime('%H:%M')}"
    blocks = Table(
        [
            [
                [para("采购商", "heading"), *(para(line, "meta") for line in party_lines(order.buyer, fapiao=False))],
                [
                    para("配送", "heading"),
                    para(
                        f"车次 {order.trip_number}　{departs} 发车",
                        "meta",
                    ),
                    para(f"送货地址：{delivery.city} {delivery.address}", "meta"),
                    para(f"收货时间：{delivery.receiving_hours}", "meta"),
                    *([para(f"收货人：{receiver}", "meta")] if receiver else []),
                ],
            ]
        ],
        colWidths=[USABLE_WIDTH / 2, USABLE_WIDTH / 2],
    )
    blocks.setStyle(PLAIN)
    story += [blocks, Spacer(1, 3 * mm)]

    widths = [8 * mm, 24 * mm, 52 * mm, 17 * mm, 13 * mm, 20 * mm, 21 * mm]
    widths.append(USABLE_WIDTH - sum(widths))
    data: list[list[Any]] = [["#", "SKU", "品名", "每箱", "箱数", "数量", "单价", "金额"]]
    total = 0
    for i, line in enumerate(order.lines, start=1):
        unit = UNIT_LABELS_ZH[line.unit]
        amount = line_total_minor(line.unit_price_minor, line.quantity)
        total += amount
        data.append(
            [
                str(i),
                line.sku,
                para(line.name),
                f"{qty(line.case_pack)} {unit}",
                qty(line.cases),
                f"{qty(line.quantity)} {unit}",
                f"{money(line.unit_price_minor, order.currency)}/{unit}",
                money(amount, order.currency),
            ]
        )
    cases = sum((line.cases for line in order.lines), Decimal(0))
    data.append(["", "", f"合计 {len(order.lines)} 种", "", qty(cases), "", "", money(total, order.currency)])
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(grid(right_from=3, extra=[("LINEABOVE", (0, -1), (-1, -1), 0.8, "black")]))
    story += [
        table,
        Spacer(1, 2 * mm),
        para(f"订单金额（大写）：人民币{rmb_capital(total)}", "total"),
        para(f"付款方式：{order.payment_terms}", "meta"),
        *([para(f"备注：{order.note}", "meta")] if order.note else []),
        Spacer(1, 2 * mm),
        para(
            "说明：称重商品按实际送达重量结算，结算单（发票）以送达数量为准；"
            "收货时请当面清点，短缺或破损请在装车清单上注明并拍照，服务中心将开具红字结算单冲减。",
            "small",
        ),
    ]
    return render(
        story,
        title=f"{settings.brand_name} 订货确认单 {order.order_number}",
        footer=f"{settings.brand_name} · 订货确认单 {order.order_number}",
    )
