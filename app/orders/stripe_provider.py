"""The Stripe payment provider (cards, Alipay, WeChat Pay) through stripe-python's async client.
Imported by ``providers.provider_from_settings`` only when Stripe is configured."""

from __future__ import annotations

from typing import Any

import stripe
from stripe.params import RefundCreateParams

from app.orders.providers import (
    BadSignature,
    Declined,
    IntentResult,
    ProviderEvent,
    ProviderUnavailable,
    RefundResult,
)


def _next_action(intent: Any) -> dict[str, Any] | None:
    action = getattr(intent, "next_action", None)
    if not action:
        return None
    kind = getattr(action, "type", None)
    if kind == "alipay_handle_redirect":
        return {"type": "redirect", "url": action.alipay_handle_redirect.url}
    if kind == "redirect_to_url":
        return {"type": "redirect", "url": action.redirect_to_url.url}
    if kind == "wechat_pay_display_qr_code":
        qr = action.wechat_pay_display_qr_code
        return {"type": "qr", "data": qr.data, "image_data_url": getattr(qr, "image_data_url", None)}
    return {"type": "client_secret", "client_secret": getattr(intent, "client_secret", None)}


def _result(intent: Any) -> IntentResult:
    error = getattr(intent, "last_payment_error", None)
    metadata = getattr(intent, "metadata", None)
    return IntentResult(
        external_id=intent.id,
        status=intent.status,
        amount_minor=int(intent.amount),
        currency=intent.currency.upper(),
        next_action=_next_action(intent) if intent.status == "requires_action" else None,
        failure_message=getattr(error, "message", "") or "" if error else "",
        metadata=metadata.to_dict() if metadata is not None and hasattr(metadata, "to_dict") else None,
    )


class StripeProvider:
    """PaymentIntents through stripe-python's async client (HTTPX, retries with the same
    idempotency key). Card payments are confirmed with a payment method the client tokenised with
    Stripe's SDK; Alipay answers with a redirect, WeChat Pay with a QR code."""

    def __init__(
        self, secret_key: str, webhook_secret: str, *, api_base: str | None = None, max_network_retries: int = 2
    ) -> None:
        self.http = stripe.HTTPXClient()
        options: dict[str, Any] = {"http_client": self.http, "max_network_retries": max_network_retries}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self.client = stripe.StripeClient(secret_key, **options)
        # A trailing newline in the environment is the classic cause of "no signatures found".
        self.webhook_secret = webhook_secret.strip()

    async def create_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        method: str,
        order_number: str,
        idempotency_key: str,
        payment_method_id: str | None,
        return_url: str | None,
    ) -> IntentResult:
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "metadata": {"order_number": order_number},
            "allowed_payment_method_types": [method],
        }
        if method == "card":
            if payment_method_id:
                params.update(payment_method=payment_method_id, confirm=True)
                if return_url:
                    params["return_url"] = return_url
        elif method == "alipay":
            params.update(payment_method_data={"type": "alipay"}, confirm=True, return_url=return_url)
        elif method == "wechat_pay":
            params.update(
                payment_method_data={"type": "wechat_pay"},
                confirm=True,
                payment_method_options={"wechat_pay": {"client": "web"}},
            )
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            intent_obj = getattr(exc.error, "payment_intent", None) if exc.error else None
            raise Declined(
                exc.user_message or "card_declined", _result(intent_obj) if intent_obj is not None else None
            ) from exc
        except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
            # Stripe refused this attempt (an unknown payment method, or the key of an attempt
            # whose earlier answer was lost reused with other parameters): the attempt is over,
            # and the next one gets a fresh key.
            raise Declined(getattr(exc, "user_message", None) or "支付请求被拒绝", None) from exc
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return _result(intent)

    async def retrieve_intent(self, external_id: str) -> IntentResult:
        try:
            return _result(await self.client.v1.payment_intents.retrieve_async(external_id))
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(str(exc)) from exc

    async def refund(
        self, *, external_id: str, amount_minor: int, idempotency_key: str, refund_id: int | None = None
    ) -> RefundResult:
        # Our refund id rides in the metadata: a refund webhook that arrives before the task has
        # stored Stripe's refund id still finds its row (see webhooks._apply).
        params: RefundCreateParams = {"payment_intent": external_id, "amount": amount_minor}
        if refund_id is not None:
            params["metadata"] = {"refund_id": str(refund_id)}
        try:
            try:
                refund = await self.client.v1.refunds.create_async(
                    params=params, options={"idempotency_key": idempotency_key}
                )
            except stripe.IdempotencyError:
                if "metadata" not in params:
                    raise
                # The first attempt under this key was sent before refunds carried metadata: the
                # same request without it replays that refund instead of "failing" a refund Stripe made.
                refund = await self.client.v1.refunds.create_async(
                    params={"payment_intent": external_id, "amount": amount_minor},
                    options={"idempotency_key": idempotency_key},
                )
        except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
            # e.g. charge_already_refunded: nothing will change by retrying; staff see it failed.
            return RefundResult(f"refused:{idempotency_key}", "failed", str(exc)[:200])
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return RefundResult(refund.id, refund.status or "pending")

    def parse_webhook(self, body: bytes, signature: str | None) -> ProviderEvent:
        if not signature:
            raise BadSignature("missing Stripe-Signature header")
        try:
            event = stripe.Webhook.construct_event(body, signature, self.webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise BadSignature(str(exc)) from exc
        obj = event.data.object if event.data else None
        return ProviderEvent(
            event_id=event.id, event_type=event.type, object_id=getattr(obj, "id", None), payload=event.to_dict()
        )

    async def close(self) -> None:
        await self.http.close_async()  # type: ignore[no-untyped-call]
