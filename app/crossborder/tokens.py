"""The seller's ICBU tokens: exchange, storage (encrypted), refresh before expiry, re-authorisation.

There is one connection row. Tokens are Fernet-encrypted at rest (``crypto.cipher_for``) and
never logged or returned by :func:`status`.

Refresh tokens rotate (reference §6: a refresh invalidates the old pair), so two workers
refreshing at once would have the loser's refresh refused and the connection wrongly marked
"needs re-authorisation". :func:`access_token` therefore re-reads the row ``FOR UPDATE`` before
refreshing and re-checks expiry under the lock: the second worker finds the new token and does
not refresh again. The lock lives until the caller's unit of work ends, so callers get the token
in a short unit of work of its own, not inside a long sync transaction.

Like every service here, these functions only flush. When they mark the connection
``needs_reauth`` they flush that first and then raise :class:`AlibabaReauthRequired`; the caller
commits that state (the CLI and tasks do) so the ops console shows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.crossborder import repository
from app.crossborder.client import (
    GatewayUnavailable,
    IcbuClient,
    IcbuError,
    IcbuToken,
    RateLimited,
    TokenExpired,
)
from app.crossborder.crypto import TokenCipher
from app.crossborder.errors import AlibabaAuthFailed, AlibabaNotConnected, AlibabaReauthRequired
from app.crossborder.models import AlibabaConnection, ConnectionStatus, ListingState

logger = logging.getLogger(__name__)

REFRESH_MARGIN: Final[timedelta] = timedelta(minutes=30)  # refresh this long before expiry (§6.3)
CONNECTION_ID: Final[int] = 1


@dataclass(frozen=True)
class ConnectionView:
    """What may be shown about the connection: no token, no secret."""

    status: ConnectionStatus
    account_id: str
    account_name: str
    expires_at: datetime
    refresh_expires_at: datetime | None
    last_error: str
    connected_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StatusReport:
    connection: ConnectionView | None
    listings_by_state: dict[ListingState, int]


def _view(row: AlibabaConnection) -> ConnectionView:
    return ConnectionView(**{field.name: getattr(row, field.name) for field in fields(ConnectionView)})


def _account_name(token: IcbuToken) -> str:
    login = token.user_info.get("loginId") if token.user_info else None
    return str(login or token.account or token.account_id)


def _store(row: AlibabaConnection, token: IcbuToken, cipher: TokenCipher) -> None:
    row.access_token_enc = cipher.encrypt(token.access_token)
    row.refresh_token_enc = cipher.encrypt(token.refresh_token) if token.refresh_token else ""
    row.expires_at = token.expires_at
    row.refresh_expires_at = token.refresh_expires_at
    row.status = ConnectionStatus.connected
    row.last_error = ""


async def connect(session: AsyncSession, client: IcbuClient, code: str, *, cipher: TokenCipher) -> ConnectionView:
    """Exchange the authorization ``code`` (from the seller's redirect) and store the tokens.

    Connecting another seller account replaces the stored one; listings keep their remote ids,
    which belong to whichever account created them (a warning is logged when the account changes).
    """
    try:
        token = await client.create_token(code.strip())
    except IcbuError as exc:
        raise AlibabaAuthFailed(f"阿里巴巴国际站授权失败：{exc.message}（{exc.code or exc.msg_code}）") from exc
    row = await session.get(AlibabaConnection, CONNECTION_ID, with_for_update=True)
    if row is None:
        row = AlibabaConnection(id=CONNECTION_ID)
        session.add(row)
    elif row.account_id and row.account_id != token.account_id:
        logger.warning("alibaba seller account changed from %s to %s", row.account_id, token.account_id)
    row.account_id = token.account_id
    row.account_name = _account_name(token)
    row.connected_at = datetime.now(UTC)
    _store(row, token, cipher)
    await session.flush()
    await session.refresh(row)
    logger.info("alibaba connected: account %s, token expires %s", row.account_id, row.expires_at.isoformat())
    return _view(row)


async def _mark_needs_reauth(session: AsyncSession, row: AlibabaConnection, reason: str) -> AlibabaReauthRequired:
    row.status = ConnectionStatus.needs_reauth
    row.last_error = reason
    await session.flush()
    logger.warning("alibaba connection needs re-authorisation: %s", reason)
    return AlibabaReauthRequired(f"阿里巴巴国际站授权已失效，请重新连接卖家账号（{reason}）")


async def access_token(
    session: AsyncSession,
    client: IcbuClient,
    *,
    cipher: TokenCipher,
    now: datetime | None = None,
    margin: timedelta = REFRESH_MARGIN,
    rejected_token: str | None = None,
) -> str:
    """A usable access token, refreshed (and the stored pair rotated) when it expires within ``margin``
    or when it is ``rejected_token`` — the one the gateway just refused as expired although its
    stored expiry said otherwise (a token revoked early). If another worker has already replaced
    the rejected token, the new one is returned without refreshing again.

    Raises :class:`AlibabaNotConnected` without a connection and :class:`AlibabaReauthRequired` when
    the refresh token has run out or is refused (status ``needs_reauth`` is flushed first). A
    transient refresh failure (timeout, 5xx, throttling) while the current token is still valid
    returns the current token; once it has expired the failure is raised.
    """
    now = now or datetime.now(UTC)
    row = await session.get(AlibabaConnection, CONNECTION_ID)
    if row is None:
        raise AlibabaNotConnected()
    if row.status is ConnectionStatus.needs_reauth:
        raise AlibabaReauthRequired()
    current = cipher.decrypt(row.access_token_enc)
    if now + margin < row.expires_at and current != rejected_token:
        return current

    # Due for refresh: take the row lock and look again (another worker may have just refreshed).
    await session.refresh(row, with_for_update=True)
    if row.status is not ConnectionStatus.connected:  # re-read: mypy cannot see the refresh
        raise AlibabaReauthRequired()
    current = cipher.decrypt(row.access_token_enc)
    stale = current == rejected_token
    if now + margin < row.expires_at and not stale:
        return current
    if not row.refresh_token_enc or row.refresh_expires_at is None:
        raise await _mark_needs_reauth(session, row, "令牌不可刷新（refresh_expires_in=0）")
    if row.refresh_expires_at <= now:
        raise await _mark_needs_reauth(session, row, "刷新令牌已过期")

    try:
        token = await client.refresh_token(cipher.decrypt(row.refresh_token_enc))
    except TokenExpired as exc:
        # InvalidRefreshToken and the like: only a new authorisation helps. Other refusals
        # (InvalidTimestamp, InvalidAppKey, …) are the platform's configuration, not the seller's,
        # and fall through to the generic branch below.
        raise await _mark_needs_reauth(session, row, f"刷新被拒绝：{exc.code or exc.msg_code}") from exc
    except (GatewayUnavailable, RateLimited) as exc:
        row.last_error = f"刷新令牌暂时失败：{exc.code}"
        await session.flush()
        if now < row.expires_at and not stale:
            logger.warning("alibaba token refresh failed transiently (%s); current token still valid", exc.code)
            return current
        raise
    except IcbuError as exc:  # signature, permission, clock, app key: configuration problems
        row.last_error = f"刷新令牌失败：{exc.code}"
        await session.flush()
        raise
    _store(row, token, cipher)
    await session.flush()
    logger.info("alibaba token refreshed; expires %s", token.expires_at.isoformat())
    return token.access_token


async def status(session: AsyncSession) -> StatusReport:
    """The connection (without tokens) and how many listings are in each state."""
    row = await session.get(AlibabaConnection, CONNECTION_ID)
    counts = await repository.listing_counts_by_state(session)
    by_state = {ListingState(state): n for state, n in counts.items()}
    return StatusReport(
        connection=_view(row) if row is not None else None,
        listings_by_state={state: by_state.get(state, 0) for state in ListingState},
    )
