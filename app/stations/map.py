"""The county's logistics route sand table (物流路线沙盘): an SVG drawn on the server from the
stations' coordinates, for the ops console and for anyone (``GET /api/v1/stations/map.svg``).

Projection: plain equirectangular around the county — longitude is scaled by cos(mean latitude) so
a kilometre east is as long as a kilometre north, which over a county 40 km across is as good as a
real map projection and needs no GIS library. Each route is a polyline from the county warehouse
through its stops in order; each station one circle (larger with a ring for a demonstration
station, hollow when closed) coloured by its route; township names sit at the centroid of their
stations. Every text that came from the database is XML-escaped, so a station named ``<b>`` stays
text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.stations import label_queries
from app.stations.models import DeliveryRoute, Station

# The county warehouse (the service centre's, in 太平镇 in the demo county), where every route starts.
WAREHOUSE = (24.95, 114.07)
WAREHOUSE_LABEL = "县级仓库"

WIDTH = 800.0
MARGIN = 48.0
LEGEND_ROW = 22.0
# Distinct on screen and still apart when printed in greys; cycles for more routes than colours.
ROUTE_COLOURS = ("#c0392b", "#1f6fb2", "#2e8b57", "#8e44ad", "#d4780b", "#16a0a0", "#7a5c2e", "#c2185b")
UNROUTED = "#8a8a8a"
# Presentation attributes, not a <style> element: the page that embeds the SVG (and the SVG served
# alone) carry a CSP without inline styles. The hover effect of the ops console is in site.css.
TOWN_TEXT = 'font-size="15" font-weight="700" fill="#5b5548" paint-order="stroke" stroke="#fff" stroke-width="4"'
LABEL_TEXT = 'font-size="12" fill="#222"'


@dataclass(frozen=True)
class _Projection:
    min_lat: float
    max_lat: float
    min_lng: float
    kx: float  # SVG units per degree of longitude
    ky: float  # per degree of latitude

    def __call__(self, lat: float, lng: float) -> tuple[float, float]:
        return MARGIN + (lng - self.min_lng) * self.kx, MARGIN + (self.max_lat - lat) * self.ky


def _projection(points: Sequence[tuple[float, float]]) -> tuple[_Projection, float]:
    """Fit ``points`` (lat, lng) into the drawing width with margins; returns the projection and
    the map's height."""
    lats = [p[0] for p in points]
    lngs = [p[1] for p in points]
    min_lat, max_lat = min(lats), max(lats)
    min_lng, max_lng = min(lngs), max(lngs)
    squash = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x = max((max_lng - min_lng) * squash, 1e-6)
    span_y = max(max_lat - min_lat, 1e-6)
    scale = (WIDTH - 2 * MARGIN) / max(span_x, span_y)
    height = span_y * scale + 2 * MARGIN
    return _Projection(min_lat, max_lat, min_lng, scale * squash, scale), height


def _n(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class _Drawing:
    """What every layer needs: the projection, the stations by code and each route's colour."""

    project: _Projection
    stations: Sequence[Station]
    routes: Sequence[tuple[DeliveryRoute, Sequence[str]]]
    colour_of_route: dict[str, str]
    route_of_station: dict[str, DeliveryRoute]

    @property
    def warehouse(self) -> tuple[float, float]:
        return self.project(*WAREHOUSE)


def render_svg(stations: Sequence[Station], routes: Sequence[tuple[DeliveryRoute, Sequence[str]]]) -> str:
    """The SVG for these stations and routes (each route with its station codes in stop order):
    routes under townships under stations under the warehouse, then the legend."""
    project, map_height = _projection([WAREHOUSE, *[(float(s.latitude), float(s.longitude)) for s in stations]])
    drawing = _Drawing(
        project=project,
        stations=stations,
        routes=routes,
        colour_of_route={route.code: ROUTE_COLOURS[i % len(ROUTE_COLOURS)] for i, (route, _) in enumerate(routes)},
        route_of_station={code: route for route, codes in routes for code in codes},
    )
    county = get_settings().county_name
    height = map_height + (len(routes) + 2) * LEGEND_ROW + 16
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(WIDTH)} {_n(height)}" '
            f'width="{_n(WIDTH)}" height="{_n(height)}" role="img" aria-labelledby="np-map-title" '
            'font-family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif">',
            f'<title id="np-map-title">{escape(county)}物流路线沙盘：县级仓库、配送路线与村级服务站</title>',
            f'<rect x="0" y="0" width="{_n(WIDTH)}" height="{_n(height)}" fill="#fbfaf6"/>',
            *_route_lines(drawing),
            *_township_names(drawing),
            *_station_marks(drawing),
            *_warehouse_mark(drawing),
            *_legend(drawing, map_height + 8),
            "</svg>",
        ]
    )


def _route_lines(drawing: _Drawing) -> list[str]:
    """Each route a polyline from the warehouse through its stops (dashed when not active)."""
    by_code = {s.code: s for s in drawing.stations}
    out = ['<g class="np-routes" fill="none" stroke-linejoin="round" stroke-linecap="round">']
    for route, codes in drawing.routes:
        points = [drawing.warehouse] + [
            drawing.project(float(by_code[c].latitude), float(by_code[c].longitude)) for c in codes if c in by_code
        ]
        dash = "" if route.is_active else ' stroke-dasharray="6 5"'
        out.append(
            f'<polyline class="np-route" data-route={quoteattr(route.code)} '
            f'points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in points)}" '
            f'stroke="{drawing.colour_of_route[route.code]}" stroke-width="3" stroke-opacity="0.85"{dash}>'
            f"<title>{escape(f'{route.code} {route.name}（{len(codes)} 站）')}</title></polyline>"
        )
    out.append("</g>")
    return out


