"""Imports every domain's models so that metadata and the mappers see all tables.

The one place the app loads its tables from: ``app.main`` (every web worker, including the ones
uvicorn spawns for ``--workers N``), ``app.worker`` (Celery), Alembic and the tests import it. A
process that imported only some domains could not resolve a foreign key into a missing one
(``users.store_id → stores`` when nothing imported ``app.pos.models``) and every flush touching
that table would fail with ``NoReferencedTableError``. A new domain's ``models.py`` goes here too
(``tests/test_model_registry.py`` fails otherwise).
"""

from app.accounts import models as accounts_models
from app.catalog import models as catalog_models
from app.claims import models as claims_models
from app.county import figures_models as county_figures_models
from app.county import models as county_models
from app.county import report_models as county_report_models
from app.crossborder import models as crossborder_models
from app.events import models as events_models
from app.kit import idempotency, outbox
from app.kit.models import Base
from app.notifications import models as notifications_models
from app.orders import models as orders_models
from app.pos import models as pos_models
from app.pos import sale_models as pos_sale_models
from app.presales import models as presales_models
from app.stations import models as stations_models
from app.streamers import models as streamers_models
from app.supply import models as supply_models
from app.wholesale import invoice_models as wholesale_invoice_models
from app.wholesale import models as wholesale_models
from app.wholesale import standing_models as wholesale_standing_models
from app.wholesale import trip_models as wholesale_trip_models

__all__ = [
    "Base",
    "accounts_models",
    "catalog_models",
    "claims_models",
    "county_figures_models",
    "county_models",
    "county_report_models",
    "crossborder_models",
    "events_models",
    "idempotency",
    "notifications_models",
    "orders_models",
    "outbox",
    "pos_models",
    "pos_sale_models",
    "presales_models",
    "stations_models",
    "streamers_models",
    "supply_models",
    "wholesale_invoice_models",
    "wholesale_models",
    "wholesale_standing_models",
    "wholesale_trip_models",
]
