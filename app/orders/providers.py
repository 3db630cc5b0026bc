"""Payment providers behind one small interface. Only ``StripeProvider`` (``app.orders.stripe_provider``)
imports ``stripe``, and only when Stripe is configured: its SDK is some 11 MB of every web
worker's memory otherwise.

Stripe (cards and cross-border wallets: Alipay, WeChat Pay) is one provider; pay at pickup, POS
cash/QR and bank transfer need no outside call and are recorded by staff. Money in the
provider calls is integer minor units, CNY by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class IntentResult:
    external_id: str
    status: str  # the provider's own status word (Stripe: requires_action, succeeded, …)
    amount_minor: int
    currency: str
    next_action: dict[str, Any] | None
    failure_message: str = ""
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class RefundResult:
    external_id: str
    status: str  # pending | succeeded | failed | canceled | requires_action
    failure_message: str = ""


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    event_type: str
    object_id: str | None
    payload: dict[str, Any]


class Declined(Exception):
    def __init__(self, message: str, result: IntentResult | None) -> None:
        super().__init__(message)
        self.result = result


class ProviderUnavailable(Exception):
    """Network trouble or a provider-side error: the outcome is unknown; retry with the same key."""


class BadSignature(Exception):
    pass


class OnlinePaymentProvider(Protocol):
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
    ) -> IntentResult: ...

    async def retrieve_intent(self, external_id: str) -> IntentResult: ...

    async def refund(
        self, *, external_id: str, amount_minor: int, idempotency_key: str, refund_id: int | None = None
    ) -> RefundResult: ...

    def parse_webhook(self, body: bytes, signature: str | None) -> ProviderEvent: ...

    async def close(self) -> None: ...


def provider_from_settings(settings: Any) -> OnlinePaymentProvider | None:
    """Stripe when both its keys are set (``STRIPE_SECRET_KEY``, ``STRIPE_WEBHOOK_SECRET``), else
    none: online checkout is then hidden and pay-at-pickup still works."""
    if not settings.stripe_enabled:
        return None
    from app.orders.stripe_provider import StripeProvider

    return StripeProvider(
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_webhook_secret.get_secret_value(),
        api_base=settings.stripe_api_base,
    )
