"""The seller token store against the fake ICBU gateway: connect, refresh before expiry, re-auth."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.crossborder import tokens
from app.crossborder.client import SignatureError
from app.crossborder.crypto import TokenCipher, TokenKeyError, cipher_for, derive_key
from app.crossborder.errors import AlibabaAuthFailed, AlibabaNotConnected, AlibabaReauthRequired
from app.crossborder.models import AlibabaConnection, ConnectionStatus, ListingState
from tests.fixtures.fake_icbu import FakeIcbuServer

CIPHER = TokenCipher(derive_key("test-secret-key"))


async def _row(session: AsyncSession) -> AlibabaConnection:
    row = await session.scalar(select(AlibabaConnection).execution_options(populate_existing=True))
    assert row is not None
    return row


async def test_connect_stores_encrypted_tokens(
    db_session: AsyncSession, fake_icbu: FakeIcbuServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with fake_icbu.client() as client:
        view = await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        token = await tokens.access_token(db_session, client, cipher=CIPHER)
    assert view.status is ConnectionStatus.connected
    assert view.account_id == "2200000000001" and view.account_name == "nanlingpearl"
    assert timedelta(days=9, hours=23) < view.expires_at - datetime.now(UTC) <= timedelta(days=10)
    row = await _row(db_session)
    assert token.startswith("50000")
    # At rest only ciphertext; the plaintext is recoverable with the key alone.
    assert token not in row.access_token_enc and CIPHER.decrypt(row.access_token_enc) == token
    assert CIPHER.decrypt(row.refresh_token_enc).startswith("50001")
    assert token not in repr(view) and token not in caplog.text
    assert CIPHER.decrypt(row.refresh_token_enc) not in caplog.text
    assert [r.api for r in fake_icbu.state.requests] == ["/auth/token/create"]


async def test_a_bad_code_is_an_auth_failure(db_session: AsyncSession, fake_icbu: FakeIcbuServer) -> None:
    async with fake_icbu.client() as client:
        with pytest.raises(AlibabaAuthFailed) as info:
            await tokens.connect(db_session, client, "code_unknown", cipher=CIPHER)
    assert "InvalidCode" in info.value.text
    assert await db_session.scalar(select(AlibabaConnection)) is None


async def test_not_connected(db_session: AsyncSession, fake_icbu: FakeIcbuServer) -> None:
    async with fake_icbu.client() as client:
        with pytest.raises(AlibabaNotConnected):
            await tokens.access_token(db_session, client, cipher=CIPHER)
    report = await tokens.status(db_session)
    assert report.connection is None
    assert report.listings_by_state == {state: 0 for state in ListingState}
    assert fake_icbu.state.requests == []


async def test_refreshes_thirty_minutes_before_expiry(db_session: AsyncSession, fake_icbu: FakeIcbuServer) -> None:
    fake_icbu.state.token_lifetime = 3600
    async with fake_icbu.client() as client:
        await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        first = await tokens.access_token(db_session, client, cipher=CIPHER)
        row = await _row(db_session)
        old_refresh = CIPHER.decrypt(row.refresh_token_enc)
        expires = row.expires_at

        # 31 minutes before expiry: still used as is, nothing sent.
        same = await tokens.access_token(db_session, client, cipher=CIPHER, now=expires - timedelta(minutes=31))
        assert same == first and len(fake_icbu.state.requests) == 1

        # 29 minutes before expiry: refreshed once, the stored pair rotated.
        now = expires - timedelta(minutes=29)
        fresh = await tokens.access_token(db_session, client, cipher=CIPHER, now=now)
        again = await tokens.access_token(db_session, client, cipher=CIPHER)  # new token: not yet due
    assert fresh != first and again == fresh
    assert [r.api for r in fake_icbu.state.requests] == ["/auth/token/create", "/auth/token/refresh"]
    row = await _row(db_session)
    assert CIPHER.decrypt(row.access_token_enc) == fresh
    assert CIPHER.decrypt(row.refresh_token_enc) != old_refresh
    assert row.expires_at > expires and row.status is ConnectionStatus.connected


async def test_refused_refresh_needs_reauth(db_session: AsyncSession, fake_icbu: FakeIcbuServer) -> None:
    async with fake_icbu.client() as client:
        await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        row = await _row(db_session)
        # Someone else used (and so rotated away) the stored refresh token.
        await client.refresh_token(CIPHER.decrypt(row.refresh_token_enc))
        later = row.expires_at - timedelta(minutes=5)
        with pytest.raises(AlibabaReauthRequired) as info:
            await tokens.access_token(db_session, client, cipher=CIPHER, now=later)
        assert "InvalidRefreshToken" in info.value.text
        sent = len(fake_icbu.state.requests)
        # Once marked, no further refresh is attempted.
        with pytest.raises(AlibabaReauthRequired):
            await tokens.access_token(db_session, client, cipher=CIPHER)
    assert len(fake_icbu.state.requests) == sent
    row = await _row(db_session)
    assert row.status is ConnectionStatus.needs_reauth and row.last_error == "刷新被拒绝：InvalidRefreshToken"
    report = await tokens.status(db_session)
    assert report.connection is not None and report.connection.status is ConnectionStatus.needs_reauth


async def test_expired_refresh_token_needs_reauth_without_a_call(
    db_session: AsyncSession, fake_icbu: FakeIcbuServer
) -> None:
    async with fake_icbu.client() as client:
        await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        row = await _row(db_session)
        assert row.refresh_expires_at is not None
        with pytest.raises(AlibabaReauthRequired):
            await tokens.access_token(db_session, client, cipher=CIPHER, now=row.refresh_expires_at + timedelta(1))
    assert [r.api for r in fake_icbu.state.requests] == ["/auth/token/create"]
    assert (await _row(db_session)).last_error == "刷新令牌已过期"


async def test_reconnect_after_reauth(db_session: AsyncSession, fake_icbu: FakeIcbuServer) -> None:
    async with fake_icbu.client() as client:
        await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        row = await _row(db_session)
        row.status = ConnectionStatus.needs_reauth
        await db_session.flush()
        view = await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        assert view.status is ConnectionStatus.connected and view.last_error == ""
        assert await tokens.access_token(db_session, client, cipher=CIPHER)


async def test_transient_refresh_failure_keeps_the_valid_token(
    db_session: AsyncSession, fake_icbu: FakeIcbuServer
) -> None:
    async with fake_icbu.client() as client:
        await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
        current = await tokens.access_token(db_session, client, cipher=CIPHER)
        row = await _row(db_session)
        fake_icbu.state.fail_next(1, status=503)
        got = await tokens.access_token(db_session, client, cipher=CIPHER, now=row.expires_at - timedelta(minutes=5))
    assert got == current
    row = await _row(db_session)
    assert row.status is ConnectionStatus.connected and row.last_error == "刷新令牌暂时失败：503"


async def test_wrong_secret_on_refresh_is_a_configuration_error(
    db_session: AsyncSession, fake_icbu: FakeIcbuServer
) -> None:
    async with fake_icbu.client() as client:
        await tokens.connect(db_session, client, fake_icbu.state.issue_code(), cipher=CIPHER)
    row = await _row(db_session)
    async with fake_icbu.client(app_secret="wrong") as client:
        with pytest.raises(SignatureError):
            await tokens.access_token(db_session, client, cipher=CIPHER, now=row.expires_at - timedelta(minutes=1))
    row = await _row(db_session)
    assert row.status is ConnectionStatus.connected and row.last_error == "刷新令牌失败：IncompleteSignature"


def test_cipher_from_settings(tmp_path: object) -> None:
    derived = cipher_for(Settings(app_env="test", secret_key="s" * 40))
    assert derived.decrypt(TokenCipher(derive_key("s" * 40)).encrypt("x")) == "x"
    key = Fernet.generate_key().decode()
    explicit = cipher_for(Settings(app_env="test", alibaba_token_key=key))
    assert TokenCipher(key).decrypt(explicit.encrypt("y")) == "y"
    with pytest.raises(TokenKeyError):
        derived.decrypt(explicit.encrypt("y"))
    assert key not in repr(explicit)


def test_production_requires_a_token_key() -> None:
    prod = {
        "app_env": "production",
        "secret_key": "p" * 40,
        "database_url": "postgresql://x/y",
        "session_cookie_secure": True,
        "public_base_url": "https://shop.example.cn",
    }
    with pytest.raises(ValueError, match="ALIBABA_TOKEN_KEY"):
        Settings(**prod, alibaba_app_key="502870", alibaba_app_secret="s")
    with pytest.raises(ValueError, match="Fernet"):
        Settings(**prod, alibaba_token_key="not-a-key")
    # Base64, but not of 32 bytes: refused as Fernet itself refuses it (checked without cryptography).
    short = base64.urlsafe_b64encode(bytes(31)).decode()
    with pytest.raises(ValueError, match="Fernet"):
        Fernet(short)
    with pytest.raises(ValueError, match="Fernet"):
        Settings(**prod, alibaba_token_key=short)
    assert Settings(**prod).alibaba_configured is False
    with pytest.raises(TokenKeyError):
        cipher_for(Settings(**prod))
