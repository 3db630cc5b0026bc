"""Login attempt limiting with the ``limits`` library.

Failed attempts are counted per username and per client address in a moving window
(``LOGIN_RATE_LIMIT``, default 5/minute). The storage is in-process by default; with several web
workers set ``RATE_LIMIT_STORAGE_URL`` (e.g. ``redis://127.0.0.1:6379``) so they share counts.
"""

from __future__ import annotations

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class LoginLimiter:
    def __init__(self, rate: str, storage_url: str) -> None:
        self.item: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def _keys(self, username: str, client_ip: str) -> list[tuple[str, str]]:
        return [("login-user", username.lower()), ("login-ip", client_ip)]

    def allowed(self, username: str, client_ip: str) -> bool:
        return all(self.limiter.test(self.item, *key) for key in self._keys(username, client_ip))

    def record_failure(self, username: str, client_ip: str) -> None:
        for key in self._keys(username, client_ip):
            self.limiter.hit(self.item, *key)

    def reset(self) -> None:
        self.limiter.storage.reset()
