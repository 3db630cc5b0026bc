"""The one pricing function every channel uses (shop, POS, wholesale).

Server-side prices only: callers pass SKUs and quantities; whatever price a client sent is never
read. For each line the applicable price-list item is found (wholesale: the buyer company's own
list wins over the wholesale list; shop and POS: the retail list), the quantity is checked against
the minimum order quantity and the order increment, the highest tier whose threshold the quantity
reaches sets the unit price, and the line total is rounded once to the fen.

The shop channel also caps each line (``CART_MAX_LINE_QUANTITY``, per unit of sale): a consumer
cart or order of 99,999,999 pieces or 100,000 kg is a typo or a probe, never a purchase, and is
refused with the maximum named — at add-to-cart, in the cart, at checkout and in the order API
alike, since they all price here. Wholesale and POS lines are not capped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import errors, repository
from app.catalog.models import PriceListItem, PriceListKind, Variant
from app.catalog.repository import PriceCandidate
from app.channels import SalesChannel
from app.config import get_settings
from app.kit.money import line_total_minor
from app.kit.quantities import QuantityError, Unit, format_quantity, is_multiple_of, parse_quantity


@dataclass(frozen=True)
class PriceRule:
    """Which rule set the price: list, kind and, when a tier applied, its threshold."""

    price_list_code: str
    price_list_kind: PriceListKind
    tier_min_quantity: Decimal | None

    @property
    def description_zh(self) -> str:
        base = self.price_list_kind.label_zh
        if self.tier_min_quantity is None:
            return base
        return f"{base}（满 {format_quantity(self.tier_min_quantity)} 阶梯价）"


@dataclass(frozen=True)
class PricedLine:
    variant_id: int
    sku: str
    quantity: Decimal
    unit: Unit
    unit_price_minor: int
    line_total_minor: int
    currency: str
    rule: PriceRule
    min_quantity: Decimal
    increment: Decimal
    # What the order line is called ("product variant") and the product's shelf life in days (FEFO's
    # minimum best-before), read with the variant so that placing the order need not read them again.
    name_zh: str = ""
    shelf_life_days: int | None = None


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: str | Decimal


def unit_price_for(item: PriceListItem, quantity: Decimal) -> tuple[int, Decimal | None]:
    """Base price, or the price of the highest tier the quantity reaches (and that tier's threshold)."""
    price, threshold = item.unit_price_minor, None
    for tier in sorted(item.tiers, key=lambda t: t.min_quantity):
        if quantity >= tier.min_quantity:
            price, threshold = tier.unit_price_minor, tier.min_quantity
    return price, threshold


def check_quantity(item: PriceListItem, quantity: Decimal) -> type[errors.PricingError] | None:
    if quantity <= 0:
        return errors.QuantityNotPositive
    if quantity < item.min_quantity:
        return errors.BelowMinimumOrder
    if not is_multiple_of(quantity, item.increment):
        return errors.QuantityNotInIncrement
    return None


def _line_problem(
    index: int, sku: str, error: type[errors.PricingError], message: str | None = None
) -> dict[str, object]:
    return {"line": index, "sku": sku, "error": error.code, "message": message or error.message}


async def price_lines(
    session: AsyncSession,
    lines: Sequence[LineRequest],
    *,
    channel: SalesChannel,
    company_id: int | None = None,
    variants: Mapping[str, Variant] | None = None,
) -> list[PricedLine]:
    """Price every line or refuse them all, naming each bad line (``detail`` of the error), by the
    channel's policy: its price lists (a buyer company's own first, where the policy says so) and
    its per-line maximums. ``variants``: the lines' variants by SKU when the caller has read them
    already (active, of active products, with their products loaded); else they are read here."""
    policy = channel.policy
    parsed: list[tuple[int, str, Decimal | None]] = []
    problems: list[dict[str, object]] = []
    for index, line in enumerate(lines):
        try:
            parsed.append((index, line.sku, parse_quantity(line.quantity)))
        except QuantityError as exc:
            parsed.append((index, line.sku, None))
            problems.append(_line_problem(index, line.sku, errors.InvalidQuantity, str(exc)))

    if variants is None:
        variants = await repository.active_variants_by_sku(session, [sku for _, sku, _ in parsed])
    items = await repository.price_items_for(
        session,
        [v.id for v in variants.values()],
        list_codes=list(policy.price_lists),
        company_id=company_id if policy.company_price_list else None,
    )

    maximums = get_settings().cart_line_maximums if policy.line_maximums else {}
    priced: list[PricedLine] = []
    for index, sku, quantity in parsed:
        if quantity is None:
            continue
        variant = variants.get(sku)
        if variant is None:
            problems.append(_line_problem(index, sku, errors.UnknownSku))
            continue
        item = _pick_item(items.get(variant.id, []))
        if item is None:
            problems.append(_line_problem(index, sku, errors.NotForSale))
            continue
        problem = check_quantity(item.item, quantity)
        if problem is not None:
            problems.append(_line_problem(index, sku, problem, _quantity_message(problem, item, variant)))
            continue
        most = maximums.get(variant.unit)
        if most is not None and quantity > most:
            unit = Unit(variant.unit).label_zh
            problems.append(
                _line_problem(
                    index,
                    sku,
                    errors.AboveLineMaximum,
                    f"{variant.sku} 每单最多 {format_quantity(most)} {unit}，更大数量请走批发采购",
                )
            )
            continue
        priced.append(_priced(variant, item, quantity))
    if problems:
        first = next(e for e in _ERRORS if e.code == problems[0]["error"])
        raise first(detail={"lines": problems})
    return priced


_ERRORS: tuple[type[errors.PricingError], ...] = (
    errors.UnknownSku,
    errors.NotForSale,
    errors.QuantityNotPositive,
    errors.InvalidQuantity,
    errors.BelowMinimumOrder,
    errors.QuantityNotInIncrement,
    errors.AboveLineMaximum,
)


async def price_line(
    session: AsyncSession,
    sku: str,
    quantity: str | Decimal,
    *,
    channel: SalesChannel,
    company_id: int | None = None,
) -> PricedLine:
    return (await price_lines(session, [LineRequest(sku, quantity)], channel=channel, company_id=company_id))[0]


async def price_counter_line(
    session: AsyncSession, sku: str, quantity: Decimal, *, channel: SalesChannel
) -> PricedLine:
    """Price a line at the store counter (goods in hand: scanned, or weighed on the scale): the
    list's price (tier included) for exactly that quantity, rounded once to the fen. The list's
    minimum and increment are for orders placed in advance and are not applied to goods already on
    the counter; the quantity must still be positive."""
    return (await price_counter_lines(session, [(sku, quantity)], channel=channel))[0]


async def price_counter_lines(
    session: AsyncSession, lines: Sequence[tuple[str, Decimal]], *, channel: SalesChannel
) -> list[PricedLine]:
    """:func:`price_counter_line` for a whole counter sale at once (a till's uploaded sale is
    priced again on the server): the same rule, one query per table whatever the number of lines.
    The first line that cannot be priced raises, naming its index."""
    return (await counter_prices(session, [sku for sku, _ in lines], channel=channel)).price(lines)


@dataclass(frozen=True)
class CounterPrices:
    """What prices counter lines of a set of SKUs, read once (a till's whole upload is priced with
    one read per table): :meth:`price` applies :func:`price_counter_line`'s rule without a query."""

    variants: dict[str, Variant]
    items: dict[int, list[PriceCandidate]]

    def price(self, lines: Sequence[tuple[str, Decimal]]) -> list[PricedLine]:
        """Each line priced; the first one that cannot be raises, naming its index."""
        for index, (sku, quantity) in enumerate(lines):
            if quantity <= 0:
                raise errors.QuantityNotPositive(
                    detail={"lines": [_line_problem(index, sku, errors.QuantityNotPositive)]}
                )
        for index, (sku, _) in enumerate(lines):
            if sku not in self.variants:
                raise errors.UnknownSku(detail={"lines": [_line_problem(index, sku, errors.UnknownSku)]})
        priced: list[PricedLine] = []
        for index, (sku, quantity) in enumerate(lines):
            variant = self.variants[sku]
            item = _pick_item(self.items.get(variant.id, []))
            if item is None:
                raise errors.NotForSale(detail={"lines": [_line_problem(index, sku, errors.NotForSale)]})
            priced.append(_priced(variant, item, quantity))
        return priced


async def counter_prices(
    session: AsyncSession,
    skus: Sequence[str],
    *,
    channel: SalesChannel,
    variants: dict[str, Variant] | None = None,
) -> CounterPrices:
    """The active variants of ``skus`` (``variants`` when the caller has read them already) and
    their price-list items for ``channel`` (no company list)."""
    if variants is None:
        variants = await repository.active_variants_by_sku(session, skus)
    items = await repository.price_items_for(
        session,
        list({variant.id for variant in variants.values()}),
        list_codes=list(channel.policy.price_lists),
        company_id=None,
    )
    return CounterPrices(variants, items)


async def price_items(
    session: AsyncSession,
    variant_ids: Sequence[int],
    *,
    channel: SalesChannel,
    company_id: int | None = None,
) -> dict[int, PriceCandidate]:
    """The price-list item that prices each variant for ``channel`` (and the buyer company), with
    its tiers — what a price sheet shows; a variant without one is left out."""
    policy = channel.policy
    items = await repository.price_items_for(
        session,
        list(variant_ids),
        list_codes=list(policy.price_lists),
        company_id=company_id if policy.company_price_list else None,
    )
    picked = {variant_id: _pick_item(candidates) for variant_id, candidates in items.items()}
    return {variant_id: item for variant_id, item in picked.items() if item is not None}


def _pick_item(candidates: list[PriceCandidate]) -> PriceCandidate | None:
    """A company's own list wins over the wholesale list; the wholesale list over nothing."""
    for kind in (PriceListKind.company, PriceListKind.wholesale, PriceListKind.retail):
        for candidate in candidates:
            if candidate.kind is kind:
                return candidate
    return None


def _quantity_message(problem: type[errors.PricingError], candidate: PriceCandidate, variant: Variant) -> str:
    price_item = candidate.item
    unit = Unit(variant.unit).label_zh
    if problem is errors.BelowMinimumOrder:
        return f"{variant.sku} 最小起订量为 {format_quantity(price_item.min_quantity)} {unit}"
    if problem is errors.QuantityNotInIncrement:
        return f"{variant.sku} 须按 {format_quantity(price_item.increment)} {unit} 的整数倍订购"
    return problem.message


def order_line_name(variant: Variant) -> str:
    """What an order line is called, as people say it: the product's name, then the variant's
    (its product loaded)."""
    return f"{variant.product.name_zh} {variant.name_zh}"[:200]


def _priced(variant: Variant, picked: PriceCandidate, quantity: Decimal) -> PricedLine:
    item = picked.item
    unit_price, threshold = unit_price_for(item, quantity)
    return PricedLine(
        variant_id=variant.id,
        sku=variant.sku,
        quantity=quantity,
        unit=Unit(variant.unit),
        unit_price_minor=unit_price,
        line_total_minor=line_total_minor(unit_price, quantity),
        currency=picked.currency,
        rule=PriceRule(picked.code, picked.kind, threshold),
        min_quantity=item.min_quantity,
        increment=item.increment,
        name_zh=order_line_name(variant),
        shelf_life_days=variant.product.shelf_life_days,
    )
