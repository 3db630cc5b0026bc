"""The plan's funds: the seeded budget table, used vs budget per line for a range, corrections
with who and when, and bad input refused with a code and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import errors, funds
from app.county.models import BudgetCategory, BudgetLine, Spending
from app.kit import clock
from app.kit.errors import AppError
from tests.fixtures.builders import make_user
from tests.fixtures.images import phone_jpeg

WAN = 1_000_000
MAX = 5_242_880


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    with clock.pinned(datetime(2022, 9, 30, 16, 0, tzinfo=UTC)):  # 2022-10-01 00:00 in China
        yield


def fields(day: date, fen: int, voucher: str, payee: str = "韶关某广告公司") -> funds.SpendingFields:
    return funds.SpendingFields(spent_on=day, amount_fen=fen, payee=payee, voucher_number=voucher)


async def spend(session: AsyncSession, code: str, day: date, fen: int, voucher: str, tmp_path: Path) -> Spending:
    admin = await make_user(session, Role.admin)
    return await funds.record_spending(
        session, code, fields(day, fen, voucher), attachment=None, uploads_dir=tmp_path, max_bytes=MAX,
        actor_user_id=admin.id,
    )  # fmt: skip


async def test_the_budget_table_is_seeded_in_fen(db_session: AsyncSession) -> None:
    usage = await funds.fund_usage(db_session, date(2022, 1, 1), date(2022, 3, 31))
    assert len(usage) == 18
    by_code = {u.code: u for u in usage}
    assert by_code["2021.1.1"].budget_central_fen == 96 * WAN
    assert by_code["2021.2.1"].budget_central_fen == 4_500_000  # 4.5 万元
    assert by_code["2021.2.4"].budget_central_fen == 40_500_000  # 40.5 万元
    assert (by_code["2021.4.1-2"].budget_central_fen, by_code["2021.4.1-2"].budget_total_fen) == (90 * WAN, 90 * WAN)
    assert by_code["2021.1.1"].budget_total_fen is None  # the plan's 合计 is the category's
    per_category: dict[str, int] = {}
    for u in usage:
        per_category[u.category] = per_category.get(u.category, 0) + u.budget_central_fen
    assert per_category == {
        "优化完善公共服务体系": 168 * WAN,
        "优化原有电商物流站点": 104 * WAN,
        "优化物流体系": 78 * WAN,
        "加强农产品上行体系建设": 220 * WAN,
        "加强电商培训体系建设": 40 * WAN,
    }
    stated = {c.title: c.total_fen for c in await db_session.scalars(select(BudgetCategory))}
    assert stated["优化完善公共服务体系"] == 168 * WAN and stated["加强农产品上行体系建设"] is None
    assert all(u.spent_in_range_fen == u.spent_to_date_fen == 0 for u in usage)


async def test_used_vs_budget_per_line_inside_and_outside_the_range(db_session: AsyncSession, tmp_path: Path) -> None:
    s = db_session
    await spend(s, "2021.1.1", date(2021, 12, 31), 120_000_00, "V-001", tmp_path)  # before Q1
    await spend(s, "2021.1.1", date(2022, 1, 1), 50_000_00, "V-002", tmp_path)
    await spend(s, "2021.1.1", date(2022, 3, 31), 8_500_50, "V-003", tmp_path)
    await spend(s, "2021.1.1", date(2022, 4, 1), 1_000_00, "V-004", tmp_path)  # after Q1
    await spend(s, "2021.2.2", date(2022, 2, 14), 140_000_00, "V-005", tmp_path)  # the whole PDA line
    await spend(s, "2021.2.2", date(2022, 2, 15), 1, "V-006", tmp_path)  # one fen over
    usage = {u.code: u for u in await funds.fund_usage(s, date(2022, 1, 1), date(2022, 3, 31))}
    events = usage["2021.1.1"]
    assert (events.spent_in_range_fen, events.spent_to_date_fen) == (58_500_50, 178_500_50)
    assert events.remaining_fen == 96 * WAN - 178_500_50 and events.percent == 18 and not events.over_budget
    pdas = usage["2021.2.2"]
    assert (pdas.spent_in_range_fen, pdas.spent_to_date_fen, pdas.percent, pdas.over_budget) == (
        140_000_01, 140_000_01, 100, True,
    )  # fmt: skip
    assert all(u.spent_to_date_fen == 0 for code, u in usage.items() if code not in ("2021.1.1", "2021.2.2"))
    q2 = {u.code: u for u in await funds.fund_usage(s, date(2022, 4, 1), date(2022, 6, 30))}
    assert (q2["2021.1.1"].spent_in_range_fen, q2["2021.1.1"].spent_to_date_fen) == (1_000_00, 179_500_50)


async def test_a_correction_is_an_edit_with_who_and_when(db_session: AsyncSession, tmp_path: Path) -> None:
    s = db_session
    record = await spend(s, "2021.3.1", date(2022, 5, 1), 30_000_00, "V-100", tmp_path)
    corrector = await make_user(s, Role.admin)
    with clock.pinned(datetime(2022, 9, 30, 18, 0, tzinfo=UTC)):
        corrected = await funds.correct_spending(
            s, record.id, fields(date(2022, 5, 2), 29_800_00, "V-100A"), attachment=None, uploads_dir=tmp_path,
            max_bytes=MAX, actor_user_id=corrector.id,
        )  # fmt: skip
    assert (corrected.spent_on, corrected.amount_fen, corrected.voucher_number) == (
        date(2022, 5, 2), 29_800_00, "V-100A",
    )  # fmt: skip
    assert corrected.updated_by_id == corrector.id
    assert corrected.updated_at == datetime(2022, 9, 30, 18, 0, tzinfo=UTC)
    usage = {u.code: u for u in await funds.fund_usage(s, date(2022, 4, 1), date(2022, 6, 30))}
    assert usage["2021.3.1"].spent_to_date_fen == 29_800_00


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Spending)) or 0)


@pytest.mark.parametrize(
    ("code", "day", "fen", "voucher", "expected"),
    [
        ("2021.1.1", date(2022, 5, 1), -100, "V-1", ("amount_invalid", 422)),
        ("2021.1.1", date(2022, 5, 1), 0, "V-1", ("amount_invalid", 422)),
        ("2021.9.9", date(2022, 5, 1), 100, "V-1", ("budget_line_not_found", 404)),
        ("2021.1.1", date(2022, 10, 2), 100, "V-1", ("date_out_of_range", 422)),  # tomorrow in China
        ("2021.1.1", date(2018, 12, 31), 100, "V-1", ("date_out_of_range", 422)),
        ("2021.1.1", date(2022, 5, 1), 100, " ", ("spending_invalid", 422)),
    ],
)
async def test_bad_spending_is_refused_and_nothing_is_written(
    db_session: AsyncSession, tmp_path: Path, code: str, day: date, fen: int, voucher: str, expected: tuple[str, int]
) -> None:
    with pytest.raises(AppError) as refused:
        await spend(db_session, code, day, fen, voucher, tmp_path)
    assert (refused.value.code, refused.value.status_code) == expected
    assert await _count(db_session) == 0
    assert not any(tmp_path.rglob("*"))  # noqa: ASYNC240 - a test's tmp folder


async def test_the_same_voucher_twice_on_a_line_and_bad_attachments(db_session: AsyncSession, tmp_path: Path) -> None:
    s = db_session
    admin = await make_user(s, Role.admin)
    await spend(s, "2021.1.2", date(2022, 5, 1), 100, "V-7", tmp_path)
    with pytest.raises(errors.VoucherTaken):
        await spend(s, "2021.1.2", date(2022, 5, 2), 200, "V-7", tmp_path)
    await spend(s, "2021.1.3", date(2022, 5, 2), 200, "V-7", tmp_path)  # another line may

    def record(attachment: bytes) -> object:
        return funds.record_spending(
            s, "2021.1.2", fields(date(2022, 5, 3), 300, "V-8"), attachment=attachment, uploads_dir=tmp_path,
            max_bytes=1000, actor_user_id=admin.id,
        )  # fmt: skip

    for attachment, code in (
        (b"MZ\x90\x00 not a voucher", "attachment_invalid"),
        (b"%PDF-1.7\n" + b"0" * 2000, "attachment_invalid"),  # over the limit
        (phone_jpeg((400, 400)) + b"0" * 2000, "image_too_large"),
    ):
        with pytest.raises(AppError) as refused:
            await record(attachment)  # type: ignore[misc]
        assert refused.value.code == code
    assert await _count(s) == 2
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # noqa: ASYNC240
    kept = await funds.record_spending(
        s, "2021.1.2", fields(date(2022, 5, 3), 300, "V-9"), attachment=b"%PDF-1.7\n%%EOF\n", uploads_dir=tmp_path,
        max_bytes=1000, actor_user_id=admin.id,
    )  # fmt: skip
    path, media_type = funds.attachment_file(tmp_path, kept)
    assert media_type == "application/pdf" and path.read_bytes() == b"%PDF-1.7\n%%EOF\n"


async def test_editing_a_budget_line(db_session: AsyncSession) -> None:
    admin = await make_user(db_session, Role.admin)
    line = await funds.update_line(
        db_session, "2021.3.2", title="物流仓库维护（2023 年）", content="仓库维护", central_fen=16 * WAN,
        total_fen=None, actor_user_id=admin.id,
    )  # fmt: skip
    assert (line.central_fen, line.updated_by_id) == (16 * WAN, admin.id)
    with pytest.raises(errors.AmountInvalid):
        await funds.update_line(
            db_session, "2021.3.2", title="x", content="", central_fen=-1, total_fen=None, actor_user_id=admin.id
        )
    stored = await db_session.scalar(select(BudgetLine).where(BudgetLine.code == "2021.3.2"))
    assert stored is not None and stored.title == "物流仓库维护（2023 年）"
