"""A shop customer's own personal data (PIPL, 个人信息保护法): the export of everything the
platform holds about them, and the deletion (注销) of their account.

**Export** (:func:`export_customer_data`): their profile, every order placed while signed in (with
its contact, delivery, lines, amounts and payments) and every notice sent to them — to their
profile's number or about one of their orders. Times are China time. Pickup codes, order links
and sign-in codes inside the notices are masked as the ops console masks them: the export is a
record, not a second way to collect a parcel.

**Deletion** (:func:`erase_customer`): refused while an order is under way (pending payment,
confirmed, waiting at a station) — the station still has to hand it over and the centre may have
to refund it. Otherwise, in the caller's one transaction:

- the account: name ``已注销用户``, no phone, username ``deleted-<id>``, a password that matches
  nothing, deactivated; every page session and API token ends, sign-in codes to its number go;
- its orders keep what the accounts need (number, channel, dates, lines, amounts, payments,
  refunds, station, events) but the contact becomes ``已注销用户`` with the placeholder phone
  ``deleted-<id>`` (``app.kit.personal``: never a number, so no SMS, guest look-up or pickup check
  matches it) and a home-delivery address keeps its province and city only; each order gets an
  event ``customer_data_anonymised``;
- its notices: recipient masked, secrets and numbers out of the body, unsent ones never sent;
- one ``account_erasures`` row says who asked and when (the audit; the user row no longer can).

Doing it again changes nothing and answers the first erasure (idempotent): the row exists.
Services only flush; the request commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts_repository
from app.accounts.models import AccountErasure, Role, TokenKind, User
from app.kit import clock
from app.kit.personal import ERASED_NAME, erased_phone
from app.notifications import service as notifications
from app.notifications.models import NotificationMessage
from app.notifications.templates import mask_secrets
from app.orders import errors, repository
from app.orders.models import Order, OrderEvent, OrderStatus

log = logging.getLogger(__name__)

# Orders still under way: the customer finishes or cancels them before the account can go.
OPEN_STATUSES = frozenset({OrderStatus.pending_payment, OrderStatus.confirmed, OrderStatus.ready_for_pickup})
ERASURE_CONFIRMATION = "注销"
# A password hash argon2 cannot parse: verification fails for every password (``security``).
UNUSABLE_PASSWORD = "!erased"  # noqa: S105 - a marker that matches no password, not a secret
# What a home-delivery address keeps: the region the fee and the county's figures were counted in.
KEPT_ADDRESS_FIELDS = ("province", "city", "area")
ANONYMISED_EVENT = "customer_data_anonymised"


async def _customer(session: AsyncSession, user_id: int, *, for_update: bool = False) -> User:
    user = await (accounts_repository.user_for_update if for_update else accounts_repository.user_by_id)(
        session, user_id
    )
    if user is None or user.role is not Role.customer:
        # The routes admit only customers; a staff account's data is the employer's business.
        raise errors.OrderAccessDenied("只有顾客账户可以导出或注销个人信息")
    return user


def _local(instant: datetime | None) -> str | None:
    return instant.astimezone(clock.business_tz()).isoformat() if instant is not None else None


def _order_record(order: Order) -> dict[str, Any]:
    station = order.station
    return {
        "number": order.number,
        "channel": order.channel.value,
        "placed_at": _local(order.placed_at),
        "status": order.status.value,
        "status_zh": OrderStatus(order.status).label_zh,
        "payment_status": order.payment_status.value,
        "fulfilment_status": order.fulfilment_status.value,
        "currency": order.currency,
        "subtotal_minor": order.subtotal_minor,
        "discount_minor": order.discount_minor,
        "delivery_fee_minor": order.delivery_fee_minor,
        "total_minor": order.total_minor,
        "paid_minor": order.paid_minor,
        "refunded_minor": order.refunded_minor,
        "payment_method": order.payment_method.value,
        "delivery": {
            "method": order.delivery_method.value,
            "station": {"code": station.code, "name": station.name} if station is not None else None,
            "address": order.delivery_address,
        },
        "contact": {"name": order.contact_name, "phone": order.contact_phone},
        "note": order.note,
        "lines": [
            {
                "sku": line.sku,
                "name_zh": line.name_zh,
                "unit": line.unit,
                "quantity": str(line.quantity),
                "unit_price_minor": line.unit_price_minor,
                "line_total_minor": line.line_total_minor,
            }
            for line in order.lines
        ],
        "payments": [
            {
                "method": payment.method,
                "state": payment.state.value,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "succeeded_at": _local(payment.succeeded_at),
            }
            for payment in order.payments
        ],
    }


def _message_record(message: NotificationMessage) -> dict[str, Any]:
    return {
        "created_at": _local(message.created_at),
        "sent_at": _local(message.sent_at),
        "channel": message.channel.value,
        "recipient": message.recipient,
        "template": message.template,
        "reference": message.reference,
        "status": message.status.value,
        "body": mask_secrets(message.body, message.params),
    }


def _their_phones(user: User, orders: list[Order] | tuple[Order, ...]) -> list[str]:
    return sorted({p for p in [user.phone, *(o.contact_phone for o in orders)] if p})


async def export_customer_data(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything held about this customer, as one JSON-ready document (see the module docstring)."""
    user = await _customer(session, user_id)
    orders = tuple(await repository.orders_of_customer(session, user_id))
    messages = await notifications.messages_about(
        session, recipients=[user.phone] if user.phone else [], references=[o.number for o in orders]
    )
    return {
        "exported_at": _local(clock.now()),
        "profile": {
            "username": user.username,
            "display_name": user.display_name,
            "phone": user.phone,
            "role": user.role.value,
            "created_at": _local(user.created_at),
            "last_login_at": _local(user.last_login_at),
        },
        "orders": [_order_record(order) for order in orders],
        "notifications": [_message_record(message) for message in messages],
    }


