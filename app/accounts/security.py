"""Password hashing (argon2), opaque tokens stored as SHA-256, and signed CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id setting for a small server (m = 7 MiB, t = 5, p = 1; as strong as its
# 19 MiB × 2 setting): argon2-cffi's default takes 64 MiB per hash, and a web worker that served one
# sign-in kept that peak for life (issue 15: a worker's peak memory). Hashes made with other
# parameters still verify and are re-hashed at the next sign-in (``needs_rehash``).
_hasher = PasswordHasher(time_cost=5, memory_cost=7168, parallelism=1)
# Verified when the user does not exist, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("nanling-pearl-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str) -> str:
    """An opaque bearer token such as ``npt_…``; only its hash is ever stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_csrf_token(secret: str) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce)}"


def csrf_token_valid(secret: str, token: str | None) -> bool:
    if not token or "." not in token:
        return False
    nonce, signature = token.rsplit(".", 1)
    return hmac.compare_digest(signature, _sign(secret, nonce))


def _sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]
