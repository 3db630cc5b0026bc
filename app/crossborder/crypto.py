"""Encryption at rest for the seller's ICBU tokens (and the app secret when stored).

Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp) from ``cryptography``. The key is
``ALIBABA_TOKEN_KEY``; production refuses to start without it once ``ALIBABA_APP_KEY`` is set.
In demo and test runs without it, a key is derived from ``SECRET_KEY`` with HKDF-SHA256 (a fixed
salt and an info label of its own, so the derived key is not the CSRF-signing key itself); a
changed ``SECRET_KEY`` then makes stored tokens unreadable, which only means "connect again".
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Final

# ``cryptography`` is imported where a token is encrypted or decrypted (a key is checked without
# it): a web worker that never opens the cross-border pages does not map its 5.5 MiB Rust library
# (issue 15's memory goal; ``tests/test_app_startup.py`` names it).
if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from app.config import Settings

_HKDF_SALT: Final[bytes] = b"nanling-pearl/crossborder"
_HKDF_INFO: Final[bytes] = b"alibaba-token-key/v1"


class TokenKeyError(ValueError):
    """The configured key is not a Fernet key, or a stored value cannot be decrypted with it."""


def check_key(key: str) -> None:
    """Raise ``TokenKeyError`` unless ``key`` is a Fernet key (urlsafe base64 of 32 bytes).

    The test ``Fernet(key)`` makes, without importing ``cryptography``: every worker checks the
    configured key when it reads its settings at start."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise TokenKeyError("ALIBABA_TOKEN_KEY 必须是 Fernet 密钥（32 字节的 urlsafe base64）") from exc
    if len(raw) != 32:
        raise TokenKeyError("ALIBABA_TOKEN_KEY 必须是 Fernet 密钥（32 字节的 urlsafe base64）")


def derive_key(secret: str) -> bytes:
    """A Fernet key derived from ``secret`` (demo/test only) with HKDF-SHA256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(secret.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


class TokenCipher:
    """Encrypts and decrypts short secrets (tokens) as ASCII strings fit for a text column."""

    def __init__(self, key: bytes | str) -> None:
        from cryptography.fernet import Fernet

        self._fernet: Fernet = Fernet(key.encode("ascii") if isinstance(key, str) else key)

    def __repr__(self) -> str:
        return "TokenCipher(<key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise TokenKeyError("无法解密已保存的阿里巴巴令牌（ALIBABA_TOKEN_KEY 已更换？请重新连接）") from exc


def cipher_for(settings: Settings) -> TokenCipher:
    """The cipher for these settings: ``ALIBABA_TOKEN_KEY``, else (demo/test) a key derived from
    ``SECRET_KEY``. Production without the key is refused by ``Settings`` itself when an app key is set;
    here it is refused too, so that nothing is ever stored under a derived key in production."""
    from app.config import AppEnv

    if settings.alibaba_token_key and settings.alibaba_token_key.get_secret_value():
        return TokenCipher(settings.alibaba_token_key.get_secret_value())
    if settings.app_env is AppEnv.production:
        raise TokenKeyError("APP_ENV=production 需要设置 ALIBABA_TOKEN_KEY")
    return TokenCipher(derive_key(settings.secret_key.get_secret_value()))
