"""The till page in a real browser (issue 14, Measure): scan-to-line time and page weight.

A demo server (STORE-01, till T1, clerk / PIN 2468) and Debian's chromium on a fresh profile:

- **page weight**: the bytes of HTML + CSS + JS of the first visit to ``/pos`` (response bodies as
  served, uncompressed), and of the next visit, split into what came over the network and what the
  service worker served from its cache (the HTML is network-first when online; with the server
  down everything comes from the cache);
- **scan-to-line**: 200 keyboard-wedge scans (digits, then Enter) of the demo's product barcodes
  and scale labels, each timed in the page with ``performance.now()`` from Enter to the frame after
  the line is on screen (``window.__scanTimes``, pos.js); the basket is cleared every 50 lines, as
  a long market basket would be.

``python -m bench pos_till``.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import running_server
from bench.stations import pct
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, PC
from tests.fixtures.pos_till import scale_label

SCANS = 200
PAGE_TYPES = {"document", "stylesheet", "script"}


class Weigher:
    """HTML / CSS / JS bytes of the page loads it is switched on for, by where they came from."""

    def __init__(self) -> None:
        self.network = 0
        self.from_worker = 0
        self.html = 0
        self.on = False
        self.pending: list[asyncio.Task[None]] = []

    def __call__(self, response: Any) -> None:
        if self.on and response.request.resource_type in PAGE_TYPES:
            self.pending.append(asyncio.ensure_future(self._add(response)))

    async def _add(self, response: Any) -> None:
        try:
            size = len(await response.body())
        except Exception:  # a redirect or an aborted body has none: it weighs nothing here
            size = 0
        if response.request.resource_type == "document":
            self.html = size
        if response.from_service_worker:
            self.from_worker += size
        else:
            self.network += size

    async def measure(self, page: Any, url: str) -> tuple[int, int]:
        self.network = self.from_worker = 0
        self.on = True
        await page.goto(url, wait_until="networkidle")
        await asyncio.gather(*self.pending)
        self.pending.clear()
        self.on = False
        return self.network, self.from_worker


async def run(base: str, profile: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, viewport=PC, locale="zh-CN"
        )
        context.set_default_timeout(20_000)
        page = context.pages[0] if context.pages else await context.new_page()
        # The admin makes an enrolment code for STORE-01's till T1; this browser enrols with it.
        await page.goto(f"{base}/login?next=/admin/pos/stores/STORE-01/tills/T1")
        await page.get_by_label("用户名").fill("admin")
        await page.get_by_label("密码").fill("demo1234")
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("button", name="生成登记码").click()
        code = (await page.locator("#enrol-code").inner_text()).strip().replace("-", "")
        await page.goto(f"{base}/pos/enrol?code={code}")
        await page.get_by_role("button", name="登记本机").click()
        await expect(page.locator("#enrolled-till")).to_be_visible()

        weigher = Weigher()
        page.on("response", weigher)
        first, _ = await weigher.measure(page, f"{base}/pos")
        await page.get_by_label("工号").fill("clerk")
        await page.locator("#signin-pin").fill("2468")
        await page.get_by_role("button", name="登录").click()
        await page.locator("#screen-open:not([hidden]), #screen-sell:not([hidden])").wait_for()
        if await page.locator("#screen-open").is_visible():
            await page.get_by_role("button", name="开班").click()
        await expect(page.locator("#scan")).to_be_focused()
        await page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        again_network, again_worker = await weigher.measure(page, f"{base}/pos")
        await expect(page.locator("#scan")).to_be_focused()

        items = await page.evaluate(
            "async () => { const s = await import('/static/pos/store.js');"
            " return (await s.get('catalog')).catalog.items; }"
        )
        codes = [item["barcode"] for item in items if item["barcode"]]
        codes += [scale_label("21", item["plu"], 1234) for item in items if item["weighed"] and item["plu"]]
        codes += [scale_label("26", item["plu"], 2468) for item in items if item["weighed"] and item["plu"]]
        await page.evaluate("() => { window.__scanTimes = []; window.__scanWork = []; }")
        for n in range(SCANS):
            if n and n % 50 == 0:
                await page.locator("#clear-button").click()
                await page.locator("#scan").focus()
            await page.keyboard.type(codes[n % len(codes)])
            await page.keyboard.press("Enter")
        await page.wait_for_function(f"() => window.__scanTimes.length >= {SCANS}")
        times: list[float] = await page.evaluate("() => window.__scanTimes")
        work: list[float] = await page.evaluate("() => window.__scanWork")
        await context.close()

    print("POS till page (chromium, demo STORE-01)")
    print(f"  page weight, first visit (HTML + CSS + JS)      {first / 1024:8.1f} KiB")
    print(
        f"  next visit: the page over the network {again_network / 1024:6.1f} KiB; through the service worker"
        f" {again_worker / 1024:6.1f} KiB (assets from its cache; the HTML, {weigher.html / 1024:.1f} KiB,"
        " fetched by the worker network-first while online, from its cache when not)"
    )
    print(
        f"  scan-to-line ({len(times)} wedge scans, {len(codes)} codes)   "
        f"p50 {pct(times, 0.50):6.1f} ms   p99 {pct(times, 0.99):6.1f} ms   max {max(times):6.1f} ms"
        "   (Enter to the painted frame)"
    )
    print(
        f"  of which decode + price + basket in the DOM      p50 {pct(work, 0.50):6.1f} ms"
        f"   p99 {pct(work, 0.99):6.1f} ms   max {max(work):6.1f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-till-") as tmp:
        with running_server(Path(tmp) / "data") as server:
            asyncio.run(run(server.base_url, Path(tmp) / "profile"))


if __name__ == "__main__":
    main()
