"""The real IcbuClient against the fake ICBU gateway over HTTP (reference §2–§6, §10)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from app.crossborder.client import (
    BusinessError,
    CallRecord,
    GatewayUnavailable,
    IcbuClient,
    InAudit,
    PermissionDenied,
    RateLimited,
    SignatureError,
    TokenExpired,
    iop_sign,
)
from app.kit.metrics import REGISTRY
from tests.fixtures.fake_icbu import SEEDED_PHOTOBANK_URL, FakeIcbuServer

LISTING = {
    "basic_info": {"title": "Nanling Pearl Fresh Loquat 5kg", "language": "en_US", "keywords": "loquat fresh",
                   "model_number": "NLP-LOQ-5", "product_image": [{"image_url": SEEDED_PHOTOBANK_URL}]},
    "category_info": {"category_id": 100003},
    "trade_info": {"price": {"price_type": "TIERED", "currency": "USD",
                             "tiered_price": [{"quantity": 1, "price": "12.50"}]},
                   "inventory": 40, "moq": 1, "unit": "Box",
                   "sku_info": [{"sku_id": "17000000000000001", "sku_code": "LOQ-5KG"}]},
}


async def _create_listing(client: IcbuClient, token: str) -> str:
    result = await client.rest("/alibaba/icbu/product/listing/v2", {"product_info": LISTING}, access_token=token)
    return str(result.data["result"]["data"])


async def test_token_create_and_refresh(fake_icbu: FakeIcbuServer) -> None:
    async with fake_icbu.client() as client:
        token = await client.create_token(fake_icbu.state.issue_code())
        assert token.access_token and token.refreshable
        assert token.account_id == fake_icbu.state.account_id and token.account_platform == "seller_center"
        assert not token.expires_within(3600)
        assert token.access_token not in repr(token) and token.refresh_token not in repr(token)

        refreshed = await client.refresh_token(token.refresh_token)
        assert refreshed.access_token != token.access_token
        # Refresh tokens rotate and the old access token dies.
        with pytest.raises(TokenExpired):
            await client.refresh_token(token.refresh_token)
        with pytest.raises(TokenExpired):
            await client.rest("/alibaba/icbu/product/search/v2", {"page_size": 5}, access_token=token.access_token)
        # Codes are single use.
        code = fake_icbu.state.issue_code()
        await client.create_token(code)
        with pytest.raises(BusinessError) as info:
            await client.create_token(code)
        assert info.value.code == "InvalidCode"


async def test_path_and_sync_calls_succeed(fake_icbu: FakeIcbuServer) -> None:
    token = fake_icbu.state.issue_token()
    async with fake_icbu.client() as client:
        product_id = await _create_listing(client, token)
        got = await client.rest("/alibaba/icbu/product/get/v2", {"product_id": product_id}, access_token=token)
        assert got.data["result"]["product_info"]["basic_info"]["model_number"] == "NLP-LOQ-5"
        assert got.request_id.startswith("fake-req-") and got.trace_id and got.duration_ms >= 0

        found = await client.rest("/alibaba/icbu/product/search/v2", {"sku_code": "LOQ-5KG", "page_size": 20},
                                  access_token=token)
        assert [p["basic_info"]["product_id"] for p in found.data["result"]["product_info"]] == [product_id]

        listed = await client.sync("alibaba.icbu.product.list",
                                   {"language": "ENGLISH", "current_page": 1, "page_size": 10,
                                    "subject": "南岭 loquat"},
                                   session=token)
        assert listed.data["total_item"] == 0  # the UTF-8 subject was signed and filtered correctly
        listed = await client.sync("alibaba.icbu.product.list", {"language": "ENGLISH", "page_size": 10},
                                   session=token)
        assert listed.data["products"]["alibaba_product_brief_response"][0]["id"] == product_id
        assert listed.request_id

        await client.rest("/icbu/product/edit-inventory", {"product_id": product_id, "inventory": 7},
                          access_token=token)
        await client.rest("/alibaba/icbu/product/batch/update/status",
                          {"product_id_list": [product_id], "action": "online"}, access_token=token)
        status = await client.rest("/alibaba/icbu/product/status/get/v2", {"product_id": product_id},
                                   access_token=token)
        assert status.data["result"]["data"]["status"] == "online"
    assert fake_icbu.state.product(product_id).inventory == 7
    assert all(r.signature_ok for r in fake_icbu.state.requests)
    sent = fake_icbu.state.requests[0].params["product_info"]
    assert sent == json.dumps(LISTING, separators=(",", ":"), ensure_ascii=False)


async def test_wrong_secret_and_wrong_variant_are_signature_errors(fake_icbu: FakeIcbuServer) -> None:
    token = fake_icbu.state.issue_token()
    async with fake_icbu.client(app_secret="not-the-secret") as client:
        with pytest.raises(SignatureError) as info:
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=token)
        assert info.value.code == "IncompleteSignature" and info.value.request_id
        with pytest.raises(SignatureError):
            await client.sync("alibaba.icbu.product.list", {"language": "ENGLISH"}, session=token)
    # Path call signed without its prefix, /sync call signed with one: both rejected.
    base = {"app_key": fake_icbu.app_key, "sign_method": "sha256", "format": "json", "access_token": token}
    async with httpx.AsyncClient() as http:
        rest = {**base, "timestamp": str(int(time.time() * 1000)), "page_size": "5"}
        rest["sign"] = iop_sign(fake_icbu.app_secret, rest)
        reply = (await http.post(f"{fake_icbu.base_url}/rest/alibaba/icbu/product/search/v2", data=rest)).json()
        assert reply["code"] == "IncompleteSignature" and reply["type"] == "ISV"
        sync = {**base, "timestamp": str(int(time.time() * 1000)), "method": "alibaba.icbu.product.list",
                "language": "ENGLISH"}
        sync["sign"] = iop_sign(fake_icbu.app_secret, sync, "alibaba.icbu.product.list")
        reply = (await http.post(f"{fake_icbu.base_url}/sync", content=urlencode(sync),
                                 headers={"content-type": "application/x-www-form-urlencoded"})).json()
        assert reply["error_response"]["code"] == "IncompleteSignature"
        # ... while the iop-SDK style (bare /rest, method=<path>, prefix = path) is accepted.
        bare = {**base, "timestamp": str(int(time.time() * 1000)), "method": "/alibaba/icbu/product/search/v2"}
        bare["sign"] = iop_sign(fake_icbu.app_secret, bare, "/alibaba/icbu/product/search/v2")
        reply = (await http.post(f"{fake_icbu.base_url}/rest", data=bare)).json()
        assert reply["code"] == "0"
    assert [r.signature_ok for r in fake_icbu.state.requests] == [False, False, False, False, True]


async def test_business_errors_inside_code_zero(fake_icbu: FakeIcbuServer) -> None:
    token = fake_icbu.state.issue_token()
    async with fake_icbu.client() as client:
        product_id = await _create_listing(client, token)
        with pytest.raises(BusinessError) as info:
            await client.rest("/icbu/product/edit-price",
                              {"product_id": product_id, "price": {"currency": "USD", "price_type": "TIERED",
                                                                   "tiered_price": [{"quantity": 1, "price": "1.5"}]},
                               "sku_price": [{"sku_id": "1", "price": "1"}]}, access_token=token)
        assert type(info.value) is BusinessError
        assert info.value.code == "0" and info.value.msg_code == "B_PRICE_CONFLICT"
        with pytest.raises(BusinessError) as info:
            await client.rest("/alibaba/icbu/product/get/v2", {"product_id": "1"}, access_token=token)
        assert info.value.msg_code == "B_PRODUCT_NOT_FOUND" and info.value.request_id


async def test_in_audit(fake_icbu: FakeIcbuServer) -> None:
    fake_icbu.state.audit_seconds = 3600
    token = fake_icbu.state.issue_token()
    price = {"price_type": "TIERED", "currency": "USD", "tiered_price": [{"quantity": 1, "price": "11.00"}]}
    async with fake_icbu.client() as client:
        product_id = await _create_listing(client, token)
        with pytest.raises(InAudit) as info:
            await client.rest("/icbu/product/edit-price", {"product_id": product_id, "price": price},
                              access_token=token)
        assert info.value.msg_code == "PUB_BIZCHECK_PRODUCT_IN_AUDITING" and info.value.code == "0"
        status = await client.rest("/alibaba/icbu/product/status/get/v2", {"product_id": product_id},
                                   access_token=token)
        assert status.data["result"]["data"]["status"] == "pending"
        fake_icbu.state.approve(product_id)
        await client.rest("/icbu/product/edit-price", {"product_id": product_id, "price": price}, access_token=token)
        fake_icbu.state.advance(3601)  # the edit's own audit window passes
        assert fake_icbu.state.product(product_id).status == "approved"
        assert fake_icbu.state.product(product_id).price == price


async def test_rate_limited_with_wait(fake_icbu: FakeIcbuServer) -> None:
    fake_icbu.state.rate_limit = 2
    token = fake_icbu.state.issue_token()
    async with fake_icbu.client() as client:
        for _ in range(2):
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=token)
        with pytest.raises(RateLimited) as info:
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=token)
    assert info.value.code == "ApiCallLimit" and info.value.retry_after == 1


async def test_token_expired_and_permission_denied(fake_icbu: FakeIcbuServer) -> None:
    token = fake_icbu.state.issue_token()
    fake_icbu.state.deny("alibaba.icbu.product.list")
    async with fake_icbu.client() as client:
        with pytest.raises(PermissionDenied) as denied:
            await client.sync("alibaba.icbu.product.list", {"language": "ENGLISH"}, session=token)
        assert denied.value.code == "InsufficientPermission" and denied.value.api == "alibaba.icbu.product.list"
        fake_icbu.state.expire_token(token)
        with pytest.raises(TokenExpired) as expired:
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=token)
        assert expired.value.code == "IllegalAccessToken"
        with pytest.raises(TokenExpired):
            await client.sync("alibaba.icbu.product.get", {"product_id": "1"}, session=token)
        # A token that runs out by time.
        fresh = await client.create_token(fake_icbu.state.issue_code())
        fake_icbu.state.advance(fake_icbu.state.token_lifetime + 1)
        with pytest.raises(TokenExpired):
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=fresh.access_token)


def _errors_counted(api: str, kind: str) -> float:
    """``nanling_alibaba_call_errors_total`` of this process (``app.kit.metrics``)."""
    value = REGISTRY.get_sample_value("nanling_alibaba_call_errors_total", {"api": api, "kind": kind})
    return value or 0.0


async def test_timeouts_5xx_and_dropped_responses_are_unavailable(fake_icbu: FakeIcbuServer) -> None:
    search = "/alibaba/icbu/product/search/v2"
    counted = _errors_counted(search, "GatewayUnavailable")
    token = fake_icbu.state.issue_token()
    async with fake_icbu.client(timeout=0.3) as client:
        fake_icbu.state.timeout_next(1, seconds=1.0)
        with pytest.raises(GatewayUnavailable) as info:
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=token)
        assert info.value.code == "timeout"
        fake_icbu.state.fail_next(1, status=503)
        with pytest.raises(GatewayUnavailable) as info:
            await client.rest("/alibaba/icbu/product/search/v2", {}, access_token=token)
        assert info.value.http_status == 503
        fake_icbu.state.drop_response_next(1)
        with pytest.raises(GatewayUnavailable):
            await _create_listing(client, token)
    assert len(fake_icbu.state.products) == 1  # the create happened although the reply was lost
    assert _errors_counted(search, "GatewayUnavailable") == counted + 2  # in /metrics


async def test_on_call_records_hold_no_secrets(fake_icbu: FakeIcbuServer) -> None:
    records: list[CallRecord] = []
    async with fake_icbu.client(on_call=records.append) as client:
        code = fake_icbu.state.issue_code()
        token = await client.create_token(code)
        refreshed = await client.refresh_token(token.refresh_token)
        await _create_listing(client, refreshed.access_token)
        await client.sync("alibaba.icbu.product.list", {"language": "ENGLISH"}, session=refreshed.access_token)
        fake_icbu.state.expire_token()
        with pytest.raises(TokenExpired):
            await client.sync("alibaba.icbu.product.list", {"language": "ENGLISH"}, session=refreshed.access_token)
    assert [r.ok for r in records] == [True, True, True, True, False]
    assert records[-1].code == "IllegalAccessToken" and records[-1].request_id
    assert records[2].params["product_info"].startswith('{"basic_info"')
    assert records[0].params["app_key"] == fake_icbu.app_key
    text = repr(records)
    signs = [r.params["sign"] for r in fake_icbu.state.requests]
    for secret in [fake_icbu.app_secret, code, token.access_token, token.refresh_token, refreshed.access_token,
                   refreshed.refresh_token, *signs]:
        assert secret not in text


async def test_photobank_upload_and_external_images_refused(fake_icbu: FakeIcbuServer) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(buffer, "PNG")
    async with fake_icbu.client() as client:
        token = fake_icbu.state.issue_token()
        result = await client.sync("alibaba.icbu.photobank.upload", {"file_name": "loquat1.png"}, session=token,
                                   files={"image_bytes": ("loquat1.png", buffer.getvalue(), "image/png")})
        upload = result.data["upload_image_response"]
        assert upload["photobank_url"].startswith("//sc04.alicdn.com/kf/") and upload["file_id"]
        # The file part is not signed, and the signature still matched.
        assert fake_icbu.state.requests[-1].signature_ok
        with pytest.raises(BusinessError) as info:
            await client.sync("alibaba.icbu.photobank.upload", {"file_name": "bad-name!.png"}, session=token,
                              files={"image_bytes": ("x.png", buffer.getvalue(), "image/png")})
        assert info.value.code == "0" and info.value.msg_code == "EC_IMAGE_L_ARG_RQ"
        external = {**LISTING, "basic_info": {**LISTING["basic_info"],  # type: ignore[dict-item]
                                              "product_image": [{"image_url": "https://example.com/a.jpg"}]}}
        with pytest.raises(BusinessError) as info:
            await client.rest("/alibaba/icbu/product/listing/v2", {"product_info": external}, access_token=token)
        assert info.value.msg_code == "B_CONTAINS_INVALID_IMAGE"
