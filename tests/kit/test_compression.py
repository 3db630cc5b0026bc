"""The lean path of :class:`app.kit.compression.Compression` for a client that does not accept gzip
answers what Starlette's own middleware answers it, header for header; a client that accepts gzip
still gets Starlette's compression."""

from __future__ import annotations

import gzip

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Receive, Scope, Send

from app.kit.compression import Compression
from app.main import NOT_COMPRESSED

BIG = b"x" * 2000
SMALL = b"ok"


def _app(
    body: bytes,
    content_type: str,
    *,
    status: int = 200,
    extra: list[tuple[bytes, bytes]] | None = None,
    streamed: bool = False,
) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", content_type.encode()), *(extra or [])]
        if not streamed:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if streamed:
            half = len(body) // 2
            await send({"type": "http.response.body", "body": body[:half], "more_body": True})
            await send({"type": "http.response.body", "body": body[half:], "more_body": False})
        else:
            await send({"type": "http.response.body", "body": body})

    return app


CASES = {
    "large JSON": _app(BIG, "application/json"),
    "large HTML with a charset": _app(BIG, "text/html; charset=utf-8"),
    "small JSON": _app(SMALL, "application/json"),
    "large PDF": _app(BIG, "application/pdf"),
    "large PNG": _app(BIG, "image/png"),
    "already encoded": _app(BIG, "application/json", extra=[(b"content-encoding", b"br")]),
    "partial content": _app(BIG, "text/plain", status=206),
    "a Vary already": _app(BIG, "text/html", extra=[(b"vary", b"Cookie")]),
    "streamed HTML": _app(BIG, "text/html", streamed=True),
}


async def _get(middleware: type[GZipMiddleware], app: object, headers: dict[str, str]) -> httpx.Response:
    wrapped = middleware(app, minimum_size=1024, compresslevel=6, exclude_content_types=NOT_COMPRESSED)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as client:
        del client.headers["accept-encoding"]  # httpx's own default asks for gzip
        return await client.get("/", headers=headers)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("accept", ["identity", "br, deflate", None])
async def test_a_client_without_gzip_gets_what_starlette_would_send(case: str, accept: str | None) -> None:
    headers = {"Accept-Encoding": accept} if accept else {}
    ours = await _get(Compression, CASES[case], headers)
    theirs = await _get(GZipMiddleware, CASES[case], headers)
    assert ours.status_code == theirs.status_code and ours.content == theirs.content
    assert sorted(ours.headers.multi_items()) == sorted(theirs.headers.multi_items())
    assert ours.headers.get("content-encoding") == ("br" if case == "already encoded" else None)


async def test_the_lean_path_adds_vary_only_where_gzip_would_have_compressed() -> None:
    """The cases above are not all alike (the comparison could not pass on headers it never sees)."""
    large = await _get(Compression, CASES["large JSON"], {"Accept-Encoding": "identity"})
    small = await _get(Compression, CASES["small JSON"], {"Accept-Encoding": "identity"})
    merged = await _get(Compression, CASES["a Vary already"], {"Accept-Encoding": "identity"})
    assert large.headers["vary"] == "Accept-Encoding" and "vary" not in small.headers
    assert merged.headers.get_list("vary") == ["Cookie, Accept-Encoding"]


@pytest.mark.parametrize("case", ["large JSON", "streamed HTML"])
async def test_a_client_that_accepts_gzip_still_gets_it_compressed(case: str) -> None:
    response = await _get(Compression, CASES[case], {"Accept-Encoding": "gzip, deflate"})
    assert response.headers["content-encoding"] == "gzip" and response.content == BIG
    assert "accept-encoding" in response.headers["vary"].lower()
    assert gzip.decompress(gzip.compress(BIG)) == response.content
