"""Production settings refuse cookies that would travel over plain HTTP unless that is declared."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.config import AppEnv, Settings

PRODUCTION: dict[str, Any] = {
    "app_env": AppEnv.production,
    "secret_key": "s" * 40,
    "database_url": "postgresql://np:pw@db/np",
    "public_base_url": "http://shop.example.cn",  # production requires its own address
}


def test_production_refuses_insecure_cookies() -> None:
    with pytest.raises(ValidationError, match=r"SESSION_COOKIE_SECURE=true.*ALLOW_INSECURE_HTTP=true"):
        Settings(**PRODUCTION)
    # Saying "false" out loud behind an https address is refused too.
    with pytest.raises(ValidationError, match="SESSION_COOKIE_SECURE"):
        Settings(**{**PRODUCTION, "public_base_url": "https://shop.example.cn"}, session_cookie_secure=False)


def test_production_accepts_secure_cookies_or_declared_plain_http() -> None:
    explicit = Settings(**PRODUCTION, session_cookie_secure=True)
    from_https_address = Settings(**{**PRODUCTION, "public_base_url": "https://shop.example.cn"})
    plain_http = Settings(**PRODUCTION, allow_insecure_http=True)
    assert (explicit.session_cookie_secure, explicit.served_over_https) == (True, True)
    assert (from_https_address.session_cookie_secure, from_https_address.served_over_https) == (True, True)
    assert (plain_http.session_cookie_secure, plain_http.served_over_https) == (False, False)


def test_production_reads_the_rule_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": "e" * 40,
        "DATABASE_URL": "postgresql://x/y",
        "PUBLIC_BASE_URL": "http://shop.example.cn",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="ALLOW_INSECURE_HTTP"):
        Settings()
    monkeypatch.setenv("ALLOW_INSECURE_HTTP", "true")
    assert Settings().session_cookie_secure is False
    monkeypatch.delenv("ALLOW_INSECURE_HTTP")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://shop.example.cn")
    assert Settings().session_cookie_secure is True


def test_demo_and_test_keep_plain_http_cookies() -> None:
    assert Settings(app_env=AppEnv.demo).session_cookie_secure is False
    # Outside production an https address does not switch cookies on by itself (a local run
    # reached over http://127.0.0.1 would lose its sign-in).
    assert Settings(app_env=AppEnv.test, public_base_url="https://shop.example.cn").session_cookie_secure is False
