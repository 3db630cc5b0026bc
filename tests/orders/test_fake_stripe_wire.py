"""The fake Stripe (tests/fixtures/fake_stripe.py) driven by the real stripe-python client over real HTTP.

These pin the fake to Stripe's wire protocol as the SDK speaks it, so tests of the app's Stripe
adapter against the fake mean something.
"""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any, cast
from urllib.parse import urlencode

import httpx
import pytest
import stripe
import zxingcpp
from PIL import Image
from stripe._encode import _api_encode
from stripe.params import PaymentIntentCreateParams

from tests.fixtures.fake_stripe import (  # noqa: F401  (fixtures are found by name)
    API_VERSION,
    FakeStripeServer,
    fake_stripe_fixture,
    fake_stripe_server_fixture,
    parse_form,
    sign_webhook,
    signed_webhook,
)

# stripe-python's HTTPXClient passes the form body as ``data=<str>``, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")

RETURN_URL = "https://shop.example/pay/return?order=NP-1"


def _params(**values: Any) -> PaymentIntentCreateParams:
    """Params as the SDK takes them (including ones its TypedDict no longer lists)."""
    return cast(PaymentIntentCreateParams, values)


def test_form_parsing_matches_the_sdk_encoder() -> None:
    params: dict[str, Any] = {
        "amount": 1234,
        "currency": "cny",
        "confirm": True,
        "capture": False,
        "allowed_payment_method_types": ["wechat_pay", "alipay"],
        "payment_method_data": {"type": "wechat_pay"},
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "metadata": {"order_number": "NP-1", "0": "true", "note": "南岭 & co = 1+1"},
        "items": [{"sku": "A", "qty": 2}, {"sku": "B", "tags": ["x", "y"]}],
        "skipped": None,
    }
    # Exactly what _api_requestor.py puts on the wire.
    raw = urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")
    assert "payment_method_options[wechat_pay][client]=web" in raw
    assert "allowed_payment_method_types[0]=wechat_pay" in raw

    assert parse_form(raw) == {
        "amount": "1234",
        "currency": "cny",
        "confirm": True,
        "capture": False,
        "allowed_payment_method_types": ["wechat_pay", "alipay"],
        "payment_method_data": {"type": "wechat_pay"},
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "metadata": {"order_number": "NP-1", "0": "true", "note": "南岭 & co = 1+1"},
        "items": [{"sku": "A", "qty": "2"}, {"sku": "B", "tags": ["x", "y"]}],
    }
    assert parse_form("metadata=") == {"metadata": ""}
    assert parse_form("a[]=x&a[]=y") == {"a": ["x", "y"]}


