"""Alibaba.com sync against the local fake ICBU gateway at a throttled call rate.

Measures, in one run on an embedded PostgreSQL with the demo data:

* the wall time of the first sync of the 3 demo listings (photo upload, create, read-back, online);
* the wall time of a price change pushed on all 3;
* for ``BENCH_XB_LISTINGS`` listings (default 300) already on Alibaba.com, a price change on every
  one: the share of the allowed call rate actually used (calls / (seconds × rate)) and how many
  calls the gateway refused with ``ApiCallLimit`` (aim: ≥ 0.9 and 0).

The fake gateway bans for 1 s as soon as more than ``BENCH_XB_RATE`` calls (default 2) arrive
within one second, and the engine paces at the same rate (``ALIBABA_CALLS_PER_SECOND``). The sync
engine is the one the Celery task runs (``SyncEngine``); only the client points at the fake.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crossborder import tokens
from app.crossborder.calllog import CallLog
from app.crossborder.crypto import TokenCipher, derive_key
from app.crossborder.listings import ListingEdit, apply_edit, request_sync
from app.crossborder.models import Listing, ListingState
from app.crossborder.pacing import Pacer
from app.crossborder.reports import SyncReport
from app.crossborder.sync import SyncEngine, SyncOptions
from app.db import create_engine, create_sessionmaker, start_embedded_postgres, stop_embedded_postgres
from app.demo import seed_demo
from app.migrate import upgrade_to_head
from tests.fixtures.fake_icbu import FakeIcbuServer, serve_fake_icbu

CIPHER = TokenCipher(derive_key("bench-secret-key"))
RATE = float(os.environ.get("BENCH_XB_RATE", "2"))
MANY = int(os.environ.get("BENCH_XB_LISTINGS", "300"))


def _edit_of(listing: Listing) -> ListingEdit:
    return ListingEdit(**{name: getattr(listing, name) for name in ListingEdit.__dataclass_fields__})


async def _edit_all(sessionmaker: async_sessionmaker[AsyncSession], cents_off: int) -> None:
    async with sessionmaker() as session, session.begin():
        for listing in (await session.scalars(select(Listing).with_for_update())).all():
            ladder = [{**tier, "price_cents": tier["price_cents"] - cents_off} for tier in listing.price_tiers]
            apply_edit(listing, replace(_edit_of(listing), price_tiers=ladder), debounce_seconds=0)


class Bench:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], fake: FakeIcbuServer, uploads: Path) -> None:
        self.sessionmaker = sessionmaker
        self.fake = fake
        self.uploads = uploads
        self.pacer = Pacer(RATE)  # one pacer for the whole conversation, as in a worker process

    async def sync(self) -> tuple[SyncReport, float, int]:
        """One run; (report, seconds, calls sent)."""
        log = CallLog()
        before = len(self.fake.state.requests)
        async with self.fake.client(on_call=log, timeout=30) as client:
            engine = SyncEngine(
                self.sessionmaker,
                client,
                log,
                cipher=CIPHER,
                pacer=self.pacer,
                options=SyncOptions(debounce_seconds=0, audit_poll_seconds=600, uploads_dir=self.uploads),
            )
            started = time.perf_counter()
            report = await engine.run()
            seconds = time.perf_counter() - started
        return report, seconds, len(self.fake.state.requests) - before

    def throttled(self) -> int:
        return sum(1 for r in self.fake.state.requests if r.reply_code == "ApiCallLimit")


async def _prepare(sessionmaker: async_sessionmaker[AsyncSession], fake: FakeIcbuServer, uploads: Path) -> None:
    """The demo as shipped (its listings complete: ICBU category and picture), the seller account
    connected, and "sync now" asked for."""
    async with sessionmaker() as session, session.begin():
        await seed_demo(session, uploads_dir=uploads)
        await request_sync(session)
        async with fake.client() as client:
            await tokens.connect(session, client, fake.state.issue_code(), cipher=CIPHER)
    await asyncio.sleep(1.1)  # the token call counts against the gateway's rate too


async def _add_listed(sessionmaker: async_sessionmaker[AsyncSession], fake: FakeIcbuServer, count: int) -> None:
    """``count`` more listings that are already on Alibaba.com and in step (as after a first sync)."""
    async with sessionmaker() as session, session.begin():
        template = (await session.scalars(select(Listing).order_by(Listing.id).limit(1))).one()
        for n in range(count):
            model = f"NLP-XB-BENCH-{n:04d}"
            remote = fake.state.add_product(
                template.title_en, model_number=model, inventory=template.inventory_quantity or 0, display="Y"
            )
            fake.state.product(remote.id).price = {"price_type": "TIERED", "currency": "USD", "tiered_price": []}
            session.add(
                Listing(
                    product_id=template.product_id,
                    variant_id=template.variant_id,
                    model_number=model,
                    title_en=template.title_en,
                    description_en=template.description_en,
                    keywords=template.keywords,
                    category_id=template.category_id,
                    attributes=template.attributes,
                    image_paths=template.image_paths,
                    photobank=template.photobank,
                    price_tiers=template.price_tiers,
                    moq=template.moq,
                    unit=template.unit,
                    lead_time_days=template.lead_time_days,
                    weight_kg=template.weight_kg or Decimal("1"),
                    size_cm=template.size_cm,
                    shipping_template_id=template.shipping_template_id,
                    state=ListingState.online,
                    remote_product_id=remote.id,
                    remote_status="online",
                    remote_audit_status="approved",
                    desired_online=True,
                    inventory_quantity=template.inventory_quantity,
                    content_version=1,
                    price_version=1,
                    inventory_version=1,
                    synced_content_version=1,
                    synced_price_version=1,
                    synced_inventory_version=1,
                )
            )


async def run(database_url: str, uploads: Path) -> None:
    engine = create_engine(database_url, pool_size=5)
    sessionmaker = create_sessionmaker(engine)
    try:
        with serve_fake_icbu() as fake:
            await _prepare(sessionmaker, fake, uploads)
            fake.state.rate_limit = max(1, int(RATE))
            fake.state.ban_seconds = 1
            bench = Bench(sessionmaker, fake, uploads)

            report, seconds, calls = await bench.sync()
            states = sorted({r.state.value for r in report.listings})
            print(f"  first sync of 3 listings:     {seconds:6.1f} s   {calls} calls   states {states}")
            await _edit_all(sessionmaker, 20)
            report, seconds, calls = await bench.sync()
            pushed = sum(1 for r in fake.state.requests if r.api == "/icbu/product/edit-price")
            print(f"  price change on 3 listings:   {seconds:6.1f} s   {calls} calls   edit-price sent {pushed}")

            await _add_listed(sessionmaker, fake, MANY - 3)
            await _edit_all(sessionmaker, 10)
            throttled_before = bench.throttled()
            report, seconds, calls = await bench.sync()
            share = calls / (seconds * RATE)
            wrong = sum(1 for r in report.listings if r.state is not ListingState.online)
            print(
                f"  price change on {MANY} listings: {seconds:6.1f} s   {calls} calls   "
                f"share of allowed rate used {share:.3f}   ApiCallLimit {bench.throttled() - throttled_before}   "
                f"not online afterwards {wrong}"
            )
            print(f"  ApiCallLimit refusals in the whole run: {bench.throttled()}")
    finally:
        await engine.dispose()


def main() -> None:
    print(f"crossborder (Alibaba.com sync against the fake ICBU gateway at {RATE:g} calls/s)")
    with tempfile.TemporaryDirectory(prefix="bench-xb-") as tmp:
        database_url = start_embedded_postgres(Path(tmp) / "pg")
        try:
            upgrade_to_head(database_url)
            asyncio.run(run(database_url, Path(tmp) / "uploads"))
        finally:
            stop_embedded_postgres()


if __name__ == "__main__":
    main()
