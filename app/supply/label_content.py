"""What a lot label prints (``LotLabel``, assembled by ``lot_label``) and the trace URL its QR code
encodes. The drawing is in ``app.supply.labels``, which loads reportlab: kept apart so a web worker
that serves pages and trace links does not carry it (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.supply import errors, repository


@dataclass(frozen=True)
class LotLabel:
    """Everything printed on one lot label (plain values: the renderer never touches the database)."""

    code: str
    product_name_zh: str
    variant_name_zh: str
    grade: str
    supplier_name: str
    township: str
    village: str
    harvest_date: date
    best_before: date
    certificate_no: str
    trace_url: str
    # False for a lot received under a grower exception: the label names a source, not a grower.
    supplier_grew_it: bool = True


def trace_url(code: str, base_url: str | None = None) -> str:
    """The absolute URL a lot's QR code encodes (the public trace page, DESIGN.md §7)."""
    base = (base_url if base_url is not None else get_settings().public_base_url).rstrip("/")
    return f"{base}/t/{code}"


async def lot_label(session: AsyncSession, code: str, *, base_url: str | None = None) -> LotLabel:
    """Assemble a lot's label. ``base_url`` defaults to the ``PUBLIC_BASE_URL`` setting; a request
    passes its app's settings so a test app with its own settings prints its own URL."""
    found = await repository.lot_with_context(session, code)
    if found is None:
        raise errors.LotNotFound(detail={"lot": code})
    lot, variant, product, _category, supplier = found
    return LotLabel(
        code=lot.code,
        product_name_zh=product.name_zh,
        variant_name_zh=variant.name_zh,
        grade=lot.grade,
        supplier_name=supplier.name,
        township=supplier.township,
        village=supplier.village,
        harvest_date=lot.harvest_date,
        best_before=lot.best_before,
        certificate_no=lot.certificate_no,
        trace_url=trace_url(lot.code, base_url),
        supplier_grew_it=lot.supplier_grew_it,
    )
