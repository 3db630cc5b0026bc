"""Wiring of the Alibaba.com domain to the settings: the client, the cipher, the status text.

Without ``ALIBABA_APP_KEY`` / ``ALIBABA_APP_SECRET`` nothing here builds a client, so nothing can be
sent: listings stay local in state ``not_connected`` (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.crossborder.calllog import CallLog
from app.crossborder.client import IcbuClient, OnCall
from app.crossborder.crypto import cipher_for
from app.crossborder.errors import AlibabaNotConfigured
from app.crossborder.models import ConnectionStatus, ListingState
from app.crossborder.pacing import pacer_for
from app.crossborder.sync import SyncEngine, SyncOptions
from app.crossborder.tokens import StatusReport
from app.kit import clock

CHINA_TZ: Final[ZoneInfo] = clock.business_tz()


def build_client(settings: Settings, *, on_call: OnCall | None = None, timeout: float = 30.0) -> IcbuClient:
    """The ICBU client for these settings; :class:`AlibabaNotConfigured` without app key and secret."""
    if not settings.alibaba_configured or settings.alibaba_app_secret is None or not settings.alibaba_app_key:
        raise AlibabaNotConfigured()
    return IcbuClient(
        settings.alibaba_app_key,
        settings.alibaba_app_secret.get_secret_value(),
        base_url=settings.alibaba_gateway_url,
        sync_url=settings.alibaba_sync_endpoint,
        timeout=timeout,
        on_call=on_call,
    )


def china_time(value: datetime | None) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") + "（北京时间）" if value else "—"


def status_lines(report: StatusReport, settings: Settings) -> list[str]:
    """``app alibaba status`` output: never a token, secret or key."""
    lines = [f"应用 App key: {settings.alibaba_app_key or '未配置（not configured）'}"]
    conn = report.connection
    if not settings.alibaba_configured:
        lines.append("连接状态: 未配置应用，商品只保存在本地，不会发送任何数据 / not connected")
    elif conn is None:
        lines.append("连接状态: 尚未授权卖家账号（运行 app alibaba connect --code CODE）/ not connected")
    else:
        label = conn.status.label_zh
        lines.append(f"连接状态: {label} / {conn.status.value}")
        lines.append(f"卖家账号: {conn.account_name} ({conn.account_id})")
        lines.append(f"访问令牌到期: {china_time(conn.expires_at)}")
        lines.append(f"刷新令牌到期: {china_time(conn.refresh_expires_at) if conn.refresh_expires_at else '不可刷新'}")
        if conn.last_error:
            lines.append(f"最近错误: {conn.last_error}")
        if conn.status is ConnectionStatus.needs_reauth:
            lines.append("请在运营后台或用 app alibaba connect --code CODE 重新授权")
    lines.append("商品 Listings:")
    for state, count in report.listings_by_state.items():
        lines.append(f"  {state.label_zh} {state.value}: {count}")
    return lines


def display_state(state: ListingState, *, connected: bool) -> ListingState:
    """What the console shows: "not connected" while no app is configured or no seller account is
    authorised (nothing is sent then), "draft" for a listing the engine has not touched yet."""
    if not connected:
        return ListingState.not_connected
    if state is ListingState.not_connected:
        return ListingState.draft
    return state


@asynccontextmanager
async def open_engine(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *, call_timeout: float = 30.0
) -> AsyncIterator[SyncEngine]:
    """A sync engine on the configured gateway: its calls land in the sync log, paced by the
    process-wide pacer at ``ALIBABA_CALLS_PER_SECOND``, its starts shared with the deployment's other
    processes through the database. :class:`AlibabaNotConfigured` without an app."""
    log = CallLog()
    async with build_client(settings, on_call=log, timeout=call_timeout) as client:
        yield SyncEngine(
            sessionmaker,
            client,
            log,
            cipher=cipher_for(settings),
            pacer=pacer_for(settings.alibaba_calls_per_second, sessionmaker),
            options=SyncOptions(
                debounce_seconds=settings.alibaba_debounce_seconds,
                audit_poll_seconds=settings.alibaba_audit_poll_seconds,
                uploads_dir=settings.uploads_dir,
            ),
        )
