"""Read models of parcels and runs for the PDA API and the station pages, and the pickup block a
customer's order shows while its parcel waits at the station."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Order
from app.orders.schemas import PickupOut
from app.stations import parcel_queries, schemas
from app.stations.labels import amount_due, amount_due_minor, mask_name, phone_last4
from app.stations.models import DeliveryRoute, DispatchRun, Parcel, ParcelStatus, Station
from app.stations.parcels import customer_pickup_code, pickup_qr


async def parcel_out(session: AsyncSession, parcel: Parcel) -> schemas.ParcelOut:
    order = await session.get(Order, parcel.order_id)
    station = await session.get(Station, parcel.station_id)
    assert order is not None and station is not None
    return parcel_view(parcel, order, station.code)


def parcel_view(parcel: Parcel, order: Order, station_code: str) -> schemas.ParcelOut:
    """The parcel as the PDA shows it, from rows the caller already holds."""
    return schemas.ParcelOut(
        tracking_number=parcel.tracking_number,
        order_number=order.number,
        status=parcel.status.value,
        status_zh=ParcelStatus(parcel.status).label_zh,
        station_code=station_code,
        shelf_slot=parcel.shelf_slot,
        recipient_masked=mask_name(order.contact_name),
        phone_last4=phone_last4(order.contact_phone),
        amount_due_minor=amount_due(order),
        arrived_at=parcel.arrived_at,
        retention_until=parcel.retention_until,
    )


async def shelf_out(session: AsyncSession, station_id: int) -> list[schemas.ParcelOut]:
    """The parcels on a station's shelf as the PDA lists them, from one query (the columns are
    typed by the database, so the models are built without validating each field again)."""
    return [
        schemas.ParcelOut.model_construct(
            tracking_number=tracking_number,
            order_number=number,
            status=ParcelStatus(status).value,
            status_zh=ParcelStatus(status).label_zh,
            station_code=station_code,
            shelf_slot=slot,
            recipient_masked=mask_name(contact_name),
            phone_last4=phone_last4(contact_phone),
            amount_due_minor=amount_due_minor(payment_method, total_minor, paid_minor),
            arrived_at=arrived_at,
            retention_until=retention_until,
        )
        for (
            tracking_number,
            status,
            slot,
            arrived_at,
            retention_until,
            number,
            contact_name,
            contact_phone,
            payment_method,
            total_minor,
            paid_minor,
            station_code,
        ) in await parcel_queries.shelf_rows(session, station_id)
    ]


async def run_out(session: AsyncSession, run: DispatchRun) -> schemas.RunOut:
    route = await session.get(DeliveryRoute, run.route_id)
    assert route is not None
    items = await parcel_queries.parcels_of_run(session, run.id)
    return schemas.RunOut(
        number=run.number,
        route_code=route.code,
        run_date=run.run_date,
        status=run.status.value,
        parcels=[await parcel_out(session, p) for p in items],
    )


async def customer_pickup(session: AsyncSession, order: Order) -> PickupOut | None:
    """The pickup code and QR of the order's parcel while it waits on the station's shelf; None
    before it arrives and after it left. Only for the order's customer: staff are never shown it."""
    parcel = await parcel_queries.parcel_of_order(session, order.id)
    if parcel is None or parcel.status is not ParcelStatus.at_station:
        return None
    code = customer_pickup_code(parcel)
    return PickupOut(code=code, qr=pickup_qr(order.number)) if code else None
