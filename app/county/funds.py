"""The plan's funds: budget lines (central funds per line, in fen) and spending against them.

Spending is dated (China date), in whole fen, positive, with a payee and a voucher number unique on
its line, and optionally a scan of the voucher (PDF or image, kept under the uploads; admins only
read it). A correction edits the record and stamps ``updated_by_id`` / ``updated_at``; an issued
quarterly report keeps its own frozen figures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.images import clean_upload
from app.county import errors
from app.county import funds_queries as queries
from app.county.models import BudgetLine, Spending
from app.county.targets import check_past_date, check_range
from app.kit import clock
from app.kit.errors import AppError
from app.kit.files import save_upload

# One record above 1 亿元 is a typing error, not a payment of this project.
MAX_AMOUNT_FEN = 10_000_000_000
ATTACHMENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class FundLineUsage:
    code: str
    category: str
    number: str
    title: str
    budget_central_fen: int
    budget_total_fen: int | None
    spent_in_range_fen: int
    spent_to_date_fen: int
    currency: str = "CNY"

    @property
    def budget_fen(self) -> int:
        """What the line may spend: its 合计 where the plan gives one on the line, else central."""
        return self.budget_total_fen if self.budget_total_fen is not None else self.budget_central_fen

    @property
    def remaining_fen(self) -> int:
        return self.budget_fen - self.spent_to_date_fen

    @property
    def percent(self) -> int:
        """Spent to date as a whole percent of the budget, capped at 100 (for the bar)."""
        if self.budget_fen <= 0:
            return 100 if self.spent_to_date_fen > 0 else 0
        return max(0, min(100, self.spent_to_date_fen * 100 // self.budget_fen))

    @property
    def over_budget(self) -> bool:
        return self.spent_to_date_fen > self.budget_fen


async def fund_usage(session: AsyncSession, start: date, end: date) -> list[FundLineUsage]:
    """Every budget line, in the table's order: its budget and what was spent in ``[start, end]``
    (China dates, end inclusive) and up to ``end`` since the first record."""
    check_range(start, end)
    in_range = await queries.spent_per_line(session, start, end)
    to_date = await queries.spent_per_line(session, None, end)
    return [
        FundLineUsage(
            code=line.code,
            category=line.category.title,
            number=line.number,
            title=line.title,
            budget_central_fen=line.central_fen,
            budget_total_fen=line.total_fen,
            spent_in_range_fen=in_range.get(line.id, 0),
            spent_to_date_fen=to_date.get(line.id, 0),
            currency=line.currency,
        )
        for line in await queries.all_lines(session)
    ]


async def line_or_404(session: AsyncSession, code: str) -> BudgetLine:
    line = await queries.line_by_code(session, code)
    if line is None:
        raise errors.BudgetLineNotFound(detail={"code": code})
    return line


async def update_line(
    session: AsyncSession,
    code: str,
    *,
    title: str,
    content: str,
    central_fen: int,
    total_fen: int | None,
    actor_user_id: int,
) -> BudgetLine:
    line = await line_or_404(session, code)
    title = title.strip()
    if not title or len(title) > 100:
        raise errors.SpendingInvalid("名称须为 1–100 个字符", detail={"field": "title"})
    if (
        central_fen < 0
        or central_fen > MAX_AMOUNT_FEN
        or (total_fen is not None and not 0 <= total_fen <= MAX_AMOUNT_FEN)
    ):
        raise errors.AmountInvalid("预算金额须在 0 至 1 亿元之间", detail={"field": "central_fen"})
    line.title, line.content, line.central_fen, line.total_fen = title, content.strip()[:4000], central_fen, total_fen
    line.updated_at, line.updated_by_id = clock.now(), actor_user_id
    await session.flush()
    return line


@dataclass(frozen=True)
class SpendingFields:
    spent_on: date
    amount_fen: int
    payee: str
    voucher_number: str
    note: str = ""


async def _checked(
    session: AsyncSession, line: BudgetLine, fields: SpendingFields, *, other_than: int | None
) -> SpendingFields:
    check_past_date(fields.spent_on, "spent_on")
    if not 0 < fields.amount_fen <= MAX_AMOUNT_FEN:
        raise errors.AmountInvalid("金额须大于 0 且不超过 1 亿元", detail={"field": "amount_fen"})
    payee, voucher, note = fields.payee.strip(), fields.voucher_number.strip(), fields.note.strip()
    if not payee or len(payee) > 100:
        raise errors.SpendingInvalid("收款方须为 1–100 个字符", detail={"field": "payee"})
    if not voucher or len(voucher) > 40:
        raise errors.SpendingInvalid("凭证号须为 1–40 个字符", detail={"field": "voucher_number"})
    if len(note) > 500:
        raise errors.SpendingInvalid("备注最多 500 字", detail={"field": "note"})
    if await queries.voucher_taken(session, line.id, voucher, other_than=other_than):
        raise errors.VoucherTaken(detail={"voucher_number": voucher})
    return SpendingFields(fields.spent_on, fields.amount_fen, payee, voucher, note)


async def _keep_attachment(data: bytes, uploads_dir: Path, max_bytes: int) -> str:
    """A voucher scan: a PDF (by its header, bounded size) or an image cleaned like every photo."""
    if data.startswith(b"%PDF-"):
        if len(data) > max_bytes:
            raise errors.AttachmentInvalid(f"附件不能超过 {max_bytes // 1_048_576} MB", detail={"bytes": len(data)})
        content, ext = data, "pdf"
    else:
        try:
            clean = await asyncio.to_thread(clean_upload, data, max_bytes)
        except AppError as exc:
            if exc.status_code == 413:
                raise
            raise errors.AttachmentInvalid() from exc
        content, ext = clean.data, clean.ext
    return (await save_upload(uploads_dir, Path("county") / "spending", content, ext)).as_posix()


async def record_spending(
    session: AsyncSession,
    line_code: str,
    fields: SpendingFields,
    *,
    attachment: bytes | None,
    uploads_dir: Path,
    max_bytes: int,
    actor_user_id: int,
) -> Spending:
    line = await line_or_404(session, line_code)
    clean = await _checked(session, line, fields, other_than=None)
    path = await _keep_attachment(attachment, uploads_dir, max_bytes) if attachment else None
    spending = Spending(
        line_id=line.id,
        spent_on=clean.spent_on,
        amount_fen=clean.amount_fen,
        payee=clean.payee,
        voucher_number=clean.voucher_number,
        note=clean.note,
        attachment_path=path,
        created_by_id=actor_user_id,
        updated_by_id=actor_user_id,
    )
    session.add(spending)
    await session.flush()
    return spending


async def spending_or_404(session: AsyncSession, spending_id: int) -> Spending:
    spending = await queries.spending_by_id(session, spending_id)
    if spending is None:
        raise errors.SpendingNotFound(detail={"id": spending_id})
    return spending


async def correct_spending(
    session: AsyncSession,
    spending_id: int,
    fields: SpendingFields,
    *,
    attachment: bytes | None,
    uploads_dir: Path,
    max_bytes: int,
    actor_user_id: int,
) -> Spending:
    """Correct a record (a new attachment replaces the old one); who and when are stamped."""
    spending = await spending_or_404(session, spending_id)
    line = await queries.line_by_id(session, spending.line_id)
    assert line is not None  # a foreign key keeps it
    clean = await _checked(session, line, fields, other_than=spending.id)
    if attachment:
        spending.attachment_path = await _keep_attachment(attachment, uploads_dir, max_bytes)
    spending.spent_on, spending.amount_fen, spending.payee = clean.spent_on, clean.amount_fen, clean.payee
    spending.voucher_number, spending.note = clean.voucher_number, clean.note
    spending.updated_at, spending.updated_by_id = clock.now(), actor_user_id
    await session.flush()
    return spending


def attachment_file(uploads_dir: Path, spending: Spending) -> tuple[Path, str]:
    if not spending.attachment_path:
        raise errors.AttachmentNotFound()
    path = uploads_dir / spending.attachment_path
    ext = spending.attachment_path.rsplit(".", 1)[-1]
    if ext not in ATTACHMENT_TYPES or not path.is_file():
        raise errors.AttachmentNotFound()
    return path, ATTACHMENT_TYPES[ext]