async def test_card_payment_succeeds(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={
                "amount": 1234,
                "currency": "cny",
                "metadata": {"order_number": "NP-1"},
                "allowed_payment_method_types": ["card"],
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        again = await client.v1.payment_intents.retrieve_async(pi.id)

    assert isinstance(pi, stripe.PaymentIntent)
    assert pi.object == "payment_intent" and pi.id.startswith("pi_")
    assert pi.status == "succeeded" and again.status == "succeeded"
    assert pi.amount == 1234 and pi.amount_received == 1234 and pi.currency == "cny"
    assert pi.client_secret is not None and pi.client_secret.startswith(f"{pi.id}_secret_")
    assert isinstance(pi.latest_charge, str) and pi.latest_charge.startswith("ch_")
    assert isinstance(pi.payment_method, str) and pi.payment_method.startswith("pm_")
    assert pi.metadata.to_dict() == {"order_number": "NP-1"}
    assert pi.next_action is None and pi.last_payment_error is None and pi.livemode is False
    assert pi.payment_method_types == ["card"]
    assert pi.last_response is not None and (pi.last_response.request_id or "").startswith("req_")

    create, retrieve = fake_stripe.state.requests
    assert (create.method, create.path, create.status, create.outcome) == (
        "POST",
        "/v1/payment_intents",
        200,
        "executed",
    )
    assert create.params == {
        "amount": "1234",
        "currency": "cny",
        "metadata": {"order_number": "NP-1"},
        "allowed_payment_method_types": ["card"],
        "payment_method": "pm_card_visa",
        "confirm": True,
    }
    assert create.stripe_version == API_VERSION
    assert create.idempotency_key  # the SDK adds one to every POST
    assert (retrieve.method, retrieve.path, retrieve.idempotency_key) == ("GET", f"/v1/payment_intents/{pi.id}", None)
    assert [e["type"] for e in fake_stripe.state.events] == ["payment_intent.created", "payment_intent.succeeded"]


async def test_card_decline_raises_card_error_and_keeps_the_intent(fake_stripe: FakeStripeServer) -> None:
    declined_params = _params(amount=500, currency="cny", payment_method="pm_card_chargeDeclined", confirm=True)
    async with fake_stripe.stripe_client() as client:
        with pytest.raises(stripe.CardError) as caught:
            await client.v1.payment_intents.create_async(
                params=declined_params, options={"idempotency_key": "order:6:pi:1"}
            )
        error = caught.value
        assert error.http_status == 402 and error.code == "card_declined"
        assert error.error is not None and error.error.decline_code == "generic_decline"
        declined = error.error.payment_intent
        assert declined is not None and declined.status == "requires_payment_method"
        pi = await client.v1.payment_intents.retrieve_async(declined.id)
        # The decline began execution, so it is stored: the same key replays it (no second intent).
        with pytest.raises(stripe.CardError) as replayed:
            await client.v1.payment_intents.create_async(
                params=declined_params, options={"idempotency_key": "order:6:pi:1"}
            )
        assert replayed.value.error is not None and replayed.value.error.payment_intent is not None
        assert replayed.value.error.payment_intent.id == declined.id
        with pytest.raises(stripe.InvalidRequestError) as nowhere:
            await client.raw_request_async("get", "/v1/charges")
        assert nowhere.value.http_status == 404
        assert (nowhere.value.headers or {}).get("request-id", "").startswith("req_")

    assert pi.status == "requires_payment_method" and pi.payment_method is None and pi.amount_received == 0
    assert pi.last_payment_error is not None
    assert (pi.last_payment_error.type, pi.last_payment_error.code) == ("card_error", "card_declined")
    assert pi.last_payment_error.decline_code == "generic_decline"
    assert len(fake_stripe.state.payment_intents) == 1


async def test_card_3ds_requires_action_then_completes(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={
                "amount": 800,
                "currency": "cny",
                "payment_method": "pm_card_threeDSecure2Required",
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
        assert pi.status == "requires_action"
        assert pi.next_action is not None and pi.next_action.type == "redirect_to_url"
        assert pi.next_action.redirect_to_url is not None
        assert pi.next_action.redirect_to_url.return_url == RETURN_URL
        url = pi.next_action.redirect_to_url.url
        assert url is not None and url.startswith(fake_stripe.base_url)

        # Without a return_url, Stripe.js handles the challenge.
        sdk = await client.v1.payment_intents.create_async(
            params={
                "amount": 800,
                "currency": "cny",
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
            }
        )
        assert sdk.next_action is not None and sdk.next_action.type == "use_stripe_sdk"

        # The buyer passes the challenge on the fake's page: redirected back the way Stripe does it.
        async with httpx.AsyncClient() as browser:
            page = await browser.get(url, params={"outcome": "succeed"})
        assert page.status_code == 302
        location = page.headers["location"]
        assert location.startswith(RETURN_URL + "&") and f"payment_intent={pi.id}" in location
        assert "redirect_status=succeeded" in location

        fake_stripe.state.fail(sdk.id)
        done = await client.v1.payment_intents.retrieve_async(pi.id)
        failed = await client.v1.payment_intents.retrieve_async(sdk.id)

    assert done.status == "succeeded" and done.amount_received == 800
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"


async def test_alipay_redirect(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={
                "amount": 1999,
                "currency": "cny",
                "allowed_payment_method_types": ["alipay"],
                "payment_method_data": {"type": "alipay"},
                "confirm": True,
                "return_url": RETURN_URL,
                "metadata": {"order_number": "NP-2"},
            }
        )
        assert pi.status == "requires_action"
        assert pi.next_action is not None and pi.next_action.type == "alipay_handle_redirect"
        redirect = pi.next_action.alipay_handle_redirect
        assert redirect is not None and redirect.return_url == RETURN_URL
        assert redirect.url is not None and redirect.url.startswith("http")

        with pytest.raises(stripe.InvalidRequestError) as no_return_url:
            await client.v1.payment_intents.create_async(
                params={"amount": 1999, "currency": "cny", "payment_method_data": {"type": "alipay"}, "confirm": True}
            )
        assert no_return_url.value.param == "return_url"

        paid = fake_stripe.state.complete(pi.id)
        after = await client.v1.payment_intents.retrieve_async(pi.id)

    assert paid["status"] == after.status == "succeeded" and after.next_action is None
    event = fake_stripe.state.events[-1]
    assert event["type"] == "payment_intent.succeeded" and event["data"]["object"]["id"] == pi.id
    assert len(fake_stripe.state.payment_intents) == 1


async def test_wechat_pay_qr_code(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={
                "amount": 4200,
                "currency": "cny",
                "allowed_payment_method_types": ["wechat_pay"],
                "payment_method_data": {"type": "wechat_pay"},
                "payment_method_options": {"wechat_pay": {"client": "web"}},
                "confirm": True,
            }
        )
        assert pi.status == "requires_action"
        assert pi.next_action is not None and pi.next_action.type == "wechat_pay_display_qr_code"
        qr = pi.next_action.wechat_pay_display_qr_code
        assert qr is not None and qr.data.startswith("weixin://")
        for url in (qr.hosted_instructions_url, qr.image_url_png, qr.image_url_svg):
            assert url.startswith(fake_stripe.base_url)
        prefix = "data:image/png;base64,"
        assert qr.image_data_url.startswith(prefix)
        png = base64.b64decode(qr.image_data_url.removeprefix(prefix))
        decoded = zxingcpp.read_barcode(Image.open(io.BytesIO(png)))
        assert decoded is not None and decoded.text == qr.data  # a real, scannable QR code
        async with httpx.AsyncClient() as browser:
            image = await browser.get(qr.image_url_png)
        assert image.status_code == 200 and image.content == png

        with pytest.raises(stripe.InvalidRequestError) as no_client:
            await client.v1.payment_intents.create_async(
                params={
                    "amount": 4200,
                    "currency": "cny",
                    "payment_method_data": {"type": "wechat_pay"},
                    "confirm": True,
                }
            )
        assert no_client.value.http_status == 400
        assert no_client.value.param == "payment_method_options[wechat_pay][client]"

        fake_stripe.state.fail(pi.id)  # e.g. the QR code expired
        expired = await client.v1.payment_intents.retrieve_async(pi.id)
    assert expired.status == "requires_payment_method" and expired.next_action is None
    assert len(fake_stripe.state.payment_intents) == 1


async def test_refunds_full_and_partial(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        card = await client.v1.payment_intents.create_async(
            params={"amount": 1000, "currency": "cny", "payment_method": "pm_card_visa", "confirm": True}
        )
        partial = await client.v1.refunds.create_async(
            params={"payment_intent": card.id, "amount": 300}, options={"idempotency_key": "refund:1"}
        )
        assert isinstance(partial, stripe.Refund)
        assert (partial.object, partial.amount, partial.status, partial.payment_intent) == (
            "refund",
            300,
            "succeeded",
            card.id,
        )
        assert partial.id.startswith("re_") and partial.charge == card.latest_charge

        with pytest.raises(stripe.InvalidRequestError) as too_large:
            await client.v1.refunds.create_async(params={"payment_intent": card.id, "amount": 701})
        assert (too_large.value.code, too_large.value.param) == ("amount_too_large", "amount")

        rest = await client.v1.refunds.create_async(params={"payment_intent": card.id})  # defaults to what remains
        assert (rest.amount, rest.status) == (700, "succeeded")

        with pytest.raises(stripe.InvalidRequestError) as already:
            await client.v1.refunds.create_async(params={"payment_intent": card.id, "amount": 1})
        assert already.value.code == "charge_already_refunded"

        # Wallet refunds stay pending until Stripe settles them.
        wallet = await client.v1.payment_intents.create_async(
            params={
                "amount": 2000,
                "currency": "cny",
                "payment_method_data": {"type": "alipay"},
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
        fake_stripe.state.complete(wallet.id)
        pending = await client.v1.refunds.create_async(params={"payment_intent": wallet.id})
        assert (pending.amount, pending.status) == (2000, "pending")
        fake_stripe.state.settle_refund(pending.id)
        settled = await client.v1.refunds.retrieve_async(pending.id)
        assert settled.status == "succeeded"

        failing = await client.v1.payment_intents.create_async(
            params={
                "amount": 900,
                "currency": "cny",
                "payment_method_data": {"type": "wechat_pay"},
                "confirm": True,
                "payment_method_options": {"wechat_pay": {"client": "web"}},
            }
        )
        fake_stripe.state.complete(failing.id)
        first = await client.v1.refunds.create_async(params={"payment_intent": failing.id})
        fake_stripe.state.settle_refund(first.id, ok=False)
        assert (await client.v1.refunds.retrieve_async(first.id)).status == "failed"
        second = await client.v1.refunds.create_async(params={"payment_intent": failing.id})  # refundable again
        assert second.amount == 900

    types = [e["type"] for e in fake_stripe.state.events if e["type"].startswith("refund.")]
    assert types.count("refund.created") == 5 and "refund.failed" in types


async def test_update_and_cancel(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={"amount": 1000, "currency": "cny", "metadata": {"order_number": "NP-3", "drop": "me"}}
        )
        assert pi.status == "requires_payment_method"
        updated = await client.v1.payment_intents.update_async(
            pi.id, params={"amount": 1500, "metadata": {"attempt": "2", "drop": ""}}
        )
        assert updated.amount == 1500
        assert updated.metadata.to_dict() == {"order_number": "NP-3", "attempt": "2"}
        confirmed = await client.v1.payment_intents.confirm_async(pi.id, params={"payment_method": "pm_card_visa"})
        assert confirmed.status == "succeeded" and confirmed.amount_received == 1500
        with pytest.raises(stripe.InvalidRequestError) as late:
            await client.v1.payment_intents.update_async(pi.id, params={"amount": 1})
        assert late.value.code == "payment_intent_unexpected_state"

        other = await client.v1.payment_intents.create_async(params={"amount": 100, "currency": "cny"})
        canceled = await client.v1.payment_intents.cancel_async(other.id, params={"cancellation_reason": "abandoned"})
        assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
        with pytest.raises(stripe.InvalidRequestError) as missing:
            await client.v1.payment_intents.retrieve_async("pi_does_not_exist")
        assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


async def test_idempotent_create_replays_the_same_intent(fake_stripe: FakeStripeServer) -> None:
    params = _params(amount=2500, currency="cny", metadata={"order_number": "NP-4"})
    async with fake_stripe.stripe_client() as client:
        first = await client.v1.payment_intents.create_async(params=params, options={"idempotency_key": "order:4:pi:1"})
        second = await client.v1.payment_intents.create_async(
            params=params, options={"idempotency_key": "order:4:pi:1"}
        )
    assert second.id == first.id
    assert second.last_response is not None and second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake_stripe.state.payment_intents) == 1
    assert [r.outcome for r in fake_stripe.state.requests] == ["executed", "replayed"]


async def test_idempotency_key_with_other_params_or_endpoint_is_refused(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={"amount": 2500, "currency": "cny", "payment_method": "pm_card_visa", "confirm": True},
            options={"idempotency_key": "order:5:pi:1"},
        )
        with pytest.raises(stripe.IdempotencyError) as other_params:
            await client.v1.payment_intents.create_async(
                params={"amount": 2600, "currency": "cny"}, options={"idempotency_key": "order:5:pi:1"}
            )
        assert other_params.value.http_status == 400
        assert "same parameters" in str(other_params.value)
        with pytest.raises(stripe.IdempotencyError) as other_endpoint:
            await client.v1.refunds.create_async(
                params={"payment_intent": pi.id}, options={"idempotency_key": "order:5:pi:1"}
            )
        assert "same endpoint" in str(other_endpoint.value)
    assert len(fake_stripe.state.payment_intents) == 1 and not fake_stripe.state.refunds


async def test_server_error_is_retried_with_the_same_key(fake_stripe: FakeStripeServer) -> None:
    fake_stripe.state.fail_next(1, 500)
    async with fake_stripe.stripe_client(max_network_retries=2) as client:
        pi = await client.v1.payment_intents.create_async(params={"amount": 300, "currency": "cny"})
    failed, retried = fake_stripe.state.requests
    assert (failed.status, failed.outcome) == (500, "injected")
    assert (retried.status, retried.outcome) == (200, "executed")
    assert failed.idempotency_key is not None and retried.idempotency_key == failed.idempotency_key
    assert list(fake_stripe.state.payment_intents) == [pi.id]


async def test_should_retry_header_is_obeyed(fake_stripe: FakeStripeServer) -> None:
    fake_stripe.state.fail_next(1, 503, should_retry=False)
    async with fake_stripe.stripe_client(max_network_retries=2) as client:
        with pytest.raises(stripe.APIError) as caught:
            await client.v1.payment_intents.create_async(params={"amount": 300, "currency": "cny"})
    assert caught.value.http_status == 503
    assert len(fake_stripe.state.requests) == 1 and not fake_stripe.state.payment_intents


async def test_dropped_response_is_retried_and_replayed_without_a_duplicate(fake_stripe: FakeStripeServer) -> None:
    fake_stripe.state.drop_response_next(1)
    async with fake_stripe.stripe_client(max_network_retries=2) as client:
        pi = await client.v1.payment_intents.create_async(
            params={"amount": 4100, "currency": "cny", "payment_method": "pm_card_visa", "confirm": True}
        )
    lost, replay = fake_stripe.state.requests
    assert (lost.outcome, lost.dropped) == ("executed", True)
    assert (replay.outcome, replay.dropped) == ("replayed", False)
    assert replay.idempotency_key == lost.idempotency_key is not None
    assert list(fake_stripe.state.payment_intents) == [pi.id] and pi.status == "succeeded"


async def test_dropped_response_without_retries_is_a_connection_error(fake_stripe: FakeStripeServer) -> None:
    fake_stripe.state.drop_response_next(1)
    async with fake_stripe.stripe_client(max_network_retries=0) as client:
        with pytest.raises(stripe.APIConnectionError):
            await client.v1.payment_intents.create_async(params={"amount": 4100, "currency": "cny"})
    assert len(fake_stripe.state.payment_intents) == 1  # the server did the work all the same


async def test_validation_errors(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        with pytest.raises(stripe.InvalidRequestError) as old_param:
            await client.v1.payment_intents.create_async(
                params=_params(amount=1000, currency="cny", payment_method_types=["card"])
            )
        assert old_param.value.code == "payment_method_types_no_longer_supported"
        assert old_param.value.param == "payment_method_types"

        for amount in (None, 0, -5, 100_000_000):
            with pytest.raises(stripe.InvalidRequestError) as bad_amount:
                await client.v1.payment_intents.create_async(params=_params(amount=amount, currency="cny"))
            assert (bad_amount.value.http_status, bad_amount.value.param) == (400, "amount")
            assert bad_amount.value.error is not None and bad_amount.value.error.type == "invalid_request_error"
        biggest = await client.v1.payment_intents.create_async(params={"amount": 99_999_999, "currency": "cny"})
        assert biggest.amount == 99_999_999

        with pytest.raises(stripe.InvalidRequestError) as no_currency:
            await client.v1.payment_intents.create_async(params=_params(amount=100))
        assert (no_currency.value.code, no_currency.value.param) == ("parameter_missing", "currency")

        with pytest.raises(stripe.InvalidRequestError) as unknown:
            await client.v1.payment_intents.create_async(params=_params(amount=100, currency="cny", amout=5))
        assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "amout")

        with pytest.raises(stripe.InvalidRequestError) as not_modelled:
            await client.v1.payment_intents.create_async(params={"amount": 100, "currency": "cny", "expand": ["x"]})
        assert not_modelled.value.code == "fake_stripe_not_implemented"

    # Validation failures are not stored against the idempotency key, nothing was created but `biggest`.
    assert len(fake_stripe.state.payment_intents) == 1


async def test_bad_api_key_is_an_authentication_error(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client(api_key="sk_test_wrong") as client:
        with pytest.raises(stripe.AuthenticationError) as caught:
            await client.v1.payment_intents.create_async(params={"amount": 100, "currency": "cny"})
    assert caught.value.http_status == 401
    assert not fake_stripe.state.payment_intents
    (request,) = fake_stripe.state.requests
    assert (request.status, request.outcome) == (401, "rejected")


def test_webhook_signature_reference_vector() -> None:
    secret = "whsec_test_secret"
    body = '{"id":"evt_test_1","object":"event","type":"payment_intent.succeeded"}'
    expected = "t=1700000000,v1=871acfe933554b446cc41d791076dd56a10c0553cc61aafbeb881d0082b45043"
    assert sign_webhook(body, secret, timestamp=1700000000) == expected
    assert stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=1700000000) == expected
    # tolerance=0 switches the timestamp check off (the vector's t is long past).
    assert stripe.Webhook.construct_event(body, expected, secret, tolerance=0).id == "evt_test_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(json.dumps(json.loads(body)), expected, secret, tolerance=0)


async def test_events_sign_and_verify_with_the_sdk(fake_stripe: FakeStripeServer) -> None:
    async with fake_stripe.stripe_client() as client:
        pi = await client.v1.payment_intents.create_async(
            params={
                "amount": 700,
                "currency": "cny",
                "payment_method_data": {"type": "alipay"},
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
    event = fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi.id))
    assert event["id"].startswith("evt_") and event["api_version"] == API_VERSION and event["livemode"] is False
    assert abs(event["created"] - time.time()) < 60
    body, headers = signed_webhook(event, "whsec_shop")
    verified = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_shop")
    assert verified.type == "payment_intent.succeeded"
    obj = verified.data.object
    assert isinstance(obj, stripe.PaymentIntent) and obj.id == pi.id and obj.status == "succeeded"
