"""What a caller can get wrong about PRD routes and trips (each a code, a status, a Chinese message)."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class WholesaleRouteNotFound(NotFound):
    code = "wholesale_route_not_found"
    message = "找不到该珠三角线路"


class WholesaleRouteCodeTaken(Conflict):
    code = "wholesale_route_code_taken"
    message = "线路编号已被使用"


class TripNotFound(NotFound):
    code = "trip_not_found"
    message = "找不到该车次"


class InvalidTripLoad(InvalidInput):
    """A booking of nothing, or of a negative weight or case count."""

    code = "invalid_trip_load"
    message = "重量和箱数不能为负，且至少有一项大于 0"


class NoTripForCity(InvalidInput):
    """No active route (with cold chain, when asked) serves the city within the horizon."""

    code = "no_trip_for_city"
    message = "近期没有发往该城市的车次"


class LoadTooLargeForTrip(InvalidInput):
    """More than a whole truck: no trip could ever carry it in one go."""

    code = "load_too_large_for_trip"
    message = "这批货超过了单个车次的运力，请分成几单"


class NoTripWithRoom(Conflict):
    """Every open trip to the city within the horizon is full (or closed)."""

    code = "no_trip_with_room"
    message = "近期发往该城市的车次都已满或已截单"


class TripStatusConflict(Conflict):
    """The trip is no longer in the status the form was showing (someone else moved it)."""

    code = "trip_status_conflict"
    message = "车次状态已被他人更改，请刷新后重试"


class TripTransitionNotAllowed(Conflict):
    code = "trip_transition_not_allowed"
    message = "车次当前状态不能进行此操作"


class TripHasBookings(Conflict):
    """A trip with orders on it cannot be cancelled until they are moved to another trip."""

    code = "trip_has_bookings"
    message = "该车次已有订单装载，请先把订单改到其他车次再取消"
