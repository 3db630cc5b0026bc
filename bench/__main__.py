"""``python -m bench``: run every benchmark and print its figures."""

from __future__ import annotations

import sys

from bench import (
    catalog,
    crossborder,
    floor,
    orders,
    pos_till,
    pos_upload,
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


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHES)
    for name in chosen:
        BENCHES[name]()
        print()


if __name__ == "__main__":
    main()
