"""Security headers on every response: one pure-ASGI middleware with its header bytes built once.

Every response gets ``Content-Security-Policy``, ``X-Frame-Options``, ``X-Content-Type-Options:
nosniff`` and ``Referrer-Policy``; ``Strict-Transport-Security`` too when the site is served over
HTTPS (``PUBLIC_BASE_URL`` is ``https://`` or ``SESSION_COOKIE_SECURE`` is on). The policy allows
no inline script or style anywhere in our pages: templates carry neither ``<script>``/``<style>``
blocks nor ``on…=``/``style=`` attributes, and scripts live in ``storefront/static``. So markup
injected through some unescaped field cannot run or restyle the page.

A few paths get another policy, chosen by path (cheap: a set lookup and two suffix tests):

* ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` are FastAPI's own API viewers, which load
  Swagger UI / ReDoc from cdn.jsdelivr.net and start them with an inline script. DESIGN.md wants
  ``/docs``, so those pages get a relaxed policy (the CDN plus ``'unsafe-inline'``). They render
  only our OpenAPI document and reflect nothing from the request, so inline script there is not
  an injection route; the cost is trusting the CDN on those pages alone (vendoring Swagger UI would
  add ~1.5 MB of assets to keep up to date). Every other header is unchanged there.
* ``….pdf`` (labels, manifests) may be framed by our own pages: the station console prints a
  label through a hidden same-origin ``<iframe>`` (``station.js``), so PDFs get
  ``frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN`` instead of ``'none'``/``DENY``.
* A form whose answer redirects off-site: Chromium checks ``form-action`` on every hop of the
  redirect chain, not only the form's own target, so with ``form-action 'self'`` the Alipay
  redirect after ``POST /orders/{n}/pay`` (our server → Stripe → Alipay) and the Alibaba.com
  authorize redirect after ``POST /admin/crossborder/connect`` would be refused. The pay page
  (``/orders/{n}/pay``, only when online payment is configured) and the cross-border console
  (``/admin/crossborder`` and its ``/connect`` re-render, only when Alibaba.com is configured)
  allow ``form-action 'self' https:`` — the chain's later hosts are the provider's business and
  change without notice — plus the origin of ``STRIPE_API_BASE`` when that points at a local
  stand-in. The forms themselves still post to our own paths. No page loads anything from
  Stripe: card payments go through the API, Alipay is a redirect and the WeChat Pay QR code is
  a ``data:`` image Stripe returns (``img-src data:``).

Caching (``Cache-Control: no-store``), in this order:

1. a response that sets its own ``Cache-Control`` keeps it (``/api/v1/stations/map.svg`` is public
   for five minutes; ``/orders/{n}/status`` says ``no-store`` itself);
2. ``/static/…`` and ``/media/…`` are left to StaticFiles (``ETag`` / ``Last-Modified``
   revalidation);
3. a request with credentials (the ``np_session`` cookie or an ``Authorization`` header) and a
   response that sets a cookie are personal: ``no-store``;
4. public pages without personal data are left alone: the shop home ``/``, product pages
   ``/products/…``, trace pages ``/t/…``, the public catalog and station API (``/api/v1/products…``,
   ``/api/v1/categories``, ``/api/v1/stations``), ``/healthz``, ``/readyz`` and the API description;
5. everything else — orders and the guest lookup, cart and checkout, ``/account``, ``/login``,
   ``/admin``, ``/station``, ``/api/v1/orders``, ``/api/v1/admin``, ``/api/v1/pda``, error pages
   for unknown paths — is ``no-store``.

Responses produced by Starlette's outermost error middleware (an unhandled exception's 500) do not
pass through here; that body is a fixed JSON text. A route must not add its own
``Content-Security-Policy``: browsers enforce both policies, so relax it here, by path, instead.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Header = tuple[bytes, bytes]

BASE_POLICY: Final[dict[str, str]] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
DOCS_POLICY: Final[dict[str, str]] = {
    **BASE_POLICY,
    "script-src": "'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src": "'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "img-src": "'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "font-src": "'self' https://fonts.gstatic.com",
    "worker-src": "'self' blob:",
}
DOCS_PATHS: Final[frozenset[str]] = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
CROSSBORDER_CONNECT_PATHS: Final[frozenset[str]] = frozenset({"/admin/crossborder", "/admin/crossborder/connect"})

HSTS_MAX_AGE: Final[int] = 31_536_000  # one year; no includeSubDomains: other hosts are not ours to pin
NO_STORE: Final[Header] = (b"cache-control", b"no-store")
UNTOUCHED_PREFIXES: Final[tuple[str, ...]] = ("/static/", "/media/")
PUBLIC_PATHS: Final[frozenset[str]] = frozenset(
    {
        "/",
        "/healthz",
        "/readyz",
        "/api/v1/categories",
        "/api/v1/products",
        "/api/v1/stations",
        "/openapi.json",
        *DOCS_PATHS,
    }
)
PUBLIC_PREFIXES: Final[tuple[str, ...]] = ("/products/", "/t/", "/api/v1/products/", "/api/v1/stations/map.svg")


def policy_text(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class SecurityHeaders:
    """Adds the security headers and the ``no-store`` rule above to every HTTP response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        session_cookie: str,
        hsts: bool,
        online_payment: bool = False,
        payment_stand_in: str | None = None,
        alibaba_connect: bool = False,
    ) -> None:
        self.app = app
        self.session_mark = session_cookie.encode() + b"="
        common: list[Header] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if hsts:
            common.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE}".encode()))

        def headers(directives: dict[str, str], frame_options: bytes = b"DENY") -> list[Header]:
            csp = (b"content-security-policy", policy_text(directives).encode())
            return [csp, (b"x-frame-options", frame_options), *common]

        off_site = " ".join(filter(None, ["'self' https:", _origin(payment_stand_in)]))
        self.page = headers(BASE_POLICY)
        self.docs = headers(DOCS_POLICY)
        self.framable = headers({**BASE_POLICY, "frame-ancestors": "'self'"}, b"SAMEORIGIN")
        off_site_form = headers({**BASE_POLICY, "form-action": off_site})
        self.pay = off_site_form if online_payment else self.page
        self.connect = off_site_form if alibaba_connect else self.page

    def headers_for(self, path: str) -> list[Header]:
        if path in DOCS_PATHS:
            return self.docs
        if path.endswith(".pdf"):
            return self.framable
        if path.startswith("/orders/") and path.endswith("/pay"):
            return self.pay
        if path in CROSSBORDER_CONNECT_PATHS:
            return self.connect
        return self.page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = self.headers_for(path)
        untouched = path.startswith(UNTOUCHED_PREFIXES)
        personal = not untouched and (not _is_public(path) or self._has_credentials(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not untouched:
                    names = {name for name, _ in headers}
                    if b"cache-control" not in names and (personal or b"set-cookie" in names):
                        headers.append(NO_STORE)
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _has_credentials(self, scope: Scope) -> bool:
        for name, value in scope.get("headers") or ():
            if name == b"authorization" or (name == b"cookie" and self.session_mark in value):
                return True
        return False


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
