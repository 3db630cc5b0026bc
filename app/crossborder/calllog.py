"""The sync log as it is gathered: the client's call records per listing, until they are written
with the listing's outcome."""

from __future__ import annotations

from dataclasses import replace

from app.crossborder.client import CallRecord
from app.crossborder.models import SyncLogEntry


class CallLog:
    """Collects the client's call records (already free of secrets) per listing until they are
    written with the listing's outcome. Hook it up as the client's ``on_call``."""

    def __init__(self) -> None:
        self.listing_id: int | None = None
        self.pending: list[tuple[int | None, CallRecord]] = []
        self.counts: dict[str, int] = {}

    def __call__(self, record: CallRecord) -> None:
        self.pending.append((self.listing_id, record))
        self._count(record, 1)

    def _count(self, record: CallRecord, step: int) -> None:
        # A business failure arrives inside a ``code:"0"`` envelope: what tells failures apart is
        # its business code (``CHK_CAT_NOT_LEAF``), or the gateway's sub-code or code otherwise.
        key = "ok" if record.ok else (record.msg_code or record.code or "error")
        self.counts[key] = self.counts.get(key, 0) + step
        if not self.counts[key]:
            del self.counts[key]

    def settle_no_match(self, api: str) -> None:
        """The last failed call to ``api`` was a search answering "not found": log it as a call
        that worked and found nothing, so neither the sync log nor the summary shows a failure."""
        for index in range(len(self.pending) - 1, -1, -1):
            listing_id, record = self.pending[index]
            if record.api == api and not record.ok:
                settled = replace(record, ok=True, message=record.message or "no match")
                self.pending[index] = (listing_id, settled)
                self._count(record, -1)
                self._count(settled, 1)
                return

    def take(self) -> list[SyncLogEntry]:
        entries = [
            SyncLogEntry(
                listing_id=listing_id,
                api=r.api,
                style=r.style,
                params=r.params,
                ok=r.ok,
                code=r.code[:64],
                msg_code=r.msg_code[:200],
                message=r.message,
                request_id=r.request_id[:100],
                trace_id=r.trace_id[:100],
                duration_ms=round(r.duration_ms),
            )
            for listing_id, r in self.pending
        ]
        self.pending = []
        return entries