@dataclass(frozen=True)
class Erasure:
    user_id: int
    erased_at: datetime
    orders_anonymised: int
    messages_anonymised: int


def _anonymise_order(order: Order, user_id: int, now: datetime) -> OrderEvent:
    order.contact_name = ERASED_NAME
    order.contact_phone = erased_phone(user_id)
    if address := order.delivery_address:
        order.delivery_address = {k: address[k] for k in KEPT_ADDRESS_FIELDS if k in address}
    return OrderEvent(
        order_id=order.id,
        created_at=now,
        kind=ANONYMISED_EVENT,
        actor_user_id=user_id,
        message_zh="顾客注销账户：联系人、手机号和详细地址已匿名化",
        detail={},
    )


async def erase_customer(session: AsyncSession, user_id: int, *, actor_user_id: int, confirmation: str) -> Erasure:
    """Delete (anonymise) a customer's account and personal data in one transaction (see the
    module docstring). ``confirmation`` must be ``注销``: the form's second step, typed by hand.

    Raises :class:`~app.orders.errors.ErasureNotConfirmed` (422) and
    :class:`~app.orders.errors.AccountHasOpenOrders` (409, naming the orders) and changes nothing then.
    """
    if confirmation.strip() != ERASURE_CONFIRMATION:
        raise errors.ErasureNotConfirmed()
    # The user row locked first: two deletions of the same account run one after the other, and
    # the second finds the first's record.
    user = await _customer(session, user_id, for_update=True)
    done = await accounts_repository.erasure_of(session, user_id)
    if done is not None:
        return Erasure(user_id, done.erased_at, done.orders_anonymised, done.messages_anonymised)
    orders = list(await repository.orders_of_customer(session, user_id, for_update=True))
    open_orders = [o.number for o in orders if o.status in OPEN_STATUSES]
    if open_orders:
        raise errors.AccountHasOpenOrders(detail={"orders": open_orders})
    now = clock.now()
    phones = _their_phones(user, orders)
    messages = await notifications.messages_about(
        session, recipients=phones, references=[o.number for o in orders], for_update=True
    )
    for message in messages:
        notifications.anonymise_message(message, phones)
    for order in orders:
        session.add(_anonymise_order(order, user_id, now))
    if user.phone:
        await accounts_repository.delete_login_codes(session, user.phone)
    await accounts_repository.end_sessions_of(session, user_id, now)
    for kind in TokenKind:
        await accounts_repository.revoke_tokens_of(session, user_id, now, kind=kind)
    user.display_name = ERASED_NAME
    user.phone = None
    user.username = f"deleted-{user_id}"
    user.password_hash = UNUSABLE_PASSWORD
    user.pin_hash = None
    user.is_active = False
    record = await accounts_repository.add_erasure(
        session,
        AccountErasure(
            user_id=user_id,
            actor_user_id=actor_user_id,
            erased_at=now,
            orders_anonymised=len(orders),
            messages_anonymised=len(messages),
        ),
    )
    await session.flush()
    log.info(
        "account %s erased at its customer's request: %s orders, %s notices anonymised",
        user_id,
        len(orders),
        len(messages),
    )
    return Erasure(user_id, record.erased_at, record.orders_anonymised, record.messages_anonymised)
