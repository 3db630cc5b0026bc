"""Issue 13: the time to render a PRD trip's pick list and load manifest (A4) for a trip of 200
orders × 5 lines, from plain data (the renderers never touch the database), and pages per second."""

from __future__ import annotations

import statistics
import time

from app.wholesale.trip_documents import manifest_pdf, pick_list_pdf
from bench.stations import pct
from tests.fixtures.wholesale_documents import page_count, synthetic_trip

ORDERS = 200
LINES = 5
RUNS = 10


def main() -> None:
    pick, manifest = synthetic_trip(orders=ORDERS, lines=LINES)
    small_pick, small_manifest = synthetic_trip(orders=1, lines=1)
    pick_list_pdf(small_pick), manifest_pdf(small_manifest)  # font registration and imports out of the timing
    print(f"== wholesale: trip documents, {ORDERS} orders × {LINES} lines, {RUNS} runs ==")
    both: list[float] = []
    pages_both = 0
    for name, render, data in (("pick list", pick_list_pdf, pick), ("manifest", manifest_pdf, manifest)):
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            document = render(data)  # type: ignore[operator]
            timings.append(time.perf_counter() - started)
        pages = page_count(document)
        pages_both += pages
        both.append(statistics.median(timings))
        print(
            f"{name:10} p50 {statistics.median(timings) * 1000:7.0f} ms   p99 {pct(timings, 0.99) * 1000:7.0f} ms   "
            f"{pages:3d} pages   {pages / statistics.median(timings):6.1f} pages/s   {len(document) / 1024:.0f} KB"
        )
    print(f"both       p50 {sum(both) * 1000:7.0f} ms   {pages_both} pages   {pages_both / sum(both):6.1f} pages/s")


if __name__ == "__main__":
    main()
