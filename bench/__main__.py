"""``python -m bench``: run every benchmark and print its figures (``python -m bench NAME …``: those;
the ones in ``ON_REQUEST`` run only when named)."""

from __future__ import annotations

import sys

from bench import (
    backup,
    catalog,
    county,
    crossborder,
    floor,
    orders,
    pos_till,
    pos_upload,
    recovery,
    scaling,
    shop,
    stations,
    stock,
    wholesale_documents,
    wholesale_orders,
    wholesale_rate,
    wholesale_trip,
)

BENCHES = {
    "catalog": catalog.main,
    "stock": stock.main,
    "shop": shop.main,
    "stations": stations.main,
    "crossborder": crossborder.main,
    "wholesale_documents": wholesale_documents.main,
    "wholesale_orders": wholesale_orders.main,
    "wholesale_rate": wholesale_rate.main,
    "wholesale_trip": wholesale_trip.main,
    "pos_till": pos_till.main,
    "pos_upload": pos_upload.main,
    "floor": floor.main,
    "orders": orders.main,
}
# Run only when named (``python -m bench backup``): filling a database with a million ledger rows
# makes it the longest bench, and its figures change only when the backup code does; recovery
# kills its own embedded PostgreSQL six times, and its figure changes only with the supervision;
# scaling starts three servers one after the other (1, 2 and 4 web processes); county generates a
# year of demo-scale data (150,000 orders, a million ledger rows) before it measures.
ON_REQUEST = {"backup": backup.main, "recovery": recovery.main, "scaling": scaling.main, "county": county.main}


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHES)
    for name in chosen:
        (BENCHES | ON_REQUEST)[name]()
        print()


if __name__ == "__main__":
    main()
