"""The sync engine against the fake ICBU gateway over real HTTP, on a real PostgreSQL.

Every scenario of issue 6: three listings created and verified online; price and stock changes
pushed once each; an edit during audit retried later; a throttled call waits and succeeds; an
expired token refreshed; a wrong secret stops without a retry storm; a timed-out create does not
duplicate; a business error inside ``code:"0"`` is a failure; no secret in the sync log or logs.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.crossborder import repository, tokens
from app.crossborder.calllog import CallLog
from app.crossborder.client import IcbuClient
from app.crossborder.crypto import TokenCipher, derive_key
from app.crossborder.listings import ListingEdit, apply_edit
from app.crossborder.models import AlibabaConnection, AlibabaOrder, Listing, ListingState, SyncLogEntry
from app.crossborder.pacing import Pacer
from app.crossborder.reports import SyncReport
from app.crossborder.sync import SYNC_LOCK_KEY, RunLock, SyncEngine, SyncOptions
from tests.fixtures.builders import make_product, make_variant, receive
from tests.fixtures.fake_icbu import FakeIcbuServer

CIPHER = TokenCipher(derive_key("test-secret-key"))
AUDIT_POLL = 600.0


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def savepoint_run_lock(sessionmaker: async_sessionmaker[AsyncSession]) -> RunLock:
    """The run lock on the tests' one connection (its outer transaction is rolled back after the
    test, so the engine's own lock connection could not see the test's data): the same advisory
    lock, taken in a session of its own."""

    @asynccontextmanager
    async def hold() -> AsyncIterator[bool]:
        async with sessionmaker() as session:
            if not await repository.try_advisory_lock(session, SYNC_LOCK_KEY):
                await session.rollback()
                yield False
                return
            try:
                yield True
            finally:
                await repository.advisory_unlock(session, SYNC_LOCK_KEY)
                await session.commit()

    return hold


@dataclass
class World:
    sessionmaker: async_sessionmaker[AsyncSession]
    fake: FakeIcbuServer
    uploads: Path
    listing_ids: list[int]
    now: datetime

    def engine(self, client: IcbuClient, log: CallLog, *, rate: float = 1000.0, at: float = 0.0) -> SyncEngine:
        """An engine whose clock is ``at`` seconds after the world's start (due times are tested
        without sleeping)."""
        when = self.now + timedelta(seconds=at)
        return SyncEngine(
            self.sessionmaker,
            client,
            log,
            cipher=CIPHER,
            pacer=Pacer(rate),
            options=SyncOptions(debounce_seconds=5, audit_poll_seconds=AUDIT_POLL, uploads_dir=self.uploads),
            clock=lambda: when,
            lock=savepoint_run_lock(self.sessionmaker),
        )

    async def run(
        self,
        *,
        rate: float = 1000.0,
        at: float = 0.0,
        secret: str | None = None,
        timeout: float = 5.0,
        ids: list[int] | None = None,
    ) -> SyncReport:
        log = CallLog()
        async with self.fake.client(on_call=log, app_secret=secret, timeout=timeout) as client:
            return await self.engine(client, log, rate=rate, at=at).run(ids)

    async def listings(self) -> list[Listing]:
        async with self.sessionmaker() as session:
            rows = await session.scalars(select(Listing).where(Listing.id.in_(self.listing_ids)).order_by(Listing.id))
            return list(rows.all())

    async def edit(self, listing_id: int, change: Callable[[ListingEdit], ListingEdit], *, at: float = 0.0) -> None:
        async with self.sessionmaker() as session, session.begin():
            listing = await session.get(Listing, listing_id, with_for_update=True)
            assert listing is not None
            current = ListingEdit(**{name: getattr(listing, name) for name in ListingEdit.__dataclass_fields__})
            apply_edit(listing, change(current), debounce_seconds=5, now=self.now + timedelta(seconds=at))

    async def log_entries(self) -> list[SyncLogEntry]:
        async with self.sessionmaker() as session:
            return list((await session.scalars(select(SyncLogEntry).order_by(SyncLogEntry.id))).all())

    def requests(self, api: str) -> int:
        return sum(1 for r in self.fake.state.requests if r.api == api)


MODELS = ("T-XB-LOQ", "T-XB-HONEY", "T-XB-TEA")


@pytest.fixture
async def world(
    sessionmaker: async_sessionmaker[AsyncSession], fake_icbu: FakeIcbuServer, tmp_path: Path
) -> AsyncIterator[World]:
    uploads = tmp_path / "uploads"
    (uploads / "products").mkdir(parents=True)
    ids: list[int] = []
    async with sessionmaker() as session, session.begin():
        for index, model in enumerate(MODELS):
            product = await make_product(session)
            variant = await make_variant(session, product=product)
            await receive(session, variant, str(40 + index * 10))
            path = f"products/{model.lower()}.jpg"
            (uploads / path).write_bytes(_jpeg())
            listing = Listing(
                product_id=product.id,
                variant_id=variant.id,
                model_number=model,
                title_en=f"Test Product {model}",
                description_en="Grown in Shixing County, Guangdong.",
                keywords=["test fruit", "guangdong"],
                category_id="100008",
                attributes=[{"attribute_name": "Brand Name", "attribute_value": "Nanling Pearl"}],
                image_paths=[path],
                price_tiers=[{"min_quantity": 10, "price_cents": 1980}, {"min_quantity": 100, "price_cents": 1850}],
                moq=10,
                unit="Box",
                lead_time_days=3,
                weight_kg=Decimal("5.600"),
                size_cm={"length": 40, "width": 30, "height": 18},
                state=ListingState.draft,
                desired_online=True,
                next_attempt_at=datetime.now(UTC),
            )
            session.add(listing)
            await session.flush()
            ids.append(listing.id)
        async with fake_icbu.client() as client:
            await tokens.connect(session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
    fake_icbu.state.requests.clear()
    yield World(sessionmaker, fake_icbu, uploads, ids, datetime.now(UTC))


async def test_first_sync_creates_the_three_listings_and_verifies_them_online(world: World) -> None:
    report = await world.run()
    assert not report.halted and not report.skipped
    listings = await world.listings()
    assert [x.state for x in listings] == [ListingState.online] * 3
    products = world.fake.state.products
    assert len(products) == 3 and {p.model_number for p in products} == set(MODELS)
    for listing in listings:
        remote = world.fake.state.product(str(listing.remote_product_id))
        assert remote.display == "Y" and remote.status == "approved"
        assert remote.price == {
            "price_type": "TIERED",
            "currency": "USD",
            "tiered_price": [{"quantity": 10, "price": "19.80"}, {"quantity": 100, "price": "18.50"}],
        }
        assert remote.inventory == listing.inventory_quantity and listing.inventory_quantity in (40, 50, 60)
        assert listing.remote_status == "online" and listing.remote_audit_status == "approved"
        assert (listing.synced_content_version, listing.synced_price_version, listing.synced_inventory_version) == (
            listing.content_version,
            listing.price_version,
            listing.inventory_version,
        )
        assert listing.next_attempt_at is None and listing.last_synced_at is not None
        assert list(listing.photobank) == listing.image_paths
    # Per listing: search by model number, photo upload, create, read back, online, read back.
    assert world.requests("/alibaba/icbu/product/search/v2") == 3
    assert world.requests("alibaba.icbu.photobank.upload") == 3
    assert world.requests("/alibaba/icbu/product/listing/v2") == 3
    assert world.requests("/alibaba/icbu/product/batch/update/status") == 3
    assert world.requests("/alibaba/icbu/product/get/v2") == 6
    assert all(r.signature_ok for r in world.fake.state.requests)
    entries = await world.log_entries()
    assert len(entries) == 18 and all(e.ok for e in entries)
    assert {e.listing_id for e in entries} == set(world.listing_ids)
    create = next(e for e in entries if e.api == "/alibaba/icbu/product/listing/v2")
    assert create.style == "rest" and create.request_id.startswith("fake-req-") and create.trace_id
    assert json.loads(create.params["product_info"])["basic_info"]["model_number"] in MODELS

    # Nothing changed: the next run sends nothing.
    before = len(world.fake.state.requests)
    await world.run(at=60)
    assert len(world.fake.state.requests) == before


async def test_price_and_stock_changes_are_pushed_once_each(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await world.run()
    first = world.listing_ids[0]
    new_ladder = [{"min_quantity": 10, "price_cents": 1890}, {"min_quantity": 100, "price_cents": 1790}]
    # Two edits in quick succession (debounced: one push), and more stock arrives.
    await world.edit(first, lambda e: replace(e, price_tiers=[{"min_quantity": 10, "price_cents": 1950}]), at=1)
    await world.edit(first, lambda e: replace(e, price_tiers=new_ladder), at=2)
    async with sessionmaker() as session, session.begin():
        listing = await session.get(Listing, world.listing_ids[1])
        assert listing is not None
        from app.catalog.models import Variant

        variant = await session.get(Variant, listing.variant_id)
        assert variant is not None
        await receive(session, variant, "25")

    # Before the debounce has passed only the stock figure is read; nothing is pushed.
    await world.run(at=3)
    assert world.requests("/icbu/product/edit-price") == 0
    assert world.requests("/icbu/product/edit-inventory") == 0

    await world.run(at=30)
    await world.run(at=90)
    assert world.requests("/icbu/product/edit-price") == 1
    assert world.requests("/icbu/product/edit-inventory") == 1
    listings = {x.id: x for x in await world.listings()}
    remote_price = world.fake.state.product(str(listings[first].remote_product_id)).price
    assert remote_price["tiered_price"] == [{"quantity": 10, "price": "18.90"}, {"quantity": 100, "price": "17.90"}]
    stocked = listings[world.listing_ids[1]]
    assert stocked.inventory_quantity == 75
    assert world.fake.state.product(str(stocked.remote_product_id)).inventory == 75
    assert all(x.state is ListingState.online and x.next_attempt_at is None for x in listings.values())
    assert listings[first].synced_price_version == listings[first].price_version == 3


async def test_an_edit_during_audit_is_retried_later(world: World) -> None:
    world.fake.state.audit_seconds = 300
    await world.run(ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.pending_audit and listing.remote_audit_status == "pending"
    assert listing.next_attempt_at is not None

    await world.edit(listing.id, lambda e: replace(e, price_tiers=[{"min_quantity": 10, "price_cents": 1700}]), at=1)
    await world.run(at=10, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert listing.state is ListingState.pending_audit
    assert "审核中" in listing.state_message and "PUB_BIZCHECK_PRODUCT_IN_AUDITING" in listing.state_message
    assert listing.synced_price_version < listing.price_version
    assert listing.next_attempt_at == world.now + timedelta(seconds=10 + AUDIT_POLL)
    refused = [e for e in await world.log_entries() if e.api == "/icbu/product/edit-price"]
    assert [(e.ok, e.code, e.msg_code) for e in refused] == [(False, "0", "PUB_BIZCHECK_PRODUCT_IN_AUDITING")]

    # Not retried before the poll time; after the audit it goes through and the product goes online.
    await world.run(at=20, ids=[listing.id])
    assert world.requests("/icbu/product/edit-price") == 1
    world.fake.state.advance(301)
    await world.run(at=10 + AUDIT_POLL + 1, ids=[listing.id])
    assert world.requests("/icbu/product/edit-price") == 2
    # The price edit itself opens a new audit window: pending again, then online after it.
    world.fake.state.advance(301)
    await world.run(at=10 + 2 * AUDIT_POLL + 2, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert listing.state is ListingState.online and listing.synced_price_version == listing.price_version
    remote = world.fake.state.product(str(listing.remote_product_id))
    assert remote.price["tiered_price"] == [{"quantity": 10, "price": "17.00"}] and remote.display == "Y"


async def test_a_throttled_call_waits_as_told_and_succeeds(world: World) -> None:
    world.fake.state.rate_limit = 2
    world.fake.state.ban_seconds = 1
    started = datetime.now(UTC)
    await world.run(rate=50, ids=world.listing_ids[:1])  # the pacer is set far above the gateway's limit
    elapsed = (datetime.now(UTC) - started).total_seconds()
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.online
    throttled = [e for e in await world.log_entries() if not e.ok]
    assert throttled and {e.code for e in throttled} == {"ApiCallLimit"}
    assert elapsed >= 1.0  # it waited out the ban instead of failing
    assert len(world.fake.state.products) == 1


async def test_an_expired_token_is_refreshed_once_and_the_call_repeated(world: World) -> None:
    async with world.sessionmaker() as session:
        row = await session.get(AlibabaConnection, 1)
        assert row is not None
        old_token = CIPHER.decrypt(row.access_token_enc)
    world.fake.state.expire_token()  # revoked early: our stored expiry still says valid
    await world.run(ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.online
    assert world.requests("/auth/token/refresh") == 1
    async with world.sessionmaker() as session:
        row = await session.get(AlibabaConnection, 1)
        assert row is not None and CIPHER.decrypt(row.access_token_enc) != old_token
    failed = [e for e in await world.log_entries() if not e.ok]
    assert [e.code for e in failed] == ["IllegalAccessToken"]


async def test_a_wrong_secret_is_a_configuration_error_without_a_retry_storm(world: World) -> None:
    report = await world.run(secret="not-the-app-secret")
    assert "ALIBABA_APP_SECRET" in report.halted
    assert len(world.fake.state.requests) == 1 and world.fake.state.requests[0].signature_ok is False
    listings = await world.listings()
    assert all(x.state is ListingState.error and "IncompleteSignature" in x.state_message for x in listings)
    assert all(x.next_attempt_at is None for x in listings)
    # The periodic runs that follow send nothing until someone fixes the configuration.
    for minute in (1, 2, 3):
        await world.run(secret="not-the-app-secret", at=60 * minute)
    assert len(world.fake.state.requests) == 1
    [entry] = await world.log_entries()
    assert entry.ok is False and entry.code == "IncompleteSignature"


@pytest.mark.parametrize("search_not_found", [False, True], ids=["empty-list", "B_PRODUCT_NOT_FOUND"])
async def test_a_create_that_timed_out_after_the_gateway_accepted_it_does_not_duplicate(
    world: World, search_not_found: bool
) -> None:
    world.fake.state.search_not_found = search_not_found
    world.fake.state.drop_response_next(api="/alibaba/icbu/product/listing/v2")
    await world.run(ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.remote_product_id is None and listing.state is ListingState.syncing
    assert listing.failed_attempts == 1 and "稍后自动重试" in listing.state_message
    assert listing.next_attempt_at == world.now + timedelta(seconds=30)
    assert len(world.fake.state.products) == 1  # the gateway did create it

    await world.run(at=31, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert len(world.fake.state.products) == 1
    assert listing.remote_product_id == world.fake.state.products[0].id
    assert listing.state is ListingState.online and listing.failed_attempts == 0
    assert world.requests("/alibaba/icbu/product/listing/v2") == 1
    # Adopted as it was: the content it carried is current, so no update was sent.
    assert world.requests("/alibaba/icbu/product/update/v2") == 0


async def test_a_search_answering_not_found_means_no_match(world: World) -> None:
    """A gateway that answers a search matching nothing with ``success:false`` +
    ``B_PRODUCT_NOT_FOUND`` instead of an empty list: the listings are created, and the sync log
    and the summary show the searches as calls that found nothing, not as failures."""
    world.fake.state.search_not_found = True
    report = await world.run()
    assert not report.halted and not report.skipped
    listings = await world.listings()
    assert [(x.state, x.state_message) for x in listings] == [(ListingState.online, "")] * 3
    assert sorted(p.model_number for p in world.fake.state.products) == sorted(MODELS)
    assert world.requests("/alibaba/icbu/product/listing/v2") == 3
    searches = [r for r in world.fake.state.requests if r.api == "/alibaba/icbu/product/search/v2"]
    assert [r.msg_code for r in searches] == ["B_PRODUCT_NOT_FOUND"] * 3  # the fake really answered so
    entries = await world.log_entries()
    assert len(entries) == 18 and all(e.ok for e in entries)
    assert {(e.msg_code, e.message) for e in entries if e.api == "/alibaba/icbu/product/search/v2"} == {
        ("B_PRODUCT_NOT_FOUND", "no product matches the query")
    }
    assert report.calls == {"ok": 18}


async def test_a_search_refused_for_another_reason_is_still_a_refusal(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only "not found" means no match: any other refusal of the search stops the listing before
    a create (which might duplicate a product the search could not see)."""
    monkeypatch.setattr("app.crossborder.sync.SEARCH_PAGE_SIZE", 21)  # the gateway allows ≤ 20
    world.fake.state.search_not_found = True
    report = await world.run(ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.error and "B_PRODUCT_PARAM_INVALID" in listing.state_message
    assert listing.remote_product_id is None and listing.next_attempt_at is None
    assert world.requests("/alibaba/icbu/product/listing/v2") == 0 and world.fake.state.products == []
    assert report.calls == {"B_PRODUCT_PARAM_INVALID": 1}


async def test_a_timeout_is_retried_with_backoff(world: World) -> None:
    world.fake.state.timeout_next(1, seconds=1.5)
    await world.run(timeout=0.5, ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.syncing and listing.failed_attempts == 1
    world.fake.state.fail_next(1, status=502)
    await world.run(at=31, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert listing.failed_attempts == 2
    assert listing.next_attempt_at == world.now + timedelta(seconds=31 + 60)
    await world.run(at=92, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert listing.state is ListingState.online and len(world.fake.state.products) == 1


async def test_a_business_error_inside_code_zero_is_reported_as_a_failure(world: World) -> None:
    world.fake.state.non_leaf_categories.add("100008")
    report = await world.run(ids=world.listing_ids[:1])
    # Counted by its business code, not under the envelope's "0" (search and photo upload went through).
    assert report.calls == {"ok": 2, "CHK_CAT_NOT_LEAF": 1}
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.error and "CHK_CAT_NOT_LEAF" in listing.state_message
    assert listing.next_attempt_at is None and listing.remote_product_id is None
    [failure] = [e for e in await world.log_entries() if not e.ok]
    assert (failure.api, failure.code, failure.msg_code) == (
        "/alibaba/icbu/product/listing/v2",
        "0",
        "CHK_CAT_NOT_LEAF",
    )
    before = len(world.fake.state.requests)
    await world.run(at=120, ids=[listing.id])  # waits for an edit: not retried on its own
    assert len([r for r in world.fake.state.requests[before:] if r.api.endswith("listing/v2")]) == 0

    world.fake.state.non_leaf_categories.clear()
    await world.edit(listing.id, lambda e: replace(e, category_id="100009"), at=130)
    await world.run(at=140, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert listing.state is ListingState.online and listing.state_message == ""


async def test_rejection_and_offline_are_shown(world: World) -> None:
    world.fake.state.audit_seconds = 300
    await world.run(ids=world.listing_ids[:2])
    first, second = (x for x in await world.listings() if x.id in world.listing_ids[:2])
    world.fake.state.approve(
        str(first.remote_product_id), status="tbd", reason="Title contains a brand you may not use"
    )
    world.fake.state.approve(str(second.remote_product_id))
    await world.edit(second.id, lambda e: replace(e, desired_online=False), at=1)
    await world.run(at=AUDIT_POLL + 1, ids=world.listing_ids[:2])
    first, second = (x for x in await world.listings() if x.id in world.listing_ids[:2])
    assert first.state is ListingState.rejected and "brand you may not use" in first.state_message
    assert second.state is ListingState.offline
    assert world.fake.state.product(str(second.remote_product_id)).display == "N"


async def test_invalid_listing_is_not_sent(world: World) -> None:
    await world.edit(world.listing_ids[0], lambda e: e)  # no change: nothing bumped
    async with world.sessionmaker() as session, session.begin():
        listing = await session.get(Listing, world.listing_ids[0])
        assert listing is not None
        listing.title_en = "枇杷 Loquat"
    await world.run(ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.error and "英文标题" in listing.state_message
    assert world.fake.state.requests == []


async def test_no_secret_in_the_sync_log_or_any_log_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with world.sessionmaker() as session:
        row = await session.get(AlibabaConnection, 1)
        assert row is not None
        secrets = [world.fake.app_secret, CIPHER.decrypt(row.access_token_enc), CIPHER.decrypt(row.refresh_token_enc)]
    world.fake.state.expire_token()  # forces a refresh, so new tokens pass through too
    await world.run()
    async with world.sessionmaker() as session:
        row = await session.get(AlibabaConnection, 1)
        assert row is not None
        secrets += [CIPHER.decrypt(row.access_token_enc), CIPHER.decrypt(row.refresh_token_enc)]
    entries = await world.log_entries()
    assert any(e.api == "/auth/token/refresh" for e in entries)
    dumped = json.dumps([[e.api, e.params, e.message, e.code, e.msg_code] for e in entries], ensure_ascii=False)
    signatures = [r.params["sign"] for r in world.fake.state.requests]
    for secret in [*secrets, *signatures]:
        assert secret not in dumped
        assert secret not in caplog.text
    assert all("sign" not in e.params and "access_token" not in e.params and "session" not in e.params for e in entries)


async def test_not_connected_sends_nothing(world: World) -> None:
    async with world.sessionmaker() as session, session.begin():
        row = await session.get(AlibabaConnection, 1)
        await session.delete(row)
    report = await world.run()
    assert "尚未连接" in report.skipped
    assert world.fake.state.requests == []


async def test_orders_are_pulled_without_personal_data(world: World) -> None:
    for n in range(3):
        world.fake.state.add_order(
            f"30000000000000{n}",
            status="paid",
            amount=f"{120 + n}.50",
            buyer_country="US",
            buyer_company=f"Fresh Imports {n} LLC",
        )
    log = CallLog()
    async with world.fake.client(on_call=log) as client:
        report = await world.engine(client, log).pull_orders()
    assert report.pulled == 3 and not report.skipped
    world.fake.state.orders[0]["trade_status"] = "trade_success"
    async with world.fake.client(on_call=log) as client:
        await world.engine(client, log).pull_orders()
    async with world.sessionmaker() as session:
        orders = list((await session.scalars(select(AlibabaOrder).order_by(AlibabaOrder.trade_id))).all())
    assert [o.trade_id for o in orders] == [f"30000000000000{n}" for n in range(3)]
    assert orders[0].status == "trade_success" and orders[1].status == "paid"
    assert orders[0].amount_minor == 12050 and orders[0].currency == "USD"
    assert orders[2].buyer_company == "Fresh Imports 2 LLC" and orders[2].buyer_country == "US"
    raw = json.dumps([o.raw for o in orders])
    # The phone whole: "555" alone turns up in the orders' millisecond timestamps at some times of day.
    assert "Jane Buyer" not in raw and "555 0100" not in raw and "buyer@example.com" not in raw
    assert world.requests("alibaba.seller.order.list") == 2


async def test_pacer_spaces_calls_and_counts_from_answers() -> None:
    now = [0.0]
    starts: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):  # instant answers: starts 0.5 s apart
        async with pacer.slot():
            starts.append(now[0])
    assert starts == [0.0, 0.5, 1.0]
    for _ in range(3):  # answers take 0.3 s: a call waits 1 s after the answer two calls back
        async with pacer.slot():
            starts.append(now[0])
            now[0] += 0.3
    # The sixth waits for 1 s after the fourth's answer (1.8): the gateway had seen the fourth by then.
    assert starts[3:] == pytest.approx([1.5, 2.0, 2.8])
    pacer.ban(3.0)
    async with pacer.slot():
        starts.append(now[0])
    assert starts[-1] == pytest.approx(3.1 + 3.0)  # banned for 3 s from the last answer


async def test_an_edit_made_while_a_create_answer_was_lost_is_still_pushed(world: World) -> None:
    world.fake.state.drop_response_next(api="/alibaba/icbu/product/listing/v2")
    await world.run(ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.create_attempt is not None and listing.create_attempt["content"] == listing.content_version
    await world.edit(listing.id, lambda e: replace(e, unit="Carton", shipping_template_id="7788"), at=5)

    await world.run(at=40, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    assert len(world.fake.state.products) == 1 and listing.remote_product_id == world.fake.state.products[0].id
    assert listing.create_attempt is None and listing.state is ListingState.online
    # The create carried the old unit: the edit went out as one content update (price and stock in it).
    assert world.requests("/alibaba/icbu/product/update/v2") == 1
    assert world.requests("/icbu/product/edit-price") == 0
    info = world.fake.state.products[0].product_info
    assert info["trade_info"]["unit"] == "Carton" and info["logistics_info"]["shipping_template_id"] == "7788"
    assert listing.synced_content_version == listing.content_version


@pytest.mark.parametrize("search_not_found", [False, True], ids=["empty-list", "B_PRODUCT_NOT_FOUND"])
async def test_a_lost_create_not_yet_searchable_is_not_repeated_at_once(world: World, search_not_found: bool) -> None:
    world.fake.state.search_not_found = search_not_found
    world.fake.state.drop_response_next(api="/alibaba/icbu/product/listing/v2")
    await world.run(ids=world.listing_ids[:1])
    # As if the search index had not caught up with the create yet.
    lost = world.fake.state.products[0]
    with world.fake.state._lock:
        world.fake.state._products.pop(lost.id)
    await world.run(at=31, ids=world.listing_ids[:1])
    assert world.requests("/alibaba/icbu/product/listing/v2") == 1
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert listing.state is ListingState.syncing and listing.remote_product_id is None
    assert "不会重复发布" in listing.state_message and listing.failed_attempts == 1
    # Long after the create, nothing has appeared: it did not land, so it is created again.
    await world.run(at=400, ids=world.listing_ids[:1])
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    assert world.requests("/alibaba/icbu/product/listing/v2") == 2
    assert listing.state is ListingState.online and len(world.fake.state.products) == 1


async def test_missing_permission_stops_the_run(world: World) -> None:
    world.fake.state.deny("/alibaba/icbu/product/search/v2")
    report = await world.run()
    assert "权限" in report.halted and "InsufficientPermission" in report.halted
    assert len(world.fake.state.requests) == 1
    listings = await world.listings()
    assert all(x.state is ListingState.error and "InsufficientPermission" in x.state_message for x in listings)
    await world.run(at=60)
    await world.run(at=120)
    assert len(world.fake.state.requests) == 1


async def test_a_long_ban_pauses_the_run_instead_of_sleeping(world: World) -> None:
    world.fake.state.rate_limit = 1
    world.fake.state.ban_seconds = 300
    report = await world.run(rate=50)
    assert "限流" in report.skipped
    sent = len(world.fake.state.requests)
    assert sent <= 3
    listings = await world.listings()
    assert all(
        x.next_attempt_at is not None and x.next_attempt_at >= world.now + timedelta(seconds=300) for x in listings
    )
    await world.run(rate=50, at=60)
    assert len(world.fake.state.requests) == sent


async def test_one_run_at_a_time(committed_engine: AsyncEngine, fake_icbu: FakeIcbuServer) -> None:
    """The advisory lock on a dedicated autocommit connection: a second run is skipped."""
    from sqlalchemy import text

    from app.db import create_sessionmaker

    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session, session.begin():  # no seller account: the free run sends nothing
        await session.execute(delete(AlibabaConnection))
    log = CallLog()
    async with fake_icbu.client(on_call=log) as client:
        engine = SyncEngine(sessionmaker, client, log, cipher=CIPHER, pacer=Pacer(100), options=SyncOptions())
        async with committed_engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SYNC_LOCK_KEY})
            busy = await engine.run()
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SYNC_LOCK_KEY})
            await holder.commit()
        free = await engine.run()
    assert "another sync run" in busy.skipped
    assert "another sync run" not in free.skipped  # it ran (and found no seller account connected)
    assert fake_icbu.state.requests == []


async def test_stock_changes_do_not_publish_what_is_not_on_alibaba(world: World) -> None:
    """Drafts never sent, and a product deleted on Alibaba.com (the engine then drops its remote id
    and waits), are not published by a stock movement: only an edit or "sync now" does that."""
    from app.catalog.models import Variant

    async with world.sessionmaker() as session, session.begin():
        for listing in await session.scalars(select(Listing).where(Listing.id.in_(world.listing_ids))):
            listing.next_attempt_at = None
            listing.inventory_quantity = 1  # an earlier figure: the next run sees a change
    for at in (0, 120):
        async with world.sessionmaker() as session, session.begin():
            for listing in await session.scalars(select(Listing).where(Listing.id.in_(world.listing_ids))):
                variant = await session.get(Variant, listing.variant_id)
                assert variant is not None
                await receive(session, variant, "5")
        await world.run(at=at)
    assert world.fake.state.requests == []
    listings = await world.listings()
    assert all(x.next_attempt_at is None and x.remote_product_id is None for x in listings)
    assert sorted(x.inventory_quantity or 0 for x in listings) == [50, 60, 70]


async def test_price_and_stock_due_together_both_go_through_an_audit_window(world: World) -> None:
    await world.run(ids=world.listing_ids[:1])
    world.fake.state.audit_seconds = 300  # from now on every price or content write is audited
    [listing] = [x for x in await world.listings() if x.id == world.listing_ids[0]]
    await world.edit(listing.id, lambda e: replace(e, price_tiers=[{"min_quantity": 10, "price_cents": 1500}]), at=1)
    async with world.sessionmaker() as session, session.begin():
        from app.catalog.models import Variant

        variant = await session.get(Variant, listing.variant_id)
        assert variant is not None
        await receive(session, variant, "7")
    await world.run(at=60, ids=[listing.id])
    [listing] = [x for x in await world.listings() if x.id == listing.id]
    remote = world.fake.state.product(str(listing.remote_product_id))
    assert remote.inventory == 47 and remote.price["tiered_price"] == [{"quantity": 10, "price": "15.00"}]
    assert listing.synced_price_version == listing.price_version
    assert listing.synced_inventory_version == listing.inventory_version
    assert listing.state is ListingState.pending_audit  # the price edit is under review now


async def test_a_long_ban_pauses_order_pulls_and_later_runs(world: World) -> None:
    world.fake.state.rate_limit = 1
    world.fake.state.ban_seconds = 300
    world.fake.state.add_order("300000000000009")
    log = CallLog()
    async with world.fake.client(on_call=log) as client:
        engine = world.engine(client, log, rate=50)
        first = await engine.pull_orders()
        report = await engine.pull_orders()  # the second call in a second trips the ban
        sent = len(world.fake.state.requests)
        again = await engine.pull_orders()
    assert first.pulled == 1
    assert "限流" in report.skipped and "限流" in again.skipped
    assert len(world.fake.state.requests) == sent  # nothing sent while paused
    run = await world.run(rate=50, at=30)
    assert "限流" in run.skipped and len(world.fake.state.requests) == sent


async def test_an_engine_without_an_engine_bound_sessionmaker_needs_an_explicit_lock(
    sessionmaker: async_sessionmaker[AsyncSession], fake_icbu: FakeIcbuServer
) -> None:
    """The advisory lock needs a connection of its own: a sessionmaker bound to one connection
    (the tests') cannot give one, so the engine refuses to start rather than lock on it."""
    log = CallLog()
    async with fake_icbu.client(on_call=log) as client:
        with pytest.raises(TypeError, match="explicit lock"):
            SyncEngine(sessionmaker, client, log, cipher=CIPHER, pacer=Pacer(100), options=SyncOptions())
