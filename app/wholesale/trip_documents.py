"""The warehouse's two documents of a PRD delivery trip (A4, numbered "第 n / N 页"):

- **Pick list (拣货单)**: one table per SKU (in SKU order) listing the lots to take, oldest
  best-before first (the allocator's FEFO choice), then every order line to pick from them in stop
  order, with a box to tick; after it, the per-stop totals the loader checks the staged goods by.
- **Load manifest (装车清单)**: the stops in delivery order — company, address, receiving hours,
  contact, cases, kg, cold chain — with room for the receiver's signature at each, then the load
  against the vehicle's capacity and the warehouse's and driver's signatures.

Speed: a trip of 200 orders × 5 lines is 1,000 pick rows and 200 stops. Table cells are plain
strings, cut (pick list) or wrapped (manifest addresses) to their column by measuring the font:
a CJK Paragraph per cell was laid out three times per stop as the table split across pages, and
took most of the manifest's time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from app.config import get_settings
from app.kit import pdf
from app.kit.quantities import UNIT_LABELS_ZH
from app.wholesale.document_data import ManifestStop, PickRow, TripHeader, TripManifest, TripPickList
from app.wholesale.pdf_layout import (
    PLAIN,
    USABLE_WIDTH,
    esc,
    fit,
    grid,
    kg,
    marked,
    para,
    printed_at,
    qty,
    render,
    wrap,
)

BOX = "□"  # a box to tick: in the document font, unlike ☐


def _trip_lines(trip: TripHeader, title: str) -> list[Any]:
    settings = get_settings()
    cold = "冷链车" if trip.cold_chain else "常温车"
    vehicle = "　".join(
        part
        for part in (trip.vehicle and f"车牌 {esc(trip.vehicle)}", trip.driver and f"司机 {esc(trip.driver)}")
        if part
    )
    return [
        marked(f"{esc(settings.brand_name)} · 珠三角配送{title}", "title"),
        marked(
            f"车次 <b>{esc(trip.trip_number)}</b>　发车 <b>{trip.trip_date.isoformat()} "
            f"{trip.departure.strftime('%H:%M')}</b>　路线 {esc(trip.route_name)}　{cold}",
            "subtitle",
        ),
        *([marked(vehicle, "meta")] if vehicle else []),
    ]


def _unit(row: PickRow) -> str:
    return UNIT_LABELS_ZH[row.unit]


# ---- pick list ------------------------------------------------------------------------------------

PICK_WIDTHS = [9 * mm, 12 * mm, 30 * mm, 52 * mm, 30 * mm, 18 * mm, 14 * mm]
PICK_WIDTHS.append(USABLE_WIDTH - sum(PICK_WIDTHS))  # 拣货人


def _sku_table(rows: Sequence[PickRow]) -> Table:
    first = rows[0]
    unit = _unit(first)
    total = sum((r.quantity for r in rows), Decimal(0))
    cases = sum((r.cases for r in rows), Decimal(0))
    lots: dict[str, tuple[Any, Decimal]] = {}
    for row in rows:
        for lot in row.lots:
            best_before, taken = lots.get(lot.lot_code, (lot.best_before, Decimal(0)))
            lots[lot.lot_code] = (best_before, taken + lot.quantity)
    lot_text = "；".join(
        f"{code}（{bb.isoformat()} 到期）{qty(q)} {unit}"
        for code, (bb, q) in sorted(lots.items(), key=lambda item: (item[1][0], item[0]))
    )
    heading = f"{first.sku}　{first.name}　每箱 {qty(first.case_pack)} {unit}　共 {qty(total)} {unit} / {qty(cases)} 箱"
    data: list[list[Any]] = [
        [fit(heading, USABLE_WIDTH, 10)] + [""] * 7,
        [para(f"先到期先出（FEFO）批次：{lot_text or '尚未分配批次，拣货前请找仓库主管'}", "small")] + [""] * 7,
        ["✓", "站序", "订单号", "客户", "批次", "数量", "箱数", "拣货人"],
    ]
    for row in sorted(rows, key=lambda r: (r.stop_position, r.order_number)):
        # A line with no lot allocated yet is still listed, so it is not silently left off the truck.
        parts = [(lot.lot_code, lot.quantity) for lot in row.lots] or [("未分配批次", row.quantity)]
        for i, (lot_code, quantity) in enumerate(parts):
            data.append(
                [
                    BOX,
                    str(row.stop_position) if i == 0 else "",
                    row.order_number if i == 0 else "",
                    fit(row.company, PICK_WIDTHS[3]) if i == 0 else "",
                    lot_code,
                    f"{qty(quantity)} {unit}",
                    qty(quantity / row.case_pack) if row.case_pack else "",
                    "",
                ]
            )
    table = Table(data, colWidths=PICK_WIDTHS, repeatRows=3)
    table.setStyle(
        grid(
            header_rows=3,
            right_from=5,
            extra=[
                ("SPAN", (0, 0), (-1, 0)),
                ("SPAN", (0, 1), (-1, 1)),
                ("FONT", (0, 0), (-1, 0), pdf.FONT, 10),
                ("BACKGROUND", (0, 0), (-1, 1), colors.white),
                ("LINEBELOW", (0, 1), (-1, 1), 0.25, colors.grey),
                ("ALIGN", (0, 2), (1, -1), "CENTER"),
                ("ALIGN", (7, 2), (7, -1), "LEFT"),
                ("FONT", (0, 3), (0, -1), pdf.FONT, 11),
            ],
        )
    )
    return table


def _stop_totals(rows: Sequence[PickRow]) -> Table:
    by_stop: dict[int, list[PickRow]] = defaultdict(list)
    for row in rows:
        by_stop[row.stop_position].append(row)
    widths = [9 * mm, 12 * mm, 62 * mm, 44 * mm, 16 * mm, 18 * mm]
    widths.append(USABLE_WIDTH - sum(widths))
    data: list[list[Any]] = [["✓", "站序", "客户", "订单号", "行数", "箱数", "集货位"]]
    for position in sorted(by_stop):
        stop = by_stop[position]
        orders = sorted({r.order_number for r in stop})
        data.append(
            [
                BOX,
                str(position),
                fit(stop[0].company, widths[2]),
                fit("、".join(orders), widths[3]),
                str(len(stop)),
                qty(sum((r.cases for r in stop), Decimal(0))),
                "",
            ]
        )
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        grid(right_from=4, extra=[("ALIGN", (0, 0), (1, -1), "CENTER"), ("FONT", (0, 1), (0, -1), pdf.FONT, 11)])
    )
    return table


def pick_list_pdf(pick: TripPickList) -> bytes:
    rows = pick.rows
    by_sku: dict[str, list[PickRow]] = defaultdict(list)
    for row in rows:
        by_sku[row.sku].append(row)
    orders = {r.order_number for r in rows}
    cases = sum((r.cases for r in rows), Decimal(0))
    story: list[Any] = [
        *_trip_lines(pick.trip, "拣货单"),
        marked(
            f"{len({r.stop_position for r in rows})} 站　{len(orders)} 个订单　{len(rows)} 行　"
            f"{len(by_sku)} 种商品　合计 <b>{qty(cases)}</b> 箱　{printed_at(pick.printed_at)}",
            "meta",
        ),
        Spacer(1, 3 * mm),
    ]
    for sku in sorted(by_sku):
        story += [_sku_table(by_sku[sku]), Spacer(1, 4 * mm)]
    story += [marked("按站点汇总（集货核对）", "heading"), _stop_totals(rows), Spacer(1, 6 * mm)]
    signatures = Table(
        [["拣货人（签字）：________________", "复核人（签字）：________________", "日期：______________"]]
    )
    signatures.setStyle(PLAIN)
    story.append(signatures)
    settings = get_settings()
    return render(
        story,
        title=f"{settings.brand_name} 拣货单 {pick.trip.trip_number}",
        footer=f"{settings.brand_name} · 拣货单 · 车次 {pick.trip.trip_number} · {pick.trip.trip_date.isoformat()}",
    )


# ---- load manifest --------------------------------------------------------------------------------

MANIFEST_WIDTHS = [9 * mm, 56 * mm, 33 * mm, 11 * mm, 15 * mm, 9 * mm]
MANIFEST_WIDTHS.append(USABLE_WIDTH - sum(MANIFEST_WIDTHS))  # 签收


MAX_STOP_ORDERS = 8  # order numbers a stop's row names; more would make a row taller than a page


def _stop_orders(numbers: Sequence[str]) -> str:
    if len(numbers) <= MAX_STOP_ORDERS:
        return "订单 " + "、".join(numbers)
    return "订单 " + "、".join(numbers[:MAX_STOP_ORDERS]) + f" 等 {len(numbers)} 单"


def _stop_row(stop: ManifestStop) -> list[Any]:
    who = (stop.company, f"{stop.city} {stop.address}", _stop_orders(stop.order_numbers))
    contact = (stop.receiving_hours, stop.contact, stop.phone)
    return [
        str(stop.position),
        "\n".join(line for part in who for line in wrap(part, MANIFEST_WIDTHS[1])),
        "\n".join(line for part in contact if part for line in wrap(part, MANIFEST_WIDTHS[2], 8)),
        qty(stop.cases),
        kg(stop.weight_kg),
        "是" if stop.cold_chain else "—",
        "实收 _____ 箱  异常 ________\n\n签字 ____________ 时间 __:__",
    ]


def _load_summary(manifest: TripManifest) -> Table:
    trip, stops = manifest.trip, manifest.stops
    cases = sum((s.cases for s in stops), Decimal(0))
    weight = sum((s.weight_kg for s in stops), Decimal(0))
    against_cases = against_kg = ""
    if trip.capacity_cases is not None:
        against_cases = f" / 容量 {trip.capacity_cases} 箱" + ("（超出！）" if cases > trip.capacity_cases else "")
    if trip.capacity_kg is not None:
        against_kg = f" / 载重 {kg(trip.capacity_kg)} kg" + ("（超出！）" if weight > trip.capacity_kg else "")
    lines = [
        [f"合计 {len(stops)} 站　{qty(cases)} 箱{against_cases}　{kg(weight)} kg{against_kg}"],
        ["仓库装车（签字）：________________　　司机（签字）：________________　　发车时间：____:____"],
    ]
    if trip.cold_chain:
        lines.append(["冷链：装车温度 ______ ℃　途中 ______ ℃　到达首站 ______ ℃（记录人：__________）"])
    table = Table(lines, colWidths=[USABLE_WIDTH])
    table.setStyle(
        grid(
            header_rows=1,
            extra=[
                ("FONT", (0, 0), (-1, -1), pdf.FONT, 9.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.white),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ],
        )
    )
    return table


def manifest_pdf(manifest: TripManifest) -> bytes:
    trip = manifest.trip
    data: list[list[Any]] = [["站序", "客户 / 地址 / 订单", "收货时间 / 联系人", "箱数", "重量 kg", "冷链", "签收"]]
    data += [_stop_row(stop) for stop in sorted(manifest.stops, key=lambda s: s.position)]
    table = Table(data, colWidths=MANIFEST_WIDTHS, repeatRows=1)
    table.setStyle(
        grid(
            right_from=3,
            extra=[
                ("FONT", (2, 1), (2, -1), pdf.FONT, 8),
                ("ALIGN", (5, 0), (6, -1), "LEFT"),
                ("ALIGN", (0, 0), (0, -1), "CENTER"),
                ("VALIGN", (0, 1), (-1, -1), "TOP"),
                ("FONT", (6, 1), (6, -1), pdf.FONT, 8),
                ("TOPPADDING", (0, 1), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 5),
            ],
        )
    )
    story: list[Any] = [
        *_trip_lines(trip, "装车清单"),
        marked(printed_at(manifest.printed_at), "meta"),
        *[para(note, "meta") for note in manifest.notes],
        Spacer(1, 3 * mm),
        table,
        Spacer(1, 5 * mm),
        _load_summary(manifest),
    ]
    settings = get_settings()
    return render(
        story,
        title=f"{settings.brand_name} 装车清单 {trip.trip_number}",
        footer=f"{settings.brand_name} · 装车清单 · 车次 {trip.trip_number} · {trip.trip_date.isoformat()}",
    )
