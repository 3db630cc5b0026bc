"""Stock pages of the ops console: levels, ledger, lots, receiving, transfers, adjustments and counts.

Warehouse staff and admins only. Thin: each page reads through ``app.supply`` views and each form
post is one service call. A form that moves stock carries an idempotency key generated when the
form was rendered, so a double-clicked or re-sent form moves stock once and the repeat lands on the
same result page. A refused form is rolled back and shown again with the reasons in Chinese.

One module per topic: ``levels`` (levels, ledger, lots), ``receiving``, ``transfers``, ``counts``
(adjustments and count sheets); ``common`` holds what they share.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.web.stock import counts, levels, receiving, transfers

router = APIRouter()
for _topic in (levels, receiving, transfers, counts):
    router.include_router(_topic.router)
