"""The open-redirect guard: only addresses on the site itself pass."""

from __future__ import annotations

import pytest

from app.kit.urls import same_site_url

BASE = "https://shop.example:8443"


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("https://shop.example:8443/orders/NP1", "https://shop.example:8443/orders/NP1"),
        ("https://SHOP.example:8443/orders/NP1?x=1#top", "https://SHOP.example:8443/orders/NP1?x=1#top"),
        ("HTTPS://shop.example:8443/", "HTTPS://shop.example:8443/"),
        ("/orders/NP1?from=app", "https://shop.example:8443/orders/NP1?from=app"),
        ("/", "https://shop.example:8443/"),
    ],
)
def test_same_site_addresses_pass(candidate: str, expected: str) -> None:
    assert same_site_url(candidate, BASE) == expected
    assert same_site_url(candidate, BASE + "/") == expected


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "https://shop.example:8443@evil.example/",
        "https://user:pw@shop.example:8443/",
        "https://shop.example:8443.evil.example/",
        "https://shop.example/orders",  # other port
        "https://shop.example:8443",  # no path
        "http://shop.example:8443/orders",  # other scheme
        "/\\evil.example",
        "\\\\evil.example",
        "https://shop.example:8443\\@evil.example/",
        "/\t/evil.example",
        "/\n/evil.example",
        " /orders",
        "/orders\x00",
        "/orders\x7f",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "javascript://shop.example:8443/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "orders/NP1",
        "?next=1",
        "https://[::1/",
    ],
)
def test_other_addresses_are_refused(candidate: str) -> None:
    assert same_site_url(candidate, BASE) is None


def test_a_base_with_a_path_keeps_callers_under_it() -> None:
    base = "https://example.com/np"
    assert same_site_url("/orders/NP1", base) == "https://example.com/np/orders/NP1"
    assert same_site_url("https://example.com/np/orders/NP1", base) == "https://example.com/np/orders/NP1"
    assert same_site_url("https://example.com/other", base) is None
    assert same_site_url("https://example.com/npx/orders", base) is None
