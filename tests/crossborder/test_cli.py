"""``app alibaba connect`` / ``app alibaba status`` against the fake gateway and a committed database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.crossborder.models import AlibabaConnection
from app.db import create_engine
from tests.fixtures.fake_icbu import FakeIcbuServer


async def _forget_connection(url: str) -> None:
    engine = create_engine(url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(AlibabaConnection))
    finally:
        await engine.dispose()


@pytest.fixture
def cli_env(
    committed_database_url: str, fake_icbu: FakeIcbuServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeIcbuServer]:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", committed_database_url)
    monkeypatch.setenv("ALIBABA_GATEWAY_URL", fake_icbu.base_url)
    monkeypatch.setenv("ALIBABA_APP_KEY", fake_icbu.app_key)
    monkeypatch.setenv("ALIBABA_APP_SECRET", fake_icbu.app_secret)
    get_settings.cache_clear()
    asyncio.run(_forget_connection(committed_database_url))
    yield fake_icbu
    asyncio.run(_forget_connection(committed_database_url))
    get_settings.cache_clear()


def test_connect_then_status(cli_env: FakeIcbuServer) -> None:
    runner = CliRunner()
    before = runner.invoke(cli, ["alibaba", "status"])
    assert before.exit_code == 0, before.output
    assert "连接状态: 尚未授权卖家账号" in before.output

    result = runner.invoke(cli, ["alibaba", "connect", "--code", cli_env.state.issue_code()])
    assert result.exit_code == 0, result.output
    assert "已连接阿里巴巴国际站 / connected: nanlingpearl (2200000000001)" in result.output
    assert "（北京时间）" in result.output

    status = runner.invoke(cli, ["alibaba", "status"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == f"应用 App key: {cli_env.app_key}"
    assert lines[1] == "连接状态: 已连接 / connected"
    assert lines[2] == "卖家账号: nanlingpearl (2200000000001)"
    assert lines[3].startswith("访问令牌到期: ") and lines[3].endswith("（北京时间）")
    assert "  未连接 not_connected: " in status.output and "  已上架 online: " in status.output
    # No token, secret or signature in anything printed.
    assert cli_env.app_secret not in status.output + result.output
    assert "50000" not in status.output + result.output and "50001" not in status.output + result.output


def test_connect_with_a_bad_code_fails_cleanly(cli_env: FakeIcbuServer) -> None:
    result = CliRunner().invoke(cli, ["alibaba", "connect", "--code", "code_nope"])
    assert result.exit_code == 1
    assert "阿里巴巴国际站授权失败" in result.output and "InvalidCode" in result.output


def test_not_configured(committed_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", committed_database_url)
    monkeypatch.delenv("ALIBABA_APP_KEY", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["alibaba", "connect", "--code", "x"])
        assert result.exit_code == 1 and "未配置阿里巴巴国际站应用" in result.output
        status = runner.invoke(cli, ["alibaba", "status"])
        assert status.exit_code == 0
        assert "连接状态: 未配置应用，商品只保存在本地，不会发送任何数据 / not connected" in status.output
    finally:
        get_settings.cache_clear()
