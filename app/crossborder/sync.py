"""The sync engine: keeps the listings on Alibaba.com in step with the platform.

One run (a Celery beat task every minute, a nudge from the console, or ``app alibaba sync``):

1. takes a PostgreSQL advisory lock, so one conversation with the gateway happens at a time and
   the process-wide :class:`Pacer` really paces every call (``ALIBABA_CALLS_PER_SECOND``);
2. gets the access token in a short unit of work (refreshed ahead of expiry, see ``tokens``);
3. re-reads the stock available to the cross-border channel and bumps ``inventory_version`` of
   listings whose figure changed (stock changes come from many places; this is their one door);
4. handles every due listing (``next_attempt_at`` reached) on its own: reads a snapshot in one unit
   of work, talks to the gateway with **no transaction open**, then writes the outcome and the call
   records in a second unit of work.

Per listing: without a remote id it first searches by model number (a create retried after a
timeout finds the product the gateway did make, so there is never a duplicate; an empty list and a
``B_PRODUCT_NOT_FOUND`` refusal both mean "no match"), uploads images to
the photo bank, creates with the V2 listing API (price and stock included); with one it pushes the
content (V2 update), price (``edit-price``) and stock (``edit-inventory``) whose local version is
ahead of what Alibaba.com acknowledged, then reads status and audit state back
(``get/v2``); an approved product whose display differs from ``desired_online`` is switched with
the batch status call and read back again.

Failures: ``ApiCallLimit`` → the pacer waits as told and the call is repeated; an expired token →
refreshed once and the call repeated; ``PUB_BIZCHECK_PRODUCT_IN_AUDITING`` → the listing waits
``ALIBABA_AUDIT_POLL_SECONDS``; timeouts and 5xx → exponential back-off (the outcome of a write
is unknown, which the model-number search and the version counters make safe); signature and
permission errors → the run stops and every due listing shows the configuration problem without
being retried (no retry storm: only an edit or "sync now" schedules it again); other business
refusals → the listing shows Alibaba.com's message and waits for an edit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.channels import SalesChannel
from app.crossborder import repository, tokens
from app.crossborder.calllog import CallLog
from app.crossborder.client import (
    BusinessError,
    CallResult,
    GatewayUnavailable,
    IcbuClient,
    InAudit,
    PermissionDenied,
    RateLimited,
    RetryableBusinessError,
    SignatureError,
    TokenExpired,
)
from app.crossborder.crypto import TokenCipher
from app.crossborder.errors import AlibabaNotConnected, AlibabaReauthRequired
from app.crossborder.listings import schedule
from app.crossborder.models import Listing, ListingState
from app.crossborder.orders import ORDER_LIST_METHOD, fetch_orders, store_orders
from app.crossborder.pacing import Pacer
from app.crossborder.reports import ListingResult, OrdersReport, SyncReport
from app.crossborder.validation import validate_listing
from app.crossborder.wire import (
    GET_PATH,
    INVENTORY_PATH,
    LISTING_PATH,
    NOT_FOUND_CODE,
    PHOTOBANK_METHOD,
    PRICE_PATH,
    SEARCH_PATH,
    STATUS_PATH,
    UPDATE_PATH,
    ListingSnapshot,
    photobank_image,
    price_payload,
    product_id_of,
    product_info,
    reply_body,
)
from app.supply.errors import LocationNotFound
from app.supply.service import available_to_sell

logger = logging.getLogger(__name__)

# Key of the session-level advisory lock held by a run (any constant unique to this use).
SYNC_LOCK_KEY: Final[int] = 0x4E4C5058  # "NLPX"
MAX_RATE_LIMIT_WAITS: Final[int] = 5
BACKOFF_BASE_SECONDS: Final[float] = 30.0
BACKOFF_MAX_SECONDS: Final[float] = 3600.0
FAILURES_BEFORE_ERROR: Final[int] = 5
# A ban longer than this is not slept out inside a run: the run ends and due listings wait.
MAX_BAN_WAIT_SECONDS: Final[float] = 60.0
# After a create whose answer was lost, a search that finds nothing may be the search index lagging
# behind the create: wait this long before creating again.
CREATE_SETTLE_SECONDS: Final[float] = 120.0
SEARCH_PAGE_SIZE: Final[int] = 20
SEARCH_MAX_PAGES: Final[int] = 10

SIGNATURE_MESSAGE: Final[str] = (
    "签名被阿里巴巴国际站拒绝（IncompleteSignature）：请检查 ALIBABA_APP_SECRET 与 ALIBABA_APP_KEY 是否匹配。"
    "同步已停止、不会自动重试；修正配置后在运营后台点“立即同步”。"
)


def _permission_message(exc: PermissionDenied) -> str:
    return (
        f"应用没有调用 {exc.api} 的权限（{exc.code}）：请在阿里巴巴开放平台控制台为应用开通相应权限包，"
        "或把服务器 IP 加入白名单。同步已停止、不会自动重试。"
    )


@dataclass(frozen=True)
class SyncOptions:
    debounce_seconds: float = 30.0
    audit_poll_seconds: float = 600.0
    uploads_dir: Path = Path("var/uploads")


@dataclass
class Outcome:
    """What one pass learnt; written onto the listing in the second unit of work."""

    remote_product_id: str | None = None
    adopted: bool = False
    photobank: dict[str, Any] = field(default_factory=dict)
    synced_content: int | None = None
    synced_price: int | None = None
    synced_inventory: int | None = None
    remote_status: str | None = None
    remote_audit_status: str | None = None
    audit_reason: str = ""
    remote_deleted: bool = False
    state: ListingState | None = None
    message: str = ""
    retry: str = "none"  # none | audit | backoff | pause
    retry_after: float = 0.0  # for "pause": the gateway's ban
    clear_create_attempt: bool = False


class CreateSettling(Exception):
    """A create whose answer was lost is not searchable yet: look again soon, do not create."""


class PauseRun(Exception):
    """The gateway banned us for longer than a run should sleep (a daily quota, say)."""

    def __init__(self, seconds: float, message: str) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.message = message


class HaltRun(Exception):
    """A problem no listing can get past (signature, permission, authorisation)."""

    def __init__(self, message: str, state: ListingState = ListingState.error) -> None:
        super().__init__(message)
        self.message = message
        self.state = state


def backoff_seconds(failures: int) -> float:
    return float(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, failures - 1)))


# Held around a whole run or order pull: yields False when another run holds it.
RunLock = Callable[[], AbstractAsyncContextManager[bool]]


def advisory_run_lock(engine: AsyncEngine) -> RunLock:
    """The run lock: a session-level advisory lock on a connection of its own in autocommit mode,
    so no transaction stays open (and no snapshot is held) while the run talks to the gateway."""

    @asynccontextmanager
    async def hold() -> AsyncIterator[bool]:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if not await repository.try_advisory_lock(conn, SYNC_LOCK_KEY):
                yield False
                return
            try:
                yield True
            finally:
                await repository.advisory_unlock(conn, SYNC_LOCK_KEY)

    return hold


class SyncEngine:
    """One sync conversation. ``client`` must report to ``log`` (its ``on_call``). ``lock``
    defaults to :func:`advisory_run_lock` on the engine the sessionmaker is bound to."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: IcbuClient,
        log: CallLog,
        *,
        cipher: TokenCipher,
        pacer: Pacer,
        options: SyncOptions,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock: RunLock | None = None,
    ) -> None:
        if lock is None:
            bind = sessionmaker.kw.get("bind")
            if not isinstance(bind, AsyncEngine):
                raise TypeError("SyncEngine needs a sessionmaker bound to an engine, or an explicit lock")
            lock = advisory_run_lock(bind)
        self.lock = lock
        self.sessionmaker = sessionmaker
        self.client = client
        self.log = log
        self.cipher = cipher
        self.pacer = pacer
        self.options = options
        self.clock = clock
        self._token = ""

    # ------------------------------------------------------------------ a run

    async def run(self, listing_ids: Sequence[int] | None = None) -> SyncReport:
        report = SyncReport()
        if not await self._locked(lambda: self._run(report, listing_ids)):
            report.skipped = "另一个同步正在进行 / another sync run holds the lock"
        report.calls = dict(self.log.counts)
        return report

    async def pull_orders(self) -> OrdersReport:
        """Read the newest seller orders into ``alibaba_orders`` (paced like every call)."""
        report = OrdersReport()

        async def pull() -> None:
            paused = await self._paused_until()
            if paused is not None:
                report.skipped = f"阿里巴巴国际站限流，{paused.isoformat()} 前不调用"
                return
            try:
                await self._refresh_token()
                rows = await fetch_orders(self._list_orders)
            except AlibabaNotConnected as exc:
                report.skipped = exc.text
                await self._write_log_only()
                return
            except PauseRun as exc:
                report.skipped = exc.message
                await self._pause(exc, [])
                return
            except (HaltRun, BusinessError, GatewayUnavailable) as exc:
                report.skipped = exc.message if isinstance(exc, HaltRun) else str(exc)
                await self._write_log_only()
                return
            async with self.sessionmaker() as session, session.begin():
                await repository.add_log_entries(session, self.log.take())
                report.stored = await store_orders(session, rows)
            report.pulled = len(rows)

        if not await self._locked(pull):
            report.skipped = "另一个同步正在进行 / another sync run holds the lock"
        return report

    async def _list_orders(self, params: dict[str, Any]) -> CallResult:
        return await self._call(lambda: self.client.sync(ORDER_LIST_METHOD, params, session=self._token))

    async def _locked(self, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work`` holding the run lock; False (nothing run) when another run holds it."""
        async with self.lock() as held:
            if not held:
                return False
            await work()
        return True

    async def _run(self, report: SyncReport, listing_ids: Sequence[int] | None) -> None:
        paused = await self._paused_until()
        if paused is not None:
            report.skipped = f"阿里巴巴国际站限流，{paused.isoformat()} 前不调用"
            return
        try:
            await self._refresh_token()
        except (AlibabaNotConnected, AlibabaReauthRequired) as exc:
            report.skipped = exc.text
            await self._write_log_only()
            return
        except GatewayUnavailable as exc:
            report.skipped = f"刷新令牌暂时失败，下次再试（{exc.code}）"
            return
        except HaltRun as exc:
            report.halted = exc.message
            await self._halt_due(exc, listing_ids)
            return
        report.inventory_changed = await self.refresh_inventory()
        async with self.sessionmaker() as session:
            due = await repository.due_listing_ids(session, now=self.clock(), listing_ids=listing_ids)
        for listing_id in due:
            try:
                result = await self.sync_listing(listing_id)
            except HaltRun as exc:
                report.halted = exc.message
                await self._halt_due(exc, listing_ids)
                break
            except PauseRun as exc:
                report.skipped = exc.message
                await self._pause(exc, listing_ids)
                break
            if result is not None:
                report.listings.append(result)

    async def refresh_inventory(self) -> int:
        """Stock available to the cross-border channel, in whole units, onto each listing; a
        changed figure bumps ``inventory_version`` and schedules a push after the debounce
        (listings stopped on a refusal or a configuration error carry the new figure with their
        next push, after an edit or "sync now"). Without a county warehouse nothing is touched."""
        changed = 0
        async with self.sessionmaker() as session, session.begin():
            pairs = await repository.variants_of_listings(session)
            if not pairs:
                return 0
            try:
                variant_ids = sorted({v for _, v in pairs})
                available = await available_to_sell(session, variant_ids, channel=SalesChannel.crossborder)
            except LocationNotFound:  # no county warehouse yet: do not push a made-up zero
                logger.warning("alibaba sync: no county warehouse, stock figures left as they are")
                return 0
            listings = await repository.listings_for_update(session, [listing_id for listing_id, _ in pairs])
            for listing in listings:
                quantity = max(0, math.floor(available.get(listing.variant_id, Decimal(0))))
                if listing.inventory_quantity == quantity:
                    continue
                listing.inventory_quantity = quantity
                changed += 1
                if listing.remote_product_id is None and listing.create_attempt is None:
                    # Not on Alibaba.com (never published, or deleted there): the figure goes with
                    # the create, which only an edit or "sync now" starts.
                    continue
                listing.inventory_version += 1
                stopped = listing.next_attempt_at is None and listing.state in (
                    ListingState.error,
                    ListingState.rejected,
                )
                if not stopped:
                    schedule(listing, delay_seconds=self.options.debounce_seconds, now=self.clock())
        return changed

    # ------------------------------------------------------------------ one listing

    async def sync_listing(self, listing_id: int) -> ListingResult | None:
        async with self.sessionmaker() as session, session.begin():
            listing = await repository.listing_for_update(session, listing_id)
            if listing is None:
                return None
            problems = validate_listing(listing)
            if problems:
                listing.state = ListingState.error
                listing.state_message = "本地校验未通过，未发送：" + "；".join(problems)
                listing.next_attempt_at = None
                return ListingResult(listing.id, listing.model_number, listing.state, listing.state_message)
            if listing.state in (
                ListingState.not_connected,
                ListingState.draft,
                ListingState.error,
                ListingState.rejected,
            ):
                listing.state = ListingState.syncing
            snapshot = ListingSnapshot.of(listing)

        self.log.listing_id = listing_id
        outcome = Outcome()
        stop: HaltRun | PauseRun | None = None
        try:
            await self._push(snapshot, outcome)
        except InAudit as exc:
            outcome.state = ListingState.pending_audit
            outcome.message = f"阿里巴巴国际站审核中，暂不能修改，稍后自动重试（{exc.msg_code}）"
            outcome.retry = "audit"
        except (GatewayUnavailable, RetryableBusinessError) as exc:
            outcome.message = f"国际站暂时不可用（{exc.msg_code or exc.code or exc.message}），稍后自动重试"
            outcome.retry = "backoff"
        except PauseRun as exc:
            stop = exc
            outcome.message, outcome.retry, outcome.retry_after = exc.message, "pause", exc.seconds
        except CreateSettling:
            outcome.message = "上次发布的结果还未在国际站查到，稍后再查（不会重复发布）"
            outcome.retry, outcome.retry_after = "pause", BACKOFF_BASE_SECONDS
        except HaltRun as exc:
            stop = exc
            outcome.state, outcome.message = exc.state, exc.message
        except BusinessError as exc:
            outcome.state = ListingState.error
            outcome.message = f"阿里巴巴国际站拒绝：{exc.message}（{exc.msg_code or exc.code}）"
        except LocalImageMissing as exc:
            outcome.state = ListingState.error
            outcome.message = str(exc)
        except Exception as exc:  # a bug or a reply we cannot read: keep the log, retry later
            logger.exception("alibaba sync of listing %s failed unexpectedly", listing_id)
            outcome.message = f"同步时出现意外错误（{type(exc).__name__}），稍后自动重试"
            outcome.retry = "backoff"
        finally:
            self.log.listing_id = None
        result = await self._record(listing_id, outcome)
        if stop is not None:
            raise stop
        return result

    async def _push(self, snap: ListingSnapshot, out: Outcome) -> None:
        remote_id = snap.remote_product_id
        content_due, price_due, inventory_due = snap.content_due, snap.price_due, snap.inventory_due
        if remote_id is None:
            remote_id = await self._adopt_or_create(snap, out)
            if remote_id is None:
                return
            content_due = out.synced_content is None
            price_due = out.synced_price is None
            inventory_due = out.synced_inventory is None
        if content_due:
            # The whole listing, price and stock included: one write, one audit window.
            images = await self._images(snap, out)
            update = product_info(replace(snap, remote_product_id=remote_id), images, for_create=False)
            await self._call(lambda: self.client.rest(UPDATE_PATH, {"product_info": update}, access_token=self._token))
            out.synced_content, out.synced_price = snap.content_version, snap.price_version
            out.synced_inventory = snap.inventory_version
            price_due = inventory_due = False
        # Stock first: a price edit opens an audit window that would refuse the stock edit after it.
        if inventory_due and snap.inventory is not None:
            await self._call(
                lambda: self.client.rest(
                    INVENTORY_PATH, {"product_id": remote_id, "inventory": snap.inventory}, access_token=self._token
                )
            )
            out.synced_inventory = snap.inventory_version
        if price_due:
            price = price_payload(snap)
            await self._call(
                lambda: self.client.rest(
                    PRICE_PATH, {"product_id": remote_id, "price": price}, access_token=self._token
                )
            )
            out.synced_price = snap.price_version
        await self._read_back(remote_id, out)
        if out.remote_audit_status == "approved" and not out.remote_deleted:
            online = out.remote_status == "online"
            if online != snap.desired_online:
                await self._switch_display(remote_id, online=snap.desired_online)
                await self._read_back(remote_id, out)
                if (out.remote_status == "online") != snap.desired_online:
                    out.retry, out.message = "backoff", "国际站未能切换上架/下架状态，稍后自动重试"

    async def _adopt_or_create(self, snap: ListingSnapshot, out: Outcome) -> str | None:
        """The remote id: a product found by model number is adopted (a create whose answer was
        lost), else the listing is created. None when it is too early to tell (see below)."""
        attempt = snap.create_attempt
        found = await self._find_remote(snap)
        if found is not None:
            out.remote_product_id, out.adopted, out.clear_create_attempt = found, True, True
            # What the lost create carried is known from the attempt mark; without one (made by
            # hand on Alibaba.com with our model number) everything is pushed once more.
            if attempt is not None:
                if attempt.get("content") == snap.content_version:
                    out.synced_content = snap.content_version
                if attempt.get("price") == snap.price_version:
                    out.synced_price = snap.price_version
                if attempt.get("inventory") == snap.inventory_version:
                    out.synced_inventory = snap.inventory_version
            return found
        if attempt is not None:
            sent_at = datetime.fromisoformat(str(attempt.get("at")))
            if (self.clock() - sent_at).total_seconds() < CREATE_SETTLE_SECONDS:
                # The earlier create may still be on its way into the search index: look again later
                # rather than risk a second product.
                raise CreateSettling()
        images = await self._images(snap, out)
        await self._mark_create_attempt(snap)
        try:
            result = await self._call(
                lambda: self.client.rest(
                    LISTING_PATH,
                    {"product_info": product_info(snap, images, for_create=True)},
                    access_token=self._token,
                )
            )
        except BusinessError as exc:
            if not isinstance(exc, RetryableBusinessError):
                out.clear_create_attempt = True  # refused outright: nothing was created
            raise
        remote_id = out.remote_product_id = product_id_of(result)
        out.clear_create_attempt = True
        out.synced_content, out.synced_price = snap.content_version, snap.price_version
        out.synced_inventory = snap.inventory_version
        return remote_id

    async def _mark_create_attempt(self, snap: ListingSnapshot) -> None:
        async with self.sessionmaker() as session, session.begin():
            listing = await repository.listing_for_update(session, snap.id)
            if listing is not None:
                listing.create_attempt = {
                    "content": snap.content_version,
                    "price": snap.price_version,
                    "inventory": snap.inventory_version,
                    "at": self.clock().isoformat(),
                }

    async def _switch_display(self, remote_id: str, *, online: bool) -> None:
        action = "online" if online else "offline"
        result = await self._call(
            lambda: self.client.rest(
                STATUS_PATH, {"product_id_list": [remote_id], "action": action}, access_token=self._token
            )
        )
        body = reply_body(result)
        updated = [str(x) for x in body.get("updated_product_ids") or []]
        if remote_id not in updated:
            errors = body.get("errors") or [{}]
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            raise BusinessError(
                str(first.get("message") or "product not in updated_product_ids"),
                code="0",
                msg_code=str(first.get("msg_code") or ""),
                api=STATUS_PATH,
            )

    async def _find_remote(self, snap: ListingSnapshot) -> str | None:
        """The id of a live remote product with this model number, looking through every page."""
        for page in range(1, SEARCH_MAX_PAGES + 1):
            query = {"model_number": snap.model_number, "page_index": page, "page_size": SEARCH_PAGE_SIZE}
            try:
                result = await self._call(functools.partial(self._search, query))
            except BusinessError as exc:
                if NOT_FOUND_CODE not in exc.msg_code.split(";"):
                    raise
                # Nothing (more) with this model number. The create that follows is still guarded
                # by the create-attempt mark, so a lost create is not repeated.
                self.log.settle_no_match(SEARCH_PATH)
                return None
            body = reply_body(result)
            items = body.get("product_info") or []
            for item in items if isinstance(items, list) else []:
                basic = item.get("basic_info") if isinstance(item, dict) else None
                if not isinstance(basic, dict) or basic.get("model_number") != snap.model_number:
                    continue
                if basic.get("status") == "deleted" or basic.get("product_id") in (None, ""):
                    continue
                return str(basic["product_id"])
            total = (body.get("page") or {}).get("total_item") if isinstance(body.get("page"), dict) else None
            if (
                not isinstance(items, list)
                or len(items) < SEARCH_PAGE_SIZE
                or (isinstance(total, int) and page * SEARCH_PAGE_SIZE >= total)
            ):
                return None
        return None

    async def _images(self, snap: ListingSnapshot, out: Outcome) -> list[str]:
        """Photo-bank URLs of the listing's images, uploading those not uploaded yet (an image is
        uploaded once; a replaced image is a new path and so a new upload)."""
        known = {**snap.photobank, **out.photobank}
        urls: list[str] = []
        for index, path in enumerate(snap.image_paths, start=1):
            entry = known.get(path)
            if entry is None:
                file = self.options.uploads_dir / path
                try:
                    content = await asyncio.to_thread(file.read_bytes)
                except OSError as exc:
                    raise LocalImageMissing(f"商品图片文件不存在或无法读取：{path}") from exc
                image = photobank_image(snap.model_number, index, file.suffix.lower(), content)
                result = await self._call(functools.partial(self._upload, image))
                upload = result.data.get("upload_image_response") or {}
                entry = {"file_id": str(upload.get("file_id") or ""), "url": str(upload.get("photobank_url") or "")}
                if not entry["url"]:
                    raise BusinessError("photobank reply without a URL", code="0", api=PHOTOBANK_METHOD)
                out.photobank[path] = entry
            urls.append(str(entry["url"]))
        return urls

    async def _search(self, query: dict[str, Any]) -> CallResult:
        return await self.client.rest(SEARCH_PATH, query, access_token=self._token)

    async def _upload(self, image: tuple[str, bytes, str]) -> CallResult:
        return await self.client.sync(
            PHOTOBANK_METHOD, {"file_name": image[0]}, session=self._token, files={"image_bytes": image}
        )

    async def _read_back(self, remote_id: str, out: Outcome) -> None:
        result = await self._call(
            lambda: self.client.rest(GET_PATH, {"product_id": remote_id}, access_token=self._token)
        )
        info = reply_body(result).get("product_info") or {}
        basic = info.get("basic_info") if isinstance(info, dict) else None
        basic = basic if isinstance(basic, dict) else {}
        out.remote_status = str(basic.get("status") or "")
        out.remote_audit_status = str(basic.get("audit_status") or "")
        out.audit_reason = str(basic.get("audit_reason") or "")
        out.remote_deleted = out.remote_status == "deleted"

    # ------------------------------------------------------------------ calls and their failures

    async def _call(self, send: Callable[[], Awaitable[CallResult]]) -> CallResult:
        """One paced call, repeated after an ``ApiCallLimit`` ban or a token refresh. ``send`` reads
        ``self._token`` when called, so a repeat carries the refreshed token."""
        rate_waits = 0
        refreshed = False
        while True:
            try:
                async with self.pacer.slot():
                    return await send()
            except RateLimited as exc:
                rate_waits += 1
                # Reference §5: sleep the stated ban plus one second.
                wait = (exc.retry_after if exc.retry_after is not None else 1.0) + 1.0
                if wait > MAX_BAN_WAIT_SECONDS:
                    raise PauseRun(wait, f"阿里巴巴国际站限流（{exc.code}），约 {int(wait)} 秒后再同步") from exc
                if rate_waits > MAX_RATE_LIMIT_WAITS:
                    raise GatewayUnavailable(
                        f"still throttled after {MAX_RATE_LIMIT_WAITS} waits", code=exc.code, api=exc.api
                    ) from exc
                logger.info("icbu throttled on %s; waiting %.1f s as told", exc.api, wait)
                await self.pacer.ban_everywhere(wait)
            except TokenExpired as exc:
                if refreshed:
                    raise HaltRun("阿里巴巴国际站拒绝了刚刷新的令牌，请在运营后台重新连接卖家账号") from exc
                refreshed = True
                async with self.pacer.slot():
                    await self._refresh_token(rejected=self._token)
            except SignatureError as exc:
                raise HaltRun(SIGNATURE_MESSAGE) from exc
            except PermissionDenied as exc:
                raise HaltRun(_permission_message(exc)) from exc

    async def _refresh_token(self, *, rejected: str | None = None) -> None:
        """Get (or, after a refusal of ``rejected``, refresh) the token in a short unit of work of
        its own, which also commits a ``needs_reauth`` mark and the calls' log entries.
        Transient refresh failures surface as :class:`GatewayUnavailable` (retry later);
        configuration problems as :class:`HaltRun`."""
        failure: Exception | None = None
        async with self.sessionmaker() as session, session.begin():
            try:
                self._token = await tokens.access_token(
                    session, self.client, cipher=self.cipher, rejected_token=rejected
                )
            except AlibabaReauthRequired as exc:
                failure = HaltRun(exc.text)
            except SignatureError:
                failure = HaltRun(SIGNATURE_MESSAGE)
            except PermissionDenied as exc:
                failure = HaltRun(_permission_message(exc))
            except (GatewayUnavailable, RateLimited) as exc:
                failure = GatewayUnavailable(f"token refresh: {exc.message}", code=exc.code, api=exc.api)
            except BusinessError as exc:
                failure = HaltRun(f"刷新令牌被拒绝（{exc.code or exc.msg_code}：{exc.message}），请检查应用配置。")
            entries = self.log.take()
            if entries:
                await repository.add_log_entries(session, entries)
        if failure is not None:
            raise failure

    # ------------------------------------------------------------------ writing outcomes

    async def _record(self, listing_id: int, out: Outcome) -> ListingResult | None:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            await repository.add_log_entries(session, self.log.take())
            listing = await repository.listing_for_update(session, listing_id)
            if listing is None:
                return None
            if out.remote_product_id is not None:
                listing.remote_product_id = out.remote_product_id
            if out.clear_create_attempt:
                listing.create_attempt = None
            if out.photobank:
                listing.photobank = {**listing.photobank, **out.photobank}
            # Versions only move forward and never past what is local now (an edit during the push
            # keeps the listing due).
            if out.synced_content is not None:
                listing.synced_content_version = max(listing.synced_content_version, out.synced_content)
            if out.synced_price is not None:
                listing.synced_price_version = max(listing.synced_price_version, out.synced_price)
            if out.synced_inventory is not None:
                listing.synced_inventory_version = max(listing.synced_inventory_version, out.synced_inventory)
            if out.remote_status is not None:
                listing.remote_status = out.remote_status
                listing.remote_audit_status = out.remote_audit_status or ""
            self._settle(listing, out, now)
            return ListingResult(listing.id, listing.model_number, listing.state, listing.state_message)

    def _settle(self, listing: Listing, out: Outcome, now: datetime) -> None:
        if out.retry == "pause":
            listing.next_attempt_at = now + timedelta(seconds=out.retry_after)
            listing.state_message = out.message
            return
        if out.retry == "backoff":
            listing.failed_attempts += 1
            delay = backoff_seconds(listing.failed_attempts)
            listing.next_attempt_at = now + timedelta(seconds=delay)
            listing.state = (
                ListingState.error if listing.failed_attempts >= FAILURES_BEFORE_ERROR else (ListingState.syncing)
            )
            listing.state_message = f"{out.message}（第 {listing.failed_attempts} 次，约 {int(delay)} 秒后）"
            return
        listing.failed_attempts = 0
        if out.state is not None:  # a refusal, the audit window or a halt
            listing.state, listing.state_message = out.state, out.message
            listing.next_attempt_at = (
                now + timedelta(seconds=self.options.audit_poll_seconds) if out.retry == "audit" else None
            )
            return
        listing.last_synced_at = now
        if out.remote_deleted:
            listing.remote_product_id = None
            listing.synced_content_version = listing.synced_price_version = listing.synced_inventory_version = 0
            listing.remote_status = listing.remote_audit_status = ""
            listing.state = ListingState.draft
            listing.state_message = "该商品已在阿里巴巴国际站被删除；点“立即同步”将重新发布"
            listing.next_attempt_at = None
            return
        audit = out.remote_audit_status
        if audit == "rejected":
            listing.state = ListingState.rejected
            listing.state_message = out.audit_reason or "阿里巴巴国际站审核未通过（未给出原因）"
            listing.next_attempt_at = None
            return
        if audit != "approved":
            listing.state = ListingState.pending_audit
            listing.state_message = "已提交，等待阿里巴巴国际站审核"
            listing.next_attempt_at = now + timedelta(seconds=self.options.audit_poll_seconds)
            return
        listing.state = ListingState.online if out.remote_status == "online" else ListingState.offline
        listing.state_message = (
            ""
            if (listing.state is ListingState.online) == listing.desired_online
            else ("国际站显示状态与设定不一致，将再次尝试")
        )
        behind = (
            listing.synced_content_version < listing.content_version
            or listing.synced_price_version < listing.price_version
            or listing.synced_inventory_version < listing.inventory_version
        )
        listing.next_attempt_at = None
        if behind or listing.state_message:
            schedule(listing, delay_seconds=self.options.debounce_seconds, now=now)

    async def _halt_due(self, exc: HaltRun, listing_ids: Sequence[int] | None) -> None:
        """Every due listing shows the configuration problem and is not retried on its own."""
        async with self.sessionmaker() as session, session.begin():
            await repository.add_log_entries(session, self.log.take())
            due = await repository.due_listing_ids(session, now=self.clock(), listing_ids=listing_ids)
            for listing in await repository.listings_for_update(session, due):
                listing.state = exc.state
                listing.state_message = exc.message
                listing.next_attempt_at = None
        logger.error("alibaba sync halted: %s", exc.message)

    async def _pause(self, exc: PauseRun, listing_ids: Sequence[int] | None) -> None:
        """A long ban: the connection records until when no call may go out (every run and pull
        checks it first), and the listings due now wait for its end."""
        until = self.clock() + timedelta(seconds=exc.seconds)
        await self.pacer.ban_everywhere(exc.seconds)
        async with self.sessionmaker() as session, session.begin():
            await repository.add_log_entries(session, self.log.take())
            await repository.set_paused_until(session, until)
            due = await repository.due_listing_ids(session, now=self.clock(), listing_ids=listing_ids)
            for listing in await repository.listings_for_update(session, due):
                listing.next_attempt_at = max(until, listing.next_attempt_at or until)
        logger.warning("alibaba sync paused for %.0f s: %s", exc.seconds, exc.message)

    async def _paused_until(self) -> datetime | None:
        async with self.sessionmaker() as session:
            until = await repository.paused_until(session)
        return until if until is not None and until > self.clock() else None

    async def _write_log_only(self) -> None:
        entries = self.log.take()
        if entries:
            async with self.sessionmaker() as session, session.begin():
                await repository.add_log_entries(session, entries)


class LocalImageMissing(Exception):
    pass
