"""Sales channels and their policies: the one place that says how each channel sells.

Every order belongs to one ``SalesChannel``. What differs between channels is data in its
``ChannelPolicy`` — which price lists price it, how much shelf life a lot must still have to be
allocated to it (FEFO), where its stock comes from, how long an unpaid order holds stock, which
payment and delivery methods it offers, its Chinese label — and every module reads the policy
instead of testing a channel's name. (Saleor's ``Channel`` — allocation strategy, order expiry,
unpaid orders allowed — is the model.)

To add a channel: add a member here and its ``POLICIES`` entry (a test fails until the policy is
complete), then an ``ALTER TYPE order_channel ADD VALUE`` migration; orders of the new channel go
through ``app.orders.service`` like every other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from app.config import Settings, get_settings

# The codes of the two standing price lists (catalog data: ``price_lists.code``).
RETAIL_LIST = "retail"
WHOLESALE_LIST = "wholesale"


class SalesChannel(StrEnum):
    shop = "shop"  # the branded online shop (consumers)
    pos = "pos"  # the brand stores' counters
    wholesale = "wholesale"  # PRD wholesale buyers
    crossborder = "crossborder"  # Alibaba.com international station

    @property
    def policy(self) -> ChannelPolicy:
        return POLICIES[self]

    @property
    def label_zh(self) -> str:
        return POLICIES[self].label_zh


def _no_shelf_life_rule(_: Settings) -> Decimal:
    return Decimal(0)


def _keeping_shelf_life(settings: Settings) -> Decimal:
    return Decimal(settings.wholesale_min_shelf_life_percent) / 100


def _shop_hold(settings: Settings) -> timedelta | None:
    return timedelta(minutes=settings.reservation_ttl_minutes)


def _no_hold(_: Settings) -> timedelta | None:
    return None


def _bank_transfer_hold(_: Settings) -> timedelta | None:
    return timedelta(hours=48)


@dataclass(frozen=True)
class ChannelPolicy:
    label_zh: str
    # Price list codes that price the channel, in order of preference; empty: not priced by our
    # lists (cross-border prices are USD ladders kept on the listing).
    price_lists: tuple[str, ...]
    # A buyer company's own list comes before ``price_lists`` (wholesale agreements).
    company_price_list: bool
    # The share of a lot's shelf life that must remain for it to be sold here (FEFO skips the rest).
    min_shelf_life: Callable[[Settings], Decimal]
    # The kind of stock location the channel sells from (``supply.models.LocationKind`` value).
    stock_location_kind: str
    # How long an unpaid order holds its stock before it expires; None: the order never waits
    # unpaid (paid at once, or on account).
    unpaid_hold: Callable[[Settings], timedelta | None]
    # ``orders.models.PaymentMethod`` / ``DeliveryMethod`` values the channel offers.
    payment_methods: frozenset[str]
    delivery_methods: frozenset[str]
    # The per-line maximum of CART_MAX_LINE_QUANTITY applies (consumer quantities).
    line_maximums: bool

    def min_remaining_fraction(self, settings: Settings | None = None) -> Decimal:
        return self.min_shelf_life(settings or get_settings())

    def hold_for(self, settings: Settings | None = None) -> timedelta | None:
        return self.unpaid_hold(settings or get_settings())


POLICIES: dict[SalesChannel, ChannelPolicy] = {
    SalesChannel.shop: ChannelPolicy(
        label_zh="网店",
        price_lists=(RETAIL_LIST,),
        company_price_list=False,
        min_shelf_life=_no_shelf_life_rule,
        stock_location_kind="warehouse",
        unpaid_hold=_shop_hold,
        payment_methods=frozenset({"pay_at_pickup", "stripe"}),
        delivery_methods=frozenset({"station_pickup", "home_delivery"}),
        line_maximums=True,
    ),
    SalesChannel.pos: ChannelPolicy(
        label_zh="门店",
        price_lists=(RETAIL_LIST,),
        company_price_list=False,
        min_shelf_life=_no_shelf_life_rule,
        stock_location_kind="store",
        unpaid_hold=_no_hold,  # paid at the counter as it is sold
        payment_methods=frozenset({"pos_cash", "pos_qr"}),
        delivery_methods=frozenset({"counter"}),
        line_maximums=False,
    ),
    SalesChannel.wholesale: ChannelPolicy(
        label_zh="批发",
        price_lists=(WHOLESALE_LIST,),
        company_price_list=True,
        min_shelf_life=_keeping_shelf_life,
        stock_location_kind="warehouse",
        unpaid_hold=_bank_transfer_hold,  # a prepaid order waits two days for its bank transfer
        payment_methods=frozenset({"bank_transfer"}),
        delivery_methods=frozenset({"home_delivery"}),
        line_maximums=False,
    ),
    SalesChannel.crossborder: ChannelPolicy(
        label_zh="跨境",
        price_lists=(),
        company_price_list=False,
        min_shelf_life=_keeping_shelf_life,
        stock_location_kind="warehouse",
        unpaid_hold=_no_hold,  # Alibaba.com orders arrive paid through Trade Assurance
        payment_methods=frozenset(),
        delivery_methods=frozenset(),
        line_maximums=False,
    ),
}

CHANNEL_LABELS_ZH: dict[str, str] = {channel.value: channel.label_zh for channel in SalesChannel}