def _township_names(drawing: _Drawing) -> list[str]:
    """Township names at the centroid of their stations."""
    towns: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for station in drawing.stations:
        towns[station.township].append(drawing.project(float(station.latitude), float(station.longitude)))
    out = [f'<g class="np-towns" text-anchor="middle" {TOWN_TEXT}>']
    for town, points in sorted(towns.items()):
        cx = sum(p[0] for p in points) / len(points)
        cy = sum(p[1] for p in points) / len(points)
        out.append(f'<text class="np-town" x="{_n(cx)}" y="{_n(cy - 14)}">{escape(town)}</text>')
    out.append("</g>")
    return out


def _station_marks(drawing: _Drawing) -> list[str]:
    """One circle per station: its route's colour, larger with a black ring for a demonstration
    station, hollow when closed; the hover title says all of it in words."""
    out = ['<g class="np-stations">']
    for station in drawing.stations:
        x, y = drawing.project(float(station.latitude), float(station.longitude))
        on = drawing.route_of_station.get(station.code)
        colour = drawing.colour_of_route[on.code] if on else UNROUTED
        radius = 8 if station.is_demonstration else 5
        fill = colour if station.is_open else "#ffffff"
        stroke = "#1d1d1d" if station.is_demonstration else colour
        stroke_width = 2.5 if station.is_demonstration else 1.5
        state = "营业中" if station.is_open else "暂停营业"
        kind = "示范站" if station.is_demonstration else "村站"
        where = f"{station.township}{station.village}"
        on_route = f"{on.code} {on.name}" if on else "未排入路线"
        hover = f"{station.code} {station.name}（{where}）· {kind} · {state} · {on_route}"
        out.append(
            f'<circle class="np-station{" np-demo" if station.is_demonstration else ""}'
            f'{"" if station.is_open else " np-closed"}" data-code={quoteattr(station.code)} '
            f'cx="{_n(x)}" cy="{_n(y)}" r="{radius}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{stroke_width}"><title>{escape(hover)}</title></circle>'
        )
    out.append("</g>")
    return out


def _warehouse_mark(drawing: _Drawing) -> list[str]:
    """The warehouse: a square, so it cannot be taken for a station."""
    wx, wy = drawing.warehouse
    owner = escape(get_settings().service_centre_name)
    return [
        f'<g class="np-warehouse"><rect x="{_n(wx - 8)}" y="{_n(wy - 8)}" width="16" height="16" fill="#1d1d1d">'
        f"<title>{WAREHOUSE_LABEL}（{owner}仓库）</title></rect>"
        f'<text class="np-label" x="{_n(wx + 12)}" y="{_n(wy + 18)}" {LABEL_TEXT} font-weight="700">'
        f"{WAREHOUSE_LABEL}</text></g>"
    ]


def _dot(cx: float, cy: float, r: float, fill: str, stroke: str = "none", width: float = 0) -> str:
    """A station mark for the legend: an arc path, not a circle, so every <circle> is a station."""
    return (
        f'<path d="M{_n(cx - r)} {_n(cy)} a{r} {r} 0 1 0 {2 * r} 0 a{r} {r} 0 1 0 {-2 * r} 0" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
    )


def _legend(drawing: _Drawing, y: float) -> list[str]:
    """One line per route, then what the station marks mean."""
    out = [f'<g class="np-legend" {LABEL_TEXT}>']
    for route, codes in drawing.routes:
        dash = "" if route.is_active else ' stroke-dasharray="6 5"'
        text = f"{route.code} {route.name} · {len(codes)} 站" + ("" if route.is_active else "（停用）")
        out.append(
            f'<line x1="{_n(MARGIN)}" y1="{_n(y)}" x2="{_n(MARGIN + 30)}" y2="{_n(y)}" '
            f'stroke="{drawing.colour_of_route[route.code]}" '
            f'stroke-width="3"{dash}/><text x="{_n(MARGIN + 38)}" y="{_n(y + 4)}">{escape(text)}</text>'
        )
        y += LEGEND_ROW
    out += [
        f'<rect x="{_n(MARGIN + 7)}" y="{_n(y - 8)}" width="16" height="16" fill="#1d1d1d"/>',
        f'<text x="{_n(MARGIN + 38)}" y="{_n(y + 4)}">县级仓库（各路线起点）</text>',
        _dot(MARGIN + 315, y, 5, UNROUTED),
        f'<text x="{_n(MARGIN + 338)}" y="{_n(y + 4)}">村站（颜色＝所属路线，灰色＝未排线）</text>',
    ]
    y += LEGEND_ROW
    out += [
        _dot(MARGIN + 15, y, 8, UNROUTED, "#1d1d1d", 2.5),
        f'<text x="{_n(MARGIN + 38)}" y="{_n(y + 4)}">示范站（大圆、黑边）</text>',
        _dot(MARGIN + 315, y, 5, "#ffffff", UNROUTED, 1.5),
        f'<text x="{_n(MARGIN + 338)}" y="{_n(y + 4)}">空心＝暂停营业</text>',
        "</g>",
    ]
    return out


async def network_svg(session: AsyncSession) -> str:
    """The sand table as it stands in the database now."""
    stations = await label_queries.all_stations(session)
    routes = await label_queries.routes_with_station_codes(session)
    return render_svg(stations, routes)
