"""Pages name CSS and JS by a digest of their content; such a request is cached for a year."""

from __future__ import annotations

import hashlib
import re

import httpx

from app.web.assets import IMMUTABLE, STATIC_DIR


async def test_pages_link_fingerprinted_assets_served_immutable(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    links = re.findall(r'href="(/static/site\.css\?v=([0-9a-f]{12}))"', page.text)
    assert links, "the shop's pages link the stylesheet by its digest"
    url, version = links[0]
    assert version == hashlib.sha256((STATIC_DIR / "site.css").read_bytes()).hexdigest()[:12]
    cached = await client.get(url)
    assert cached.status_code == 200 and cached.headers["cache-control"] == IMMUTABLE


async def test_a_stale_or_missing_digest_is_not_cached_for_long(client: httpx.AsyncClient) -> None:
    for url in ("/static/site.css", "/static/site.css?v=000000000000"):
        response = await client.get(url)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("cache-control", "")
    missing = await client.get("/static/nothing.css?v=000000000000")
    assert missing.status_code == 404


async def test_the_till_keeps_plain_asset_names_for_its_service_worker(client: httpx.AsyncClient) -> None:
    template = (STATIC_DIR.parent / "templates" / "pos" / "till.html").read_text()
    assert 'href="/static/pos/pos.css"' in template and "asset(" not in template
