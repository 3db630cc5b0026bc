"""Storefront pages (/): the catalog as consumers see it."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import MaybeUser
from app.catalog import errors, listing, repository
from app.catalog.endpoints import viewer_for
from app.db import DbSession
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(
    request: Request, session: DbSession, principal: MaybeUser, q: str | None = None, category: str | None = None
) -> Response:
    """In season now first, then the rest; search by name and filter by category."""
    products = await repository.list_products(session, q=q, category_slug=category)
    views = await listing.products_out(session, products, viewer_for(principal))
    month = date.today().month
    in_season = [p for p in views if p.in_season]
    coming = sorted(
        (p for p in views if not p.in_season and p.season_months),
        key=lambda p: min((m - month) % 12 for m in p.season_months),
    )
    year_round = [p for p in views if not p.season_months]
    return render(
        request,
        "shop/home.html",
        {
            "in_season": in_season,
            "coming": coming,
            "year_round": year_round,
            "q": q or "",
            "categories": await repository.list_categories(session),
            "category": category or "",
            "month": month,
        },
    )


@router.get("/products/{slug}")
async def product_page(request: Request, slug: str, session: DbSession, principal: MaybeUser) -> Response:
    product = await repository.product_by_slug(session, slug)
    if product is None or not product.is_active:
        raise errors.ProductNotFound()
    view = (await listing.products_out(session, [product], viewer_for(principal)))[0]
    return render(request, "shop/product.html", {"product": view})
