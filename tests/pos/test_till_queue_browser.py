"""The till's upload queue in a real browser (issue 14, item 8; contract app/pos/sync_schemas.py):
120 operations waiting go to ``POST /api/v1/pos/sync`` in the order they were made, at most 50 per
request; a request cut off keeps every one of them; an operation leaves the queue only when the
answer is ``recorded`` or ``duplicate`` — a ``rejected`` one stays, its error shown on the
待上传 button, and goes again with the next upload. The server's answers are played by the test
(``page.route``) so each case is exact; the till page, its IndexedDB and its code are the real ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.browser import PC, app_in_browser, needs_chromium
from tests.fixtures.pos import PIN
from tests.fixtures.pos_till import committed_stocked_till

pytestmark = needs_chromium

QUEUE_120 = """async () => {
  const db = await import('/static/pos/store.js');
  const ids = [];
  for (let n = 0; n < 120; n++) {
    const id = crypto.randomUUID();
    ids.push(id);
    await db.enqueue({kind: 'cash_movement', client_id: id, direction: 'in', amount_minor: n + 1, reason: `#${n}`});
  }
  return ids;
}"""


async def test_the_queue_uploads_in_order_fifty_at_a_time_and_keeps_what_was_not_recorded(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import Route, expect

    shop = await committed_stocked_till(committed_engine)
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        context = await browser.new_context(viewport=PC, locale="zh-CN")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}/pos/enrol?code={shop.enrol_code}")
        await page.get_by_role("button", name="登记本机").click()
        await page.goto(f"{base}/pos")
        await page.get_by_label("工号").fill(shop.clerk.username)
        await page.locator("#signin-pin").fill(PIN)
        await page.get_by_role("button", name="登录").click()
        # The shift's opening must have been uploaded before the network is cut (the counter shows
        # 待上传 0 before the op is queued as well as after its upload, so wait for the answer).
        async with page.expect_response("**/api/v1/pos/sync") as opened:
            await page.get_by_role("button", name="开班").click()
        assert (await (await opened.value).json())["results"][0]["outcome"] == "recorded"
        await expect(page.locator("#pending")).to_have_text("待上传 0")

        batches: list[list[str]] = []
        network = {"cut": True, "reject_7": True}  # flipped by the test as the story goes on

        async def server(route: Route) -> None:
            ops = json.loads(route.request.post_data or "{}")["ops"]
            if network["cut"]:
                await route.abort("connectionreset")
                return
            batches.append([op["client_id"] for op in ops])
            results: list[dict[str, Any]] = []
            for op in ops:
                if op["reason"] == "#7" and network["reject_7"]:
                    outcome = {"outcome": "rejected", "error": {"code": "shift_closed", "message": "班次已结束"}}
                else:
                    outcome = {"outcome": "duplicate" if op["reason"] == "#8" else "recorded"}
                results.append({"client_id": op["client_id"], "kind": op["kind"], **outcome})
            await route.fulfill(json={"results": results})

        await page.route("**/api/v1/pos/sync", server)
        ids: list[str] = await page.evaluate(QUEUE_120)
        await page.locator("#pending").click()  # cut off: nothing leaves the queue
        await expect(page.locator("#net")).to_have_text("离线")
        assert await page.evaluate("async () => (await import('/static/pos/store.js')).queueCount()") == 120

        network["cut"] = False
        await page.locator("#pending").click()
        await expect(page.locator("#pending")).to_have_text("待上传 1")
        # Within one upload a rejected operation is not sent again: it waits for the next one.
        assert [len(batch) for batch in batches[:3]] == [50, 50, 20] and ids[7] not in batches[1] + batches[2]
        assert [client_id for batch in batches[:3] for client_id in batch] == ids
        await expect(page.locator("#pending")).to_have_class("pending waiting rejected")
        await expect(page.locator("#pending")).to_have_attribute("title", "被拒绝 1 笔：班次已结束")

        # The rejected one goes again (alone) with the next upload and leaves when answered.
        network["reject_7"] = False
        await page.locator("#pending").click()
        await expect(page.locator("#pending")).to_have_text("待上传 0")
        assert batches[-1] == [ids[7]]
        await expect(page.locator("#net")).to_have_text("在线")
