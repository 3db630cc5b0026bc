"""Demo data: Shixing County's stations, specialties, suppliers, prices, PRD buyers and one user per role.

Loaded by ``app seed-demo`` and by ``app serve`` into an empty demo database. Everything is looked up
by its natural key (username, code, slug, SKU, price-list code, company name) and only what is
missing is inserted, with ``INSERT … ON CONFLICT DO NOTHING`` so that two seeders racing on the
same database cannot duplicate a row either. Rows an operator has since edited are left as they are.
The loader only flushes; the caller commits.

Stock is loaded the way a warehouse would: harvest lots are received into the county warehouse
through the supply service (one ledger row each), and a first delivery goes to the brand store as
a real transfer. Lots follow each product's season relative to the day of loading (``clock.today()``,
see :func:`demo_harvest_date`): fresh loquat in December has no lot and shows as coming soon, while
rice, tea, honey, dried bamboo shoots and the winter's cured meats are in stock all year; in loquat
season the lots page shows a lot past its best-before, in bayberry season two about to expire. A
variant that already has a lot gets no demo lots.

Every product gets a picture drawn by the project (``app.demo_pictures``: no download), stored
through the same pipeline as an uploaded photo, with its list thumbnail made at once (a demo may
run without a worker); a product that already has an image gets none. The three Alibaba.com
listings ship complete — an ICBU leaf category and their product's picture — so the first sync
after connecting the seller account publishes them.

What is invented is labelled: supplier and company names end in （演示）, addresses in （演示地址）,
certificate numbers start with ``DEMO-``, user display names end in （演示）. Coordinates are
approximate positions around each township, not surveyed station sites.
"""

from __future__ import annotations

import asyncio
import calendar
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import ean
from stdnum.cn import uscc

from app import demo_queries
from app.accounts.models import BuyerCompany, CompanyStatus, PaymentTerms, Role, User
from app.accounts.security import hash_password
from app.catalog.models import (
    Category,
    PriceList,
    PriceListItem,
    PriceListKind,
    PriceTier,
    Product,
    StorageClass,
    Variant,
)
from app.channels import RETAIL_LIST, WHOLESALE_LIST
from app.config import get_settings
from app.county import targets as county_targets
from app.county.models import Asset, AssetKind, BudgetLine, Evidence, EvidenceKind, Spending
from app.crossborder.models import Listing, ListingState
from app.demo_pictures import cjk_font, product_picture
from app.events.models import FarmEvent
from app.kit import clock
from app.kit.models import IdMixin
from app.kit.quantities import Unit
from app.pos.models import Store, StoreManager, Till
from app.presales import repository as presale_repository
from app.presales import service as presale_service
from app.stations.models import DeliveryRoute, RouteStop, Station
from app.streamers.models import Seller
from app.supply.models import (
    Location,
    LocationKind,
    Supplier,
    SupplierKind,
    SupplierProduct,
)
from app.wholesale.models import DeliveryAddress
from app.wholesale.trip_models import WholesaleRoute

DEMO_PASSWORD = "demo1234"  # noqa: S105 - the documented demo password (DESIGN §7)
COMPANY_LIST_CODE = "company-gz-jiangnan"

# Fixed order of the report, so the same data always reads the same.
KINDS = (
    "stations",
    "routes",
    "route_stops",
    "stores",
    "suppliers",
    "categories",
    "products",
    "supplier_products",
    "variants",
    "product_images",
    "price_lists",
    "price_items",
    "price_tiers",
    "buyer_companies",
    "company_delivery_addresses",
    "users",
    "tills",
    "store_managers",
    "streamer_sellers",
    "presale_waves",
    "farm_events",
    "locations",
    "lots",
    "transfers",
    "alibaba_listings",
    "wholesale_routes",
    "county_evidence",
    "county_assets",
    "county_spending",
)

Cert = dict[str, str]


def _cert(kind: str, name: str, number: str) -> Cert:
    return {"type": kind, "name": name, "number": number}


def _ean13(item: int) -> str:
    """A valid EAN-13 under an invented 69x (GS1 China) company prefix: 697405 18 + 4-digit item."""
    body = f"69740518{item:04d}"
    return body + ean.calc_check_digit(body)


def _credit_code(first17: str) -> str:
    """An 18-character unified social credit code with a correct check character."""
    return first17 + uscc.calc_check_digit(first17)


# ---- stations -----------------------------------------------------------------------------------


class Township(NamedTuple):
    code: str
    name: str
    lat: Decimal
    lng: Decimal


TOWNSHIPS = (
    Township("TP", "太平镇", Decimal("24.9520"), Decimal("114.0680")),  # county seat
    Township("MS", "马市镇", Decimal("24.9180"), Decimal("113.9850")),
    Township("CJ", "澄江镇", Decimal("25.0600"), Decimal("114.2150")),
    Township("DG", "顿岗镇", Decimal("25.0050"), Decimal("114.1400")),
    Township("LB", "罗坝镇", Decimal("24.8500"), Decimal("114.0950")),
    Township("SQ", "司前镇", Decimal("24.7750"), Decimal("114.1500")),
    Township("AZ", "隘子镇", Decimal("24.8200"), Decimal("114.3300")),
    Township("CN", "城南镇", Decimal("24.9150"), Decimal("114.0750")),
    Township("SS", "沈所镇", Decimal("25.0300"), Decimal("114.0100")),
    Township("SDS", "深渡水瑶族乡", Decimal("24.7900"), Decimal("113.9800")),
)
_TOWNSHIP = {t.code: t for t in TOWNSHIPS}


class StationSeed(NamedTuple):
    township: str  # township code
    village: str
    also_serves: tuple[str, ...]
    dlat: str  # offset from the township centre, degrees
    dlng: str
    demonstration: bool = False


# 30 new village stations + 6 demonstration stations (始府办〔2021〕12号 三(二)3–4).
STATIONS = (
    StationSeed("TP", "东湖坪村", ("上坪", "下坪"), "0.012", "-0.015", True),
    StationSeed("TP", "五里山村", ("五里亭",), "-0.010", "0.021"),
    StationSeed("TP", "水南村", ("水南围", "河背"), "-0.018", "-0.004"),
    StationSeed("TP", "大桥村", ("桥头",), "0.020", "0.012"),
    StationSeed("TP", "廖屋村", ("新屋",), "0.031", "-0.026"),
    StationSeed("MS", "红梨村", ("梨园", "塘背"), "0.010", "0.008", True),
    StationSeed("MS", "黄所村", ("黄所围",), "-0.014", "-0.012"),
    StationSeed("MS", "寨头村", ("寨下",), "0.022", "-0.020"),
    StationSeed("MS", "马市村", ("老街",), "-0.004", "0.018"),
    StationSeed("CJ", "暖田村", ("暖田围", "石陂"), "0.015", "0.020"),
    StationSeed("CJ", "澄江村", ("圩镇",), "-0.006", "-0.010"),
    StationSeed("CJ", "新坝村", ("坝头",), "-0.025", "0.012"),
    StationSeed("CJ", "洋坑村", ("洋坑口",), "0.038", "0.041"),
    StationSeed("DG", "顿岗村", ("圩背",), "0.004", "0.006"),
    StationSeed("DG", "周所村", ("周所围", "杨梅坑"), "-0.016", "0.022", True),
    StationSeed("DG", "坪田村", ("坪田围",), "0.027", "-0.018"),
    StationSeed("DG", "红岭村", ("岭背",), "-0.030", "-0.025"),
    StationSeed("LB", "罗坝村", ("罗坝圩",), "0.005", "-0.008"),
    StationSeed("LB", "燎原村", ("燎原围", "田心"), "0.019", "0.017", True),
    StationSeed("LB", "长营村", ("长营围",), "-0.021", "0.010"),
    StationSeed("LB", "七里村", ("七里坑",), "-0.012", "-0.030"),
    StationSeed("SQ", "司前村", ("司前圩",), "0.006", "-0.010"),
    StationSeed("SQ", "黄沙村", ("黄沙坑",), "0.025", "0.030"),
    StationSeed("SQ", "新坪村", ("新坪围",), "-0.012", "0.058"),
    StationSeed("AZ", "满堂村", ("满堂围", "大围"), "0.012", "0.014", True),
    StationSeed("AZ", "风度村", ("风度围",), "-0.018", "-0.020"),
    StationSeed("AZ", "隘子村", ("隘子圩",), "0.003", "-0.004"),
    StationSeed("AZ", "彭坑村", ("彭坑口",), "0.034", "0.046"),
    StationSeed("CN", "东风村", ("东风围", "城南圩"), "-0.008", "0.014", True),
    StationSeed("CN", "城南村", ("南门",), "0.006", "-0.010"),
    StationSeed("CN", "石下村", ("石下围",), "-0.024", "-0.006"),
    StationSeed("SS", "沈南村", ("沈所圩",), "-0.008", "0.010"),
    StationSeed("SS", "沈北村", ("北坑",), "0.021", "-0.006"),
    StationSeed("SS", "红围村", ("红围",), "0.010", "0.032"),
    StationSeed("SDS", "深渡水村", ("瑶山",), "0.004", "0.006"),
    StationSeed("SDS", "大坪村", ("大坪围", "高坪"), "-0.020", "0.022"),
)

# The demo `operator` runs this demonstration station.
OPERATOR_STATION = "ST-TP-01"


def station_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    numbers: Counter[str] = Counter()
    for index, seed in enumerate(STATIONS, start=1):
        town = _TOWNSHIP[seed.township]
        numbers[seed.township] += 1
        rows.append(
            {
                "code": f"ST-{seed.township}-{numbers[seed.township]:02d}",
                "name": f"{seed.village}电商物流服务站",
                "township": town.name,
                "village": seed.village,
                "address": f"广东省韶关市始兴县{town.name}{seed.village}村委会旁（演示地址）",
                "latitude": (town.lat + Decimal(seed.dlat)).quantize(Decimal("0.000001")),
                "longitude": (town.lng + Decimal(seed.dlng)).quantize(Decimal("0.000001")),
                "villages_served": [seed.village, *seed.also_serves],
                # Demonstration stations stay open longer and hold more parcels (示范点服务人数 ≥ 100).
                "opening_hours": "08:00-21:00" if seed.demonstration else "08:00-19:30",
                "shelf_capacity": 200 if seed.demonstration else 120,
                "retention_days": 7 if seed.demonstration else 5,
                "is_demonstration": seed.demonstration,
                "is_open": True,
                "phone": f"+86751338{index + 100:04d}",  # Shaoguan (0751) landlines
            }
        )
    return rows


# Delivery routes (下行路线) out of the county warehouse in 太平镇: each township's stations belong
# to one route, every station to exactly one. Stops are ordered nearest-neighbour from the
# warehouse — a fair stand-in for "along the road" with approximate coordinates.
ROUTE_START = (Decimal("24.95"), Decimal("114.07"))


class RouteSeed(NamedTuple):
    code: str
    name: str
    townships: tuple[str, ...]  # township codes


ROUTES = (
    RouteSeed("RT-01", "北线 顿岗—澄江", ("DG", "CJ")),
    RouteSeed("RT-02", "东南线 罗坝—司前—隘子", ("LB", "SQ", "AZ")),
    RouteSeed("RT-03", "西南线 马市—深渡水", ("MS", "SDS")),
    RouteSeed("RT-04", "西北线 沈所", ("SS",)),
    RouteSeed("RT-05", "城区线 太平—城南", ("TP", "CN")),
)


def route_stop_codes() -> dict[str, list[str]]:
    """Each demo route's station codes in stop order (nearest neighbour from the warehouse)."""
    from app.stations.routing import haversine_km

    rows = station_rows()
    towns = {t.name: t.code for t in TOWNSHIPS}
    result: dict[str, list[str]] = {}
    for seed in ROUTES:
        left = [r for r in rows if towns[r["township"]] in seed.townships]
        here = (float(ROUTE_START[0]), float(ROUTE_START[1]))
        order: list[str] = []
        while left:
            nearest = min(
                left,
                key=lambda r: (haversine_km(*here, float(r["latitude"]), float(r["longitude"])), r["code"]),
            )
            order.append(nearest["code"])
            here = (float(nearest["latitude"]), float(nearest["longitude"]))
            left.remove(nearest)
        result[seed.code] = order
    return result


STORES: tuple[dict[str, Any], ...] = (
    {
        "code": "STORE-01",
        "name": "南岭明珠 始兴县农贸市场店",
        "address": "广东省韶关市始兴县太平镇农贸市场一楼（演示地址）",
        "phone": "+867513312888",
    },
    {
        "code": "STORE-02",
        "name": "南岭明珠 韶关武江展销店",
        "address": "广东省韶关市武江区农产品展销中心（演示地址）",
        "phone": "+867518123456",
    },
)

# ---- suppliers ----------------------------------------------------------------------------------

SUPPLIERS: tuple[dict[str, Any], ...] = (
    {
        "code": "SUP-TP-LOQ",
        "name": "始兴县太平镇东湖坪枇杷种植专业合作社（演示）",
        "kind": SupplierKind.cooperative,
        "township": "太平镇",
        "village": "东湖坪村",
        "contact_name": "李永红",
        "contact_phone": "+8613902201001",
        "certifications": [
            _cert("green_food", "绿色食品", "DEMO-LB-2021-0101"),
            _cert("compliance", "食用农产品承诺达标合格证", "DEMO-HGZ-TP-0001"),
        ],
    },
    {
        "code": "SUP-DG-BAY",
        "name": "始兴县顿岗镇周所杨梅种植基地（演示）",
        "kind": SupplierKind.growing_base,
        "township": "顿岗镇",
        "village": "周所村",
        "contact_name": "周木生",
        "contact_phone": "+8613902201002",
        "certifications": [
            _cert("pollution_free", "无公害农产品", "DEMO-WGH-2020-0203"),
            _cert("compliance", "食用农产品承诺达标合格证", "DEMO-HGZ-DG-0002"),
        ],
    },
    {
        "code": "SUP-MS-PEAR",
        "name": "始兴县马市镇红梨沙梨家庭农场（演示）",
        "kind": SupplierKind.farm,
        "township": "马市镇",
        "village": "红梨村",
        "contact_name": "黄春兰",
        "contact_phone": "+8613902201003",
        "certifications": [_cert("green_food", "绿色食品", "DEMO-LB-2021-0305")],
    },
    {
        "code": "SUP-CJ-TUBER",
        "name": "始兴县澄江镇暖田薯芋专业合作社（演示）",
        "kind": SupplierKind.cooperative,
        "township": "澄江镇",
        "village": "暖田村",
        "contact_name": "曾德明",
        "contact_phone": "+8613902201004",
        "certifications": [
            _cert("pollution_free", "无公害农产品", "DEMO-WGH-2021-0418"),
            _cert("compliance", "食用农产品承诺达标合格证", "DEMO-HGZ-CJ-0004"),
        ],
    },
    {
        "code": "SUP-LB-RICE",
        "name": "始兴县罗坝镇燎原优质稻专业合作社（演示）",
        "kind": SupplierKind.cooperative,
        "township": "罗坝镇",
        "village": "燎原村",
        "contact_name": "邱国平",
        "contact_phone": "+8613902201005",
        "certifications": [_cert("green_food", "绿色食品", "DEMO-LB-2020-0512")],
    },
    {
        "code": "SUP-CN-MEAT",
        "name": "始兴县城南客家腊味食品厂（演示）",
        "kind": SupplierKind.processor,
        "township": "城南镇",
        "village": "东风村",
        "contact_name": "温秀珍",
        "contact_phone": "+8613902201006",
        "certifications": [_cert("compliance", "食品生产许可证", "DEMO-SC10444022200006")],
    },
    {
        "code": "SUP-SQ-TEA",
        "name": "始兴县司前镇车八岭高山茶专业合作社（演示）",
        "kind": SupplierKind.cooperative,
        "township": "司前镇",
        "village": "黄沙村",
        "contact_name": "赖文清",
        "contact_phone": "+8613902201007",
        "certifications": [
            _cert("organic", "有机产品认证", "DEMO-OP-2021-0707"),
            _cert("compliance", "食品生产许可证", "DEMO-SC11444022200007"),
        ],
    },
    {
        "code": "SUP-SDS-HONEY",
        "name": "始兴县深渡水瑶山蜜蜂养殖家庭农场（演示）",
        "kind": SupplierKind.farm,
        "township": "深渡水瑶族乡",
        "village": "大坪村",
        "contact_name": "赵金凤",
        "contact_phone": "+8613902201008",
        "certifications": [_cert("compliance", "食品生产许可证", "DEMO-SC12644022200008")],
    },
    {
        "code": "SUP-AZ-BSH",
        "name": "始兴县隘子镇满堂竹笋专业合作社（演示）",
        "kind": SupplierKind.cooperative,
        "township": "隘子镇",
        "village": "满堂村",
        "contact_name": "彭桂华",
        "contact_phone": "+8613902201009",
        "certifications": [
            _cert("compliance", "食用农产品承诺达标合格证", "DEMO-HGZ-AZ-0009"),
            _cert("other", "林下经济示范基地", "DEMO-LX-2020-0019"),
        ],
    },
)

# ---- catalog ------------------------------------------------------------------------------------

CATEGORIES: tuple[dict[str, Any], ...] = (
    {"slug": "fruit", "name_zh": "时令鲜果", "name_en": "Seasonal Fruit", "sort_order": 10},
    {"slug": "vegetables-tubers", "name_zh": "蔬菜薯芋", "name_en": "Vegetables & Tubers", "sort_order": 20},
    {"slug": "rice-grain", "name_zh": "粮油米面", "name_en": "Rice, Grain & Oil", "sort_order": 30},
    {"slug": "cured-meats", "name_zh": "腊味", "name_en": "Cured Meats", "sort_order": 40},
    {"slug": "tea", "name_zh": "茶叶", "name_en": "Tea", "sort_order": 50},
    {"slug": "honey", "name_zh": "蜂蜜", "name_en": "Honey", "sort_order": 60},
    {"slug": "dried-goods", "name_zh": "干货", "name_en": "Dried Goods", "sort_order": 70},
)

_FRUIT_HGZ = "食用农产品承诺达标合格证"

# Empty season_months means sold all year (the shop shows it under "year round").
PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "slug": "shixing-loquat",
        "category": "fruit",
        "supplier": "SUP-TP-LOQ",
        "name_zh": "始兴枇杷",
        "name_en": "Shixing Loquat",
        "description_zh": "太平镇丘陵坡地种植的早钟、白梨枇杷，果肉细嫩、酸甜适口。3 月下旬至 5 月上旬采摘，"
        "按果径与外观分为特级、一级，产地直发，冷链到站。",
        "description_en": "Early-Bell and white-flesh loquats from the hill slopes of Taiping Town: tender, "
        "sweet-tart flesh. Picked from late March to early May, graded Premium (特级) or "
        "Grade A (一级) by size and look, and shipped cool from the orchard.",
        "origin_township": "太平镇",
        "origin_village": "东湖坪村",
        "growing_base": "东湖坪枇杷种植基地",
        "season_months": [3, 4, 5],
        "storage_class": StorageClass.cool,
        "shelf_life_days": 7,
        "certifications": [
            _cert("geographical_indication", "农产品地理标志（演示）", "DEMO-AGI-2021-0001"),
            _cert("green_food", "绿色食品", "DEMO-LB-2021-0101"),
        ],
    },
    {
        "slug": "shixing-bayberry",
        "category": "fruit",
        "supplier": "SUP-DG-BAY",
        "name_zh": "始兴杨梅",
        "name_en": "Shixing Bayberry (Yangmei)",
        "description_zh": "顿岗镇周所杨梅基地的东魁、荸荠种杨梅，6 月中旬至 7 月初采收，当天预冷，冰袋冷链配送。"
        "请冷藏，3 天内食用。",
        "description_en": "Dongkui and Biqi bayberries from the Zhousuo base in Dungang Town, harvested from "
        "mid-June to early July, pre-cooled the same day and shipped with ice packs. "
        "Keep chilled and eat within three days.",
        "origin_township": "顿岗镇",
        "origin_village": "周所村",
        "growing_base": "周所杨梅基地",
        "season_months": [6, 7],
        "storage_class": StorageClass.chilled,
        "shelf_life_days": 3,
        "certifications": [_cert("pollution_free", "无公害农产品", "DEMO-WGH-2020-0203")],
    },
    {
        "slug": "shixing-sand-pear",
        "category": "fruit",
        "supplier": "SUP-MS-PEAR",
        "name_zh": "始兴沙梨",
        "name_en": "Shixing Sand Pear",
        "description_zh": "马市镇红梨村的沙梨，皮薄多汁、清甜爽脆，7–9 月上市，耐储运。",
        "description_en": "Crisp, juicy sand pears (Pyrus pyrifolia) from Hongli Village, Mashi Town. "
        "In season July to September; they travel and keep well.",
        "origin_township": "马市镇",
        "origin_village": "红梨村",
        "growing_base": "红梨沙梨家庭农场",
        "season_months": [7, 8, 9],
        "storage_class": StorageClass.cool,
        "shelf_life_days": 30,
        "certifications": [_cert("green_food", "绿色食品", "DEMO-LB-2021-0305")],
    },
    {
        "slug": "shixing-taro",
        "category": "vegetables-tubers",
        "supplier": "SUP-CJ-TUBER",
        "name_zh": "始兴香芋",
        "name_en": "Shixing Taro",
        "description_zh": "澄江镇河谷沙质土种植的槟榔芋，粉糯芳香，适合芋头扣肉、芋泥。"
        "散装按千克称重，或 10 千克整箱。",
        "description_en": "Betel-nut taro grown in the sandy river-valley soil of Chengjiang Town: floury "
        "and fragrant, ideal for braised pork with taro or taro paste. Loose by the "
        "kilogram or in 10 kg cases.",
        "origin_township": "澄江镇",
        "origin_village": "暖田村",
        "growing_base": "暖田薯芋基地",
        "season_months": [1, 9, 10, 11, 12],
        "storage_class": StorageClass.ambient,
        "shelf_life_days": 45,
        "certifications": [
            _cert("pollution_free", "无公害农产品", "DEMO-WGH-2021-0418"),
            _cert("compliance", _FRUIT_HGZ, "DEMO-HGZ-CJ-0004"),
        ],
    },
    {
        "slug": "shixing-sweet-potato",
        "category": "vegetables-tubers",
        "supplier": "SUP-CJ-TUBER",
        "name_zh": "始兴番薯",
        "name_en": "Shixing Sweet Potato",
        "description_zh": "澄江镇红皮黄心番薯，香甜软糯，可蒸可烤。散装按千克称重，或 5 千克箱装。",
        "description_en": "Red-skinned, yellow-fleshed sweet potatoes from Chengjiang Town, sweet and soft; "
        "steam or roast them. Loose by the kilogram or in 5 kg boxes.",
        "origin_township": "澄江镇",
        "origin_village": "暖田村",
        "growing_base": "暖田薯芋基地",
        "season_months": [1, 2, 9, 10, 11, 12],
        "storage_class": StorageClass.ambient,
        "shelf_life_days": 60,
        "certifications": [_cert("pollution_free", "无公害农产品", "DEMO-WGH-2021-0418")],
    },
    {
        "slug": "shixing-cured-sausage",
        "category": "cured-meats",
        "supplier": "SUP-CN-MEAT",
        "name_zh": "始兴客家腊肠",
        "name_en": "Shixing Hakka Cured Sausage",
        "description_zh": "城南镇客家传统工艺腊肠，选用本地猪肉，冬季北风晾晒，咸香回甘。500 克真空包装。",
        "description_en": "Hakka-style cured sausage made in Chengnan Town from local pork and air-dried in "
        "the winter north wind: savoury with a sweet finish. 500 g vacuum pack.",
        "origin_township": "城南镇",
        "origin_village": "东风村",
        "growing_base": "",
        "season_months": [1, 2, 10, 11, 12],
        "storage_class": StorageClass.cool,
        "shelf_life_days": 180,
        "certifications": [_cert("compliance", "食品生产许可证", "DEMO-SC10444022200006")],
    },
    {
        "slug": "shixing-cured-pork",
        "category": "cured-meats",
        "supplier": "SUP-CN-MEAT",
        "name_zh": "始兴客家腊肉",
        "name_en": "Shixing Hakka Cured Pork Belly",
        "description_zh": "客家五花腊肉条，煲仔饭、蒸腊味的好食材。500 克真空包装。",
        "description_en": "Hakka cured pork belly strips for claypot rice and steamed cured-meat platters. "
        "500 g vacuum pack.",
        "origin_township": "城南镇",
        "origin_village": "东风村",
        "growing_base": "",
        "season_months": [1, 2, 10, 11, 12],
        "storage_class": StorageClass.cool,
        "shelf_life_days": 180,
        "certifications": [_cert("compliance", "食品生产许可证", "DEMO-SC10444022200006")],
    },
    {
        "slug": "shixing-rice",
        "category": "rice-grain",
        "supplier": "SUP-LB-RICE",
        "name_zh": "始兴丝苗米",
        "name_en": "Shixing Simiao Rice",
        "description_zh": "罗坝镇燎原村种植的丝苗米，当季稻谷低温碾磨，米粒细长、饭香软润。5 千克 / 10 千克装。",
        "description_en": "Simiao (silk-seedling) rice from Liaoyuan Village, Luoba Town, milled cool from "
        "the season's paddy: long, slender grains that cook soft and fragrant. "
        "5 kg and 10 kg bags.",
        "origin_township": "罗坝镇",
        "origin_village": "燎原村",
        "growing_base": "燎原优质稻基地",
        "season_months": [],
        "storage_class": StorageClass.ambient,
        "shelf_life_days": 365,
        "certifications": [_cert("green_food", "绿色食品", "DEMO-LB-2020-0512")],
    },
    {
        "slug": "shixing-green-tea",
        "category": "tea",
        "supplier": "SUP-SQ-TEA",
        "name_zh": "车八岭高山绿茶",
        "name_en": "Chebaling High-Mountain Green Tea",
        "description_zh": "司前镇车八岭山区云雾茶园的春茶，炒青工艺，栗香持久。250 克罐装。",
        "description_en": "Spring-picked, pan-fired green tea from misty mountain gardens near Chebaling in "
        "Siqian Town, with a lasting chestnut aroma. 250 g tin.",
        "origin_township": "司前镇",
        "origin_village": "黄沙村",
        "growing_base": "车八岭高山茶园",
        "season_months": [],
        "storage_class": StorageClass.ambient,
        "shelf_life_days": 540,
        "certifications": [_cert("organic", "有机产品认证", "DEMO-OP-2021-0707")],
    },
    {
        "slug": "shixing-wildflower-honey",
        "category": "honey",
        "supplier": "SUP-SDS-HONEY",
        "name_zh": "瑶山土蜂蜜",
        "name_en": "Yao Mountain Wildflower Honey",
        "description_zh": "深渡水瑶族乡山区中华蜜蜂采集的百花蜜，一年一取，自然成熟。500 克玻璃瓶装。",
        "description_en": "Wildflower honey from Chinese honey bees (Apis cerana) kept in the mountains of "
        "Shendushui Yao Ethnic Township, taken once a year when fully ripe. 500 g glass jar.",
        "origin_township": "深渡水瑶族乡",
        "origin_village": "大坪村",
        "growing_base": "瑶山养蜂场",
        "season_months": [],
        "storage_class": StorageClass.ambient,
        "shelf_life_days": 730,
        "certifications": [_cert("compliance", "食品生产许可证", "DEMO-SC12644022200008")],
    },
    {
        "slug": "shixing-dried-bamboo-shoots",
        "category": "dried-goods",
        "supplier": "SUP-AZ-BSH",
        "name_zh": "隘子笋干",
        "name_en": "Aizi Dried Bamboo Shoots",
        "description_zh": "隘子镇山区春笋，传统工艺煮制晒干，泡发后炖肉、焖鸭皆宜。500 克袋装。",
        "description_en": "Spring bamboo shoots from the hills of Aizi Town, boiled and sun-dried the "
        "traditional way; soak, then braise with pork or duck. 500 g pack.",
        "origin_township": "隘子镇",
        "origin_village": "满堂村",
        "growing_base": "满堂竹林",
        "season_months": [],
        "storage_class": StorageClass.ambient,
        "shelf_life_days": 365,
        "certifications": [_cert("compliance", _FRUIT_HGZ, "DEMO-HGZ-AZ-0009")],
    },
)


class VariantSeed(NamedTuple):
    product: str  # product slug
    sku: str
    item: int | None  # EAN-13 item number; None for loose produce weighed at the counter
    name_zh: str
    name_en: str
    unit: Unit
    net_weight_grams: int
    case_pack: int
    grade: str
    retail_minor: int  # per unit of the variant (per box, per kg, per 斤 …)
    supply: bool = False
    sort_order: int = 0


# Scale / till key numbers (PLU) of the loose produce weighed at the store counter.
DEMO_PLUS = {"NLP-LOQ-A-JIN": 101, "NLP-BAY-JIN": 102, "NLP-PEAR-KG": 201, "NLP-TARO-KG": 202, "NLP-SWP-KG": 203}


VARIANTS = (
    VariantSeed(
        "shixing-loquat",
        "NLP-LOQ-S-2500G",
        1,
        "特级 2.5 千克礼盒",
        "Premium, 2.5 kg gift box",
        Unit.box,
        2500,
        1,
        "特级",
        12800,
        sort_order=10,
    ),
    VariantSeed(
        "shixing-loquat",
        "NLP-LOQ-S-5KG",
        2,
        "特级 5 千克箱装",
        "Premium, 5 kg box",
        Unit.box,
        5000,
        1,
        "特级",
        23800,
        sort_order=20,
    ),
    VariantSeed(
        "shixing-loquat",
        "NLP-LOQ-A-2500G",
        3,
        "一级 2.5 千克箱装",
        "Grade A, 2.5 kg box",
        Unit.box,
        2500,
        1,
        "一级",
        8800,
        sort_order=30,
    ),
    VariantSeed(
        "shixing-loquat",
        "NLP-LOQ-A-5KG",
        4,
        "一级 5 千克箱装",
        "Grade A, 5 kg box",
        Unit.box,
        5000,
        1,
        "一级",
        15800,
        supply=True,
        sort_order=40,
    ),
    VariantSeed(
        "shixing-loquat",
        "NLP-LOQ-A-JIN",
        None,
        "一级 散装（按斤称重）",
        "Grade A, loose, per jin (500 g)",
        Unit.jin,
        500,
        1,
        "一级",
        1680,
        sort_order=50,
    ),
    VariantSeed(
        "shixing-bayberry",
        "NLP-BAY-2500G",
        11,
        "2.5 千克冷链箱",
        "2.5 kg chilled box",
        Unit.box,
        2500,
        1,
        "一级",
        9800,
        supply=True,
        sort_order=10,
    ),
    VariantSeed(
        "shixing-bayberry",
        "NLP-BAY-JIN",
        None,
        "散装（按斤称重）",
        "Loose, per jin (500 g)",
        Unit.jin,
        500,
        1,
        "一级",
        2200,
        sort_order=20,
    ),
    VariantSeed(
        "shixing-sand-pear",
        "NLP-PEAR-KG",
        None,
        "散装（按千克称重）",
        "Loose, per kg",
        Unit.kg,
        1000,
        1,
        "",
        980,
        sort_order=10,
    ),
    VariantSeed(
        "shixing-sand-pear",
        "NLP-PEAR-10KG",
        21,
        "10 千克箱装",
        "10 kg box",
        Unit.box,
        10000,
        1,
        "",
        8800,
        supply=True,
        sort_order=20,
    ),
    VariantSeed(
        "shixing-taro",
        "NLP-TARO-KG",
        None,
        "散装（按千克称重）",
        "Loose, per kg",
        Unit.kg,
        1000,
        1,
        "",
        760,
        sort_order=10,
    ),
    VariantSeed(
        "shixing-taro",
        "NLP-TARO-10KG",
        31,
        "10 千克整箱",
        "10 kg case",
        Unit.box,
        10000,
        1,
        "",
        6800,
        supply=True,
        sort_order=20,
    ),
    VariantSeed(
        "shixing-sweet-potato",
        "NLP-SWP-KG",
        None,
        "散装（按千克称重）",
        "Loose, per kg",
        Unit.kg,
        1000,
        1,
        "",
        500,
        sort_order=10,
    ),
    VariantSeed(
        "shixing-sweet-potato",
        "NLP-SWP-5KG",
        41,
        "5 千克箱装",
        "5 kg box",
        Unit.box,
        5000,
        1,
        "",
        2600,
        supply=True,
        sort_order=20,
    ),
    VariantSeed(
        "shixing-cured-sausage",
        "NLP-SAUS-500G",
        51,
        "500 克真空装",
        "500 g vacuum pack",
        Unit.piece,
        500,
        20,
        "",
        4800,
        supply=True,
    ),
    VariantSeed(
        "shixing-cured-pork", "NLP-BACON-500G", 52, "500 克真空装", "500 g vacuum pack", Unit.piece, 500, 20, "", 5200
    ),
    VariantSeed(
        "shixing-rice", "NLP-RICE-5KG", 61, "5 千克袋装", "5 kg bag", Unit.piece, 5000, 4, "", 4500, sort_order=10
    ),
    VariantSeed(
        "shixing-rice",
        "NLP-RICE-10KG",
        62,
        "10 千克袋装",
        "10 kg bag",
        Unit.piece,
        10000,
        2,
        "",
        8500,
        supply=True,
        sort_order=20,
    ),
    VariantSeed(
        "shixing-green-tea",
        "NLP-TEA-250G",
        71,
        "250 克罐装",
        "250 g tin",
        Unit.piece,
        250,
        24,
        "特级",
        12800,
        supply=True,
    ),
    VariantSeed(
        "shixing-wildflower-honey",
        "NLP-HONEY-500G",
        81,
        "500 克玻璃瓶",
        "500 g glass jar",
        Unit.piece,
        500,
        12,
        "",
        6800,
        supply=True,
    ),
    VariantSeed(
        "shixing-dried-bamboo-shoots",
        "NLP-BSH-500G",
        91,
        "500 克袋装",
        "500 g pack",
        Unit.piece,
        500,
        20,
        "",
        4500,
        supply=True,
    ),
)

SUPPLY_SKUS = tuple(v.sku for v in VARIANTS if v.supply)


class WholesaleSeed(NamedTuple):
    sku: str
    base_minor: int
    min_cases: int  # MOQ in cases; the increment is one case (the variant's case_pack)
    tiers: tuple[tuple[int, int], ...]  # (from quantity in units, unit price) — prices never rise


WHOLESALE = (
    WholesaleSeed("NLP-LOQ-A-5KG", 12800, 20, ((50, 12200), (100, 11800))),
    WholesaleSeed("NLP-BAY-2500G", 6800, 20, ((50, 6500), (100, 6200))),
    WholesaleSeed("NLP-PEAR-10KG", 6000, 20, ((50, 5700), (100, 5400))),
    WholesaleSeed("NLP-TARO-10KG", 5200, 10, ((30, 4900), (80, 4600))),
    WholesaleSeed("NLP-SWP-5KG", 2000, 20, ((50, 1850), (100, 1700))),
    WholesaleSeed("NLP-SAUS-500G", 3600, 5, ((200, 3450), (400, 3300))),
    WholesaleSeed("NLP-RICE-10KG", 6200, 15, ((100, 5900), (200, 5600))),
    WholesaleSeed("NLP-TEA-250G", 8800, 2, ((96, 8400), (240, 7900))),
    WholesaleSeed("NLP-HONEY-500G", 4200, 3, ((120, 3950), (240, 3700))),
    WholesaleSeed("NLP-BSH-500G", 2800, 3, ((200, 2650), (400, 2500))),
)

# The Guangzhou trader's negotiated prices: below the wholesale list at every quantity.
COMPANY_PRICES = (
    WholesaleSeed("NLP-LOQ-A-5KG", 12000, 20, ((50, 11600), (100, 11200))),
    WholesaleSeed("NLP-BAY-2500G", 6300, 20, ((100, 5900),)),
    WholesaleSeed("NLP-TARO-10KG", 4800, 10, ((80, 4400),)),
)

# ---- buyers and users ---------------------------------------------------------------------------

JIANGNAN = "广州江南果菜批发市场粤北鲜果商行（演示）"

COMPANIES: tuple[dict[str, Any], ...] = (
    {
        "name": JIANGNAN,
        "city": "广州",
        "credit_code": _credit_code("92440111MA5CN8LQ1"),
        "contact_name": "陈志强",
        "contact_phone": "+8613926011234",
        "address": "广州市白云区增槎路江南果菜批发市场（演示地址）",
        "status": CompanyStatus.approved,
        "payment_terms": PaymentTerms.net_30,
        "payment_terms_days": 30,
        "credit_limit_minor": 50_000_000,
        "delivery_weekdays": [2, 5],
        "fapiao_title": "广州江南果菜批发市场粤北鲜果商行（演示）",
    },
    {
        "name": "深圳布吉农产品批发市场鹏城蔬果贸易行（演示）",
        "city": "深圳",
        "credit_code": _credit_code("92440307MA5FD2K63"),
        "contact_name": "林伟东",
        "contact_phone": "+8613580012345",
        "address": "深圳市龙岗区布吉农产品批发市场（演示地址）",
        "status": CompanyStatus.approved,
        "payment_terms": PaymentTerms.net_15,
        "payment_terms_days": 15,
        "credit_limit_minor": 30_000_000,
        "delivery_weekdays": [3, 6],
    },
    {
        "name": "佛山市禅城区好邻里生鲜超市有限公司（演示）",
        "city": "佛山",
        "credit_code": _credit_code("91440604MA4W8R2J5"),
        "contact_name": "梁嘉敏",
        "contact_phone": "+8615976012345",
        "address": "佛山市禅城区季华路（演示地址）",
        "status": CompanyStatus.approved,
        "payment_terms": PaymentTerms.prepay,
        "payment_terms_days": 0,
        "credit_limit_minor": 0,
        "delivery_weekdays": [2, 5],
    },
    {
        "name": "东莞市莞城优鲜连锁超市有限公司（演示）",
        "city": "东莞",
        "credit_code": _credit_code("91441900MA51T7HX4"),
        "contact_name": "袁志华",
        "contact_phone": "+8618819012345",
        "address": "东莞市莞城街道（演示地址）",
        "status": CompanyStatus.pending,
        "payment_terms_days": 30,
        "credit_limit_minor": 0,
    },
)

# Where each demo company receives the truck (the demo ``buyer``'s stall opens before dawn).
DELIVERY_ADDRESSES: tuple[dict[str, Any], ...] = (
    {
        "company": JIANGNAN,
        "city": "广州",
        "address": "广州市白云区增槎路江南果菜批发市场 B 区 12 档（演示地址）",
        "receiving_from": time(5, 0),
        "receiving_until": time(9, 0),
        "contact_name": "陈志强",
        "contact_phone": "+8613926011234",
    },
    {
        "company": "深圳布吉农产品批发市场鹏城蔬果贸易行（演示）",
        "city": "深圳",
        "address": "深圳市龙岗区布吉农产品批发市场水果区 3 栋（演示地址）",
        "receiving_from": time(6, 0),
        "receiving_until": time(10, 0),
        "contact_name": "林伟东",
        "contact_phone": "+8613580012345",
    },
    {
        "company": "佛山市禅城区好邻里生鲜超市有限公司（演示）",
        "city": "佛山",
        "address": "佛山市禅城区季华路好邻里生鲜超市后门卸货区（演示地址）",
        "receiving_from": time(7, 0),
        "receiving_until": time(11, 0),
        "contact_name": "梁嘉敏",
        "contact_phone": "+8615976012345",
    },
)


class UserSeed(NamedTuple):
    username: str
    role: Role
    display_name: str
    phone: str


USERS = (
    UserSeed("admin", Role.admin, "林建华（演示）", "+8613902208001"),
    UserSeed("warehouse", Role.warehouse, "邓国强（演示）", "+8613902208002"),
    UserSeed("clerk", Role.clerk, "曾晓梅（演示）", "+8613902208003"),
    UserSeed("operator", Role.station_operator, "刘桂英（演示）", "+8613902208004"),
    UserSeed("buyer", Role.buyer, "陈志强（演示）", "+8613926011234"),
    UserSeed("customer", Role.customer, "张丽娟（演示）", "+8613902208006"),
    UserSeed("manager", Role.store_manager, "温志坚（演示）", "+8613902208007"),
    UserSeed("official", Role.county_official, "黄文彬（演示）", "+8613902208008"),
    UserSeed("streamer", Role.streamer, "罗小燕（演示主播）", "+8613902208009"),
)
# The demo live-stream seller (主播), linked to the ``streamer`` sign-in: its link is /s/ZB8K3M.
DEMO_SELLER = {"code": "ZB8K3M", "name": "罗小燕·始兴好物直播间（演示）", "commission_bps": 500}
# The till PIN of the demo clerk and store manager (who sign in at a till with user name + PIN).
DEMO_PIN = "2468"
# STORE-01's till: enrol a browser as it from /admin/pos/stores/STORE-01/tills/T1.
DEMO_TILL = {"code": "T1", "name": "1 号收银台", "sale_prefix": "S01A"}

# ---- stock --------------------------------------------------------------------------------------

WAREHOUSE = {"code": "WH-SX", "name": "始兴县电商公共服务中心仓库", "kind": LocationKind.warehouse}


class PrdRouteSeed(NamedTuple):
    """A PRD truck timetable from the county warehouse (the name is made from COUNTY_NAME)."""

    code: str
    cities: tuple[str, ...]
    weekdays: tuple[int, ...]  # ISO: 1 = Monday
    capacity_kg: Decimal
    capacity_cases: int
    cold_chain: bool


# Fresh fruit goes cold to Guangzhou and Foshan three times a week; rice, tea, honey, cured meats
# and dried shoots go in a dry van to Shenzhen and Dongguan on the other days. Orders close at
# 18:00 (China time) the day before either truck leaves.
PRD_ROUTES = (
    PrdRouteSeed("PRD-GZFS", ("广州", "佛山"), (2, 4, 6), Decimal(12000), 400, True),
    PrdRouteSeed("PRD-SZDG", ("深圳", "东莞"), (1, 3, 5), Decimal(10000), 360, False),
)
PRD_CUTOFF = time(18, 0)


def prd_route_name(seed: PrdRouteSeed) -> str:
    county = get_settings().county_name.removesuffix("县")
    return f"{county}→{'/'.join(seed.cities)}{'冷链' if seed.cold_chain else '常温'}线"


DEMO_PURCHASE_SHARE_PERCENT = 55


class LotSeed(NamedTuple):
    sku: str
    # Days before the last in-season day up to today (for processed goods: the production date).
    harvested_days_ago: int
    quantity: str
    quality_notes: str
    past_best_before: bool = False  # left on hand on purpose, waiting to be written off


# 1–3 lots per variant in season. Loquat and bayberry keep only days: one bayberry lot is about to
# expire and one loquat lot is already past its best-before (left on hand, waiting to be written off).
LOTS = (
    LotSeed("NLP-LOQ-S-2500G", 2, "40", "果径 ≥ 4.5 cm，色泽金黄，抽检糖度 13°Bx"),
    LotSeed("NLP-LOQ-S-5KG", 2, "25", "果径 ≥ 4.5 cm，抽检糖度 13°Bx"),
    LotSeed("NLP-LOQ-A-2500G", 9, "18", "上周到货余量，已过保质期，待报损", past_best_before=True),
    LotSeed("NLP-LOQ-A-2500G", 1, "60", "农残快检合格，无机械损伤"),
    LotSeed("NLP-LOQ-A-5KG", 4, "80", "农残快检合格"),
    LotSeed("NLP-LOQ-A-5KG", 1, "120", "农残快检合格，预冷 4 小时"),
    LotSeed("NLP-LOQ-A-JIN", 1, "86.5", "散装周转筐，每筐约 20 斤"),
    LotSeed("NLP-BAY-2500G", 2, "50", "当天采摘预冷，冰袋冷链箱；明天到期，请优先发货"),
    LotSeed("NLP-BAY-2500G", 0, "100", "凌晨采摘，预冷后入冷库"),
    LotSeed("NLP-BAY-JIN", 2, "64", "散装，明天到期，门店优先销售"),
    LotSeed("NLP-PEAR-KG", 20, "182.350", "过磅称重"),
    LotSeed("NLP-PEAR-KG", 6, "240.000", "过磅称重，单果 300–400 克"),
    LotSeed("NLP-PEAR-10KG", 12, "90", "套袋果，无病斑"),
    LotSeed("NLP-PEAR-10KG", 3, "150", "套袋果，无病斑"),
    LotSeed("NLP-TARO-KG", 10, "356.780", "过磅称重，已晾干表皮"),
    LotSeed("NLP-TARO-10KG", 30, "40", "单个 0.8–1.5 千克"),
    LotSeed("NLP-TARO-10KG", 8, "120", "单个 0.8–1.5 千克"),
    LotSeed("NLP-SWP-KG", 14, "268.450", "过磅称重"),
    LotSeed("NLP-SWP-5KG", 40, "60", "已回软糖化"),
    LotSeed("NLP-SWP-5KG", 9, "200", "新挖，需摊晾 3 天"),
    LotSeed("NLP-SAUS-500G", 95, "240", "冬至前一批，真空包装完好"),
    LotSeed("NLP-SAUS-500G", 35, "400", "北风晾晒 15 天，真空包装完好"),
    LotSeed("NLP-BACON-500G", 60, "160", "真空包装完好"),
    LotSeed("NLP-RICE-5KG", 50, "120", "晚造新米，低温碾磨"),
    LotSeed("NLP-RICE-10KG", 150, "80", "早造米，含水率 13.5%"),
    LotSeed("NLP-RICE-10KG", 50, "200", "晚造新米，低温碾磨"),
    LotSeed("NLP-TEA-250G", 210, "96", "春茶，炒青，罐装密封"),
    LotSeed("NLP-TEA-250G", 40, "144", "秋茶，炒青，罐装密封"),
    LotSeed("NLP-HONEY-500G", 120, "144", "波美度 42°，玻璃瓶装"),
    LotSeed("NLP-BSH-500G", 200, "100", "晒干笋片，含水率 ≤ 15%"),
    LotSeed("NLP-BSH-500G", 60, "200", "晒干笋片，含水率 ≤ 15%"),
)

def season_anchor(season_months: Sequence[int], today: date) -> date:
    """The latest day up to ``today`` in one of the season's months: today itself in season or for
    goods sold all year (no months), else the last day of the season that ended most recently."""
    if not season_months or today.month in season_months:
        return today
    year, month = today.year, today.month
    while month not in season_months:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(year, month, calendar.monthrange(year, month)[1])


def demo_harvest_date(seed: LotSeed, season_months: Sequence[int], shelf_life_days: int, today: date) -> date | None:
    """When a demo lot was picked (or made), following its product's season; None when such a lot
    cannot be in the warehouse today.

    The seed's days count back from :func:`season_anchor`, so a lot is always picked in season: a
    lot that would fall before the season began is not there, and neither is one whose best-before
    has passed (it would have been written off long ago) — except the one left on purpose for the
    lots page, and that one only while its product is in season. So out of season a fresh fruit
    has no lot, while storable goods made in season (cured meats in April, sweet potatoes in early
    spring) keep the lots still within their shelf life."""
    anchor = season_anchor(season_months, today)
    harvested = anchor - timedelta(days=seed.harvested_days_ago)
    if season_months and harvested.month not in season_months:
        return None
    if harvested + timedelta(days=shelf_life_days) < today and not (seed.past_best_before and anchor == today):
        return None
    return harvested


# The brand store's first delivery; one jar of honey broke on the way (shows a difference reason).
STORE_DELIVERY_NOTE = "门店首批铺货（演示）"
STORE_DELIVERY = (("NLP-LOQ-A-JIN", "20"), ("NLP-SAUS-500G", "20"), ("NLP-TEA-250G", "12"), ("NLP-HONEY-500G", "12"))
STORE_DELIVERY_SHORT = {"NLP-HONEY-500G": (Decimal(11), "运输途中破损 1 瓶（演示）")}


# Alibaba.com international station: three listings in English with USD ladder prices, complete so
# that the first sync publishes them: each with its product's demo picture and an ICBU leaf
# category (Fresh Fruit › Loquats, Bee Products › Honey, Tea › Green Tea). The category ids are
# demo values — before a live publish, check them for the seller's site with the category API
# (``/alibaba/icbu/category/get/v2``) and pick others in the listing editor if they differ.
_ORIGIN = {"attribute_name": "Place of Origin", "attribute_value": "Guangdong, China"}
_BRAND = {"attribute_name": "Brand Name", "attribute_value": "Nanling Pearl"}
CROSSBORDER_LISTINGS: tuple[dict[str, Any], ...] = (
    {
        "model_number": "NLP-XB-LOQ-A-5KG",
        "category_id": "100003013",
        "product": "shixing-loquat",
        "variant": "NLP-LOQ-A-5KG",
        "title_en": "Fresh Chinese Loquat Grade A 5kg Box, Shixing Guangdong Orchard Direct, Sweet Eriobotrya Fruit",
        "description_en": "Grade A loquats (Eriobotrya japonica) from the hill orchards of Taiping Town, Shixing "
        "County, Guangdong. Picked ripe from late March to early May, graded by size, packed 5 kg per "
        "ventilated carton and pre-cooled before dispatch. Compliance certificate with every lot.",
        "keywords": ["fresh loquat", "chinese loquat fruit", "eriobotrya japonica"],
        "attributes": [_ORIGIN, _BRAND, {"attribute_name": "Grade", "attribute_value": "Grade A"},
                       {"attribute_name": "Storage Type", "attribute_value": "Cool 2-8 C"}],
        "price_tiers": [{"min_quantity": 20, "price_cents": 1980}, {"min_quantity": 100, "price_cents": 1850},
                        {"min_quantity": 300, "price_cents": 1720}],
        "moq": 20,
        "unit": "Box",
        "lead_time_days": 3,
        "weight_kg": Decimal("5.600"),
        "size_cm": {"length": 40, "width": 30, "height": 18},
    },
    {
        "model_number": "NLP-XB-HONEY-500G",
        "category_id": "100002721",
        "product": "shixing-wildflower-honey",
        "variant": "NLP-HONEY-500G",
        "title_en": "Natural Wildflower Honey 500g Glass Jar, Raw Mountain Honey from Guangdong China",
        "description_en": "Wildflower honey from beekeepers in the Yao mountains of Shixing County, Guangdong. "
        "Filtered, not heat-treated, filled in 500 g glass jars; 12 jars per carton.",
        "keywords": ["wildflower honey", "raw natural honey", "chinese mountain honey"],
        "attributes": [_ORIGIN, _BRAND, {"attribute_name": "Packaging", "attribute_value": "Glass Jar"},
                       {"attribute_name": "Shelf Life", "attribute_value": "24 months"}],
        "price_tiers": [{"min_quantity": 120, "price_cents": 690}, {"min_quantity": 480, "price_cents": 640},
                        {"min_quantity": 1200, "price_cents": 590}],
        "moq": 120,
        "unit": "Piece",
        "lead_time_days": 7,
        "weight_kg": Decimal("0.720"),
        "size_cm": {"length": 9, "width": 9, "height": 13},
    },
    {
        "model_number": "NLP-XB-TEA-250G",
        "category_id": "100002683",
        "product": "shixing-green-tea",
        "variant": "NLP-TEA-250G",
        "title_en": "Chinese High Mountain Green Tea 250g Tin, Pan-Fired Loose Leaf from Chebaling Guangdong",
        "description_en": "Pan-fired loose-leaf green tea from high-mountain gardens near Chebaling, Shixing County, "
        "Guangdong. Spring and autumn pickings, sealed in 250 g tins; 24 tins per carton.",
        "keywords": ["green tea", "chinese loose leaf tea", "high mountain tea"],
        "attributes": [_ORIGIN, _BRAND, {"attribute_name": "Tea Type", "attribute_value": "Green Tea"},
                       {"attribute_name": "Packaging", "attribute_value": "Tin"}],
        "price_tiers": [{"min_quantity": 48, "price_cents": 1650}, {"min_quantity": 240, "price_cents": 1520},
                        {"min_quantity": 960, "price_cents": 1390}],
        "moq": 48,
        "unit": "Piece",
        "lead_time_days": 7,
        "weight_kg": Decimal("0.350"),
        "size_cm": {"length": 10, "width": 10, "height": 16},
    },
)


# ---- loading ------------------------------------------------------------------------------------

M = TypeVar("M", bound=IdMixin)


class _Tally:
    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self.present: Counter[str] = Counter()

    def report(self) -> str:
        def part(counts: Counter[str]) -> str:
            return ", ".join(f"{k} {counts[k]}" for k in KINDS if counts[k]) or "none"

        return f"created: {part(self.created)}; already present: {part(self.present)}"


async def _ensure(
    session: AsyncSession,
    tally: _Tally,
    kind: str,
    model: type[M],
    key: Mapping[str, Any],
    values: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
) -> int:
    """The id of the row with this natural key, inserting it (key + values) only when missing.

    The select spares work (password hashing) on a re-run; ``ON CONFLICT DO NOTHING`` on the key
    makes a concurrent seeder's insert harmless rather than a unique violation.
    """
    found = await demo_queries.id_by_key(session, model, key)
    if found is None:
        row = {**(values() if callable(values) else values), **key}
        new_id = await demo_queries.insert_by_key(session, model, row, list(key))
        if new_id is not None:
            tally.created[kind] += 1
            return new_id
        found = await demo_queries.id_by_key(session, model, key)
        if found is None:  # pragma: no cover - only if the other seeder rolled back in between
            raise RuntimeError(f"demo {kind} row {dict(key)} vanished")
    tally.present[kind] += 1
    return found


def _split(record: Mapping[str, Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A seed record as (natural key, other columns)."""
    fields = dict(record)
    return {key: fields.pop(key)}, fields


async def _price_item(
    session: AsyncSession,
    tally: _Tally,
    list_id: int,
    variant_id: int,
    *,
    price: int,
    min_quantity: Decimal,
    increment: Decimal,
    tiers: Sequence[tuple[int, int]] = (),
) -> None:
    item_id = await _ensure(
        session,
        tally,
        "price_items",
        PriceListItem,
        {"price_list_id": list_id, "variant_id": variant_id},
        {"unit_price_minor": price, "min_quantity": min_quantity, "increment": increment},
    )
    for from_quantity, tier_price in tiers:
        await _ensure(
            session,
            tally,
            "price_tiers",
            PriceTier,
            {"item_id": item_id, "min_quantity": Decimal(from_quantity)},
            {"unit_price_minor": tier_price},
        )


def _retail_steps(unit: Unit) -> tuple[Decimal, Decimal]:
    """(minimum, increment) on the retail list: weighed goods from 0.5 kg / 1 斤, to the gram / 0.1 斤."""
    if unit is Unit.kg:
        return Decimal("0.5"), Decimal("0.001")
    if unit is Unit.jin:
        return Decimal(1), Decimal("0.1")
    return Decimal(1), Decimal(1)


async def _user(
    session: AsyncSession,
    tally: _Tally,
    seed: UserSeed,
    *,
    company_id: int | None = None,
    station_id: int | None = None,
    store_id: int | None = None,
) -> int:
    return await _ensure(
        session,
        tally,
        "users",
        User,
        {"username": seed.username},
        lambda: {
            "password_hash": hash_password(DEMO_PASSWORD),
            "pin_hash": hash_password(DEMO_PIN) if seed.role in (Role.clerk, Role.store_manager) else None,
            "role": seed.role,
            "display_name": seed.display_name,
            "phone": seed.phone,
            "is_active": True,
            "company_id": company_id,
            # The demo buyer is its company's only buyer, so its owner (colleagues, API keys).
            "is_company_owner": seed.role is Role.buyer,
            "station_id": station_id,
            "store_id": store_id,
        },
    )


async def _till_and_manager(session: AsyncSession, tally: _Tally, store_id: int, manager_id: int) -> None:
    """STORE-01 gets one till and the demo store manager."""
    key, values = _split({**DEMO_TILL, "store_id": store_id}, "sale_prefix")
    await _ensure(session, tally, "tills", Till, key, values)
    if await demo_queries.insert_if_absent(
        session, StoreManager, StoreManager.user_id, store_id=store_id, user_id=manager_id
    ):
        tally.created["store_managers"] += 1
    else:
        tally.present["store_managers"] += 1


async def _growers(
    session: AsyncSession, tally: _Tally, suppliers: Mapping[str, int], products: Mapping[str, int]
) -> None:
    """Each demo product's supplier is registered as its grower, so receiving works as shipped
    (and receiving honey from the bamboo-shoot co-operative is refused, as it should be)."""
    for product in PRODUCTS:
        if await demo_queries.insert_if_absent(
            session,
            SupplierProduct,
            SupplierProduct.product_id,
            supplier_id=suppliers[product["supplier"]],
            product_id=products[product["slug"]],
        ):
            tally.created["supplier_products"] += 1
        else:
            tally.present["supplier_products"] += 1


async def _locations(
    session: AsyncSession, tally: _Tally, stores: Mapping[str, int], stations: Mapping[str, int]
) -> None:
    """The county warehouse, one location per brand store and per village station."""
    await _ensure(session, tally, "locations", Location, *_split(WAREHOUSE, "code"))
    store_names = {s["code"]: s["name"] for s in STORES}
    for code, store_id in stores.items():
        values = {"name": store_names[code], "kind": LocationKind.store, "store_id": store_id}
        await _ensure(session, tally, "locations", Location, {"code": code}, values)
    station_names = {row["code"]: row["name"] for row in station_rows()}
    for code, station_id in stations.items():
        values = {"name": station_names[code], "kind": LocationKind.station, "station_id": station_id}
        await _ensure(session, tally, "locations", Location, {"code": code}, values)


async def _lots(session: AsyncSession, tally: _Tally, variants: Mapping[str, int], actor_user_id: int) -> None:
    """Receive the demo harvest lots into the warehouse, for variants that have no lot yet, as far
    as the product's season allows today (:func:`demo_harvest_date`)."""
    from app.supply import service

    today = clock.today()
    supplier_of = {p["slug"]: p["supplier"] for p in PRODUCTS}
    product_of = {v.sku: v.product for v in VARIANTS}
    # What the centre paid the grower (the upward flow's value on the county dashboard): a demo
    # figure of a bit over half the shop price.
    purchase_price = {v.sku: v.retail_minor * DEMO_PURCHASE_SHARE_PERCENT // 100 for v in VARIANTS}
    seasons = {p["slug"]: (p["season_months"], p["shelf_life_days"]) for p in PRODUCTS}
    for sku in dict.fromkeys(seed.sku for seed in LOTS):
        existing = await demo_queries.lot_count(session, variants[sku])
        if existing:
            tally.present["lots"] += existing
            continue
        for number, seed in enumerate(LOTS, start=1):
            if seed.sku != sku:
                continue
            harvested = demo_harvest_date(seed, *seasons[product_of[sku]], today)
            if harvested is None:  # out of season, or long past its best-before by now
                continue
            await service.receive_lot(
                session,
                service.ReceiptInput(
                    sku=sku,
                    supplier_code=supplier_of[product_of[sku]],
                    quantity=Decimal(seed.quantity),
                    harvest_date=harvested,
                    certificate_no=f"DEMO-HG-{harvested:%Y%m%d}-{number:03d}",
                    quality_notes=seed.quality_notes,
                    location_code=WAREHOUSE["code"],
                    purchase_price_minor=purchase_price[sku],
                ),
                actor_user_id=actor_user_id,
                # Received the day it was picked, so the lot code carries that date and the lot
                # that has since expired was still good when it came in.
                today=harvested,
            )
            tally.created["lots"] += 1


async def _store_delivery(
    session: AsyncSession, tally: _Tally, variants: Mapping[str, int], actor_user_id: int
) -> None:
    """Ship a few units to STORE-01 and receive them there, once."""
    from app.supply import transfers

    store = await demo_queries.location_id(session, "STORE-01")
    found = await demo_queries.transfers_to_with_note(session, store, STORE_DELIVERY_NOTE)
    if found:
        tally.present["transfers"] += found
        return
    warehouse_id = await demo_queries.location_id(session, WAREHOUSE["code"])
    lines = []
    for sku, quantity in STORE_DELIVERY:
        code = await demo_queries.first_expiring_lot_code(
            session, warehouse_id, variants[sku], Decimal(quantity), clock.today()
        )
        if code is not None:
            lines.append((sku, transfers.ShipLine(code, Decimal(quantity))))
    if not lines:
        return
    shipped = await transfers.ship(
        session,
        from_code=WAREHOUSE["code"],
        to_code="STORE-01",
        lines=[line for _, line in lines],
        note=STORE_DELIVERY_NOTE,
        actor_user_id=actor_user_id,
    )
    received = [
        transfers.ReceivedLine(line.lot_code, *STORE_DELIVERY_SHORT[sku])
        for sku, line in lines
        if sku in STORE_DELIVERY_SHORT
    ]
    await transfers.receive(session, shipped.number, received=received, actor_user_id=actor_user_id)
    tally.created["transfers"] += 1


async def _routes(session: AsyncSession, tally: _Tally, stations: Mapping[str, int]) -> None:
    """The demo routes and their stops. A route that already has stops is left as the operators
    arranged it; a station already on some route is not moved (one route per station)."""
    stops = route_stop_codes()
    for seed in ROUTES:
        route_id = await _ensure(
            session, tally, "routes", DeliveryRoute, {"code": seed.code}, {"name": seed.name, "is_active": True}
        )
        existing = await demo_queries.stop_count(session, route_id)
        if existing:
            tally.present["route_stops"] += existing
            continue
        placed = await demo_queries.stations_on_routes(session)
        position = 0
        for code in stops[seed.code]:
            if stations[code] in placed:
                continue
            position += 1
            # Any unique violation (a concurrent seeder placed this station or position) is a no-op.
            if await demo_queries.insert_if_absent(
                session, RouteStop, RouteStop.id, route_id=route_id, station_id=stations[code], position=position
            ):
                tally.created["route_stops"] += 1


async def _prd_routes(session: AsyncSession, tally: _Tally) -> None:
    """The PRD truck routes from the county warehouse; an existing one is left as the centre edited it."""
    warehouse_id = await demo_queries.location_id(session, WAREHOUSE["code"])
    for seed in PRD_ROUTES:
        values = {
            "name": prd_route_name(seed),
            "origin_location_id": warehouse_id,
            "cities": list(seed.cities),
            "weekdays": list(seed.weekdays),
            "cutoff_time": PRD_CUTOFF,
            "cutoff_days_before": 1,
            "capacity_kg": seed.capacity_kg,
            "capacity_cases": seed.capacity_cases,
            "cold_chain": seed.cold_chain,
            "is_active": True,
        }
        await _ensure(session, tally, "wholesale_routes", WholesaleRoute, {"code": seed.code}, values)


async def database_is_empty(session: AsyncSession) -> bool:
    """True when no user exists yet: the signal that a fresh demo database wants its data."""
    return not await demo_queries.any_user(session)


async def seed_demo(session: AsyncSession, *, uploads_dir: Path | None = None) -> str:
    """Insert whatever demo rows are missing and report what was created and what was already there.
    Pictures are written under ``uploads_dir`` (default: the configured one)."""
    tally = _Tally()
    uploads = uploads_dir if uploads_dir is not None else get_settings().uploads_dir

    stations: dict[str, int] = {}
    for row in station_rows():
        stations[row["code"]] = await _ensure(session, tally, "stations", Station, *_split(row, "code"))
    await _routes(session, tally, stations)
    stores: dict[str, int] = {}
    for store in STORES:
        stores[store["code"]] = await _ensure(session, tally, "stores", Store, *_split(store, "code"))
    suppliers: dict[str, int] = {}
    for supplier in SUPPLIERS:
        suppliers[supplier["code"]] = await _ensure(session, tally, "suppliers", Supplier, *_split(supplier, "code"))

    categories: dict[str, int] = {}
    for category in CATEGORIES:
        categories[category["slug"]] = await _ensure(session, tally, "categories", Category, *_split(category, "slug"))
    products: dict[str, int] = {}
    for product in PRODUCTS:
        key, fields = _split(product, "slug")
        fields["category_id"] = categories[fields.pop("category")]
        fields["supplier_id"] = suppliers[fields.pop("supplier")]
        products[product["slug"]] = await _ensure(
            session, tally, "products", Product, key, {**fields, "is_active": True}
        )
    await _growers(session, tally, suppliers, products)
    pictures = await _pictures(session, tally, products, uploads)
    variants: dict[str, int] = {}
    for v in VARIANTS:
        variants[v.sku] = await _ensure(
            session,
            tally,
            "variants",
            Variant,
            {"sku": v.sku},
            {
                "product_id": products[v.product],
                "barcode": None if v.item is None else _ean13(v.item),
                "plu": DEMO_PLUS.get(v.sku),
                "name_zh": v.name_zh,
                "name_en": v.name_en,
                "unit": v.unit,
                "net_weight_grams": v.net_weight_grams,
                "case_pack": v.case_pack,
                "grade": v.grade,
                "is_supply_sku": v.supply,
                "is_active": True,
                "sort_order": v.sort_order,
            },
        )

    admin_id = await _user(session, tally, USERS[0])
    companies: dict[str, int] = {}
    for company in COMPANIES:
        key, fields = _split(company, "name")
        if fields["status"] is CompanyStatus.approved:
            fields.update(approved_at=clock.now(), approved_by_id=admin_id)
        companies[company["name"]] = await _ensure(session, tally, "buyer_companies", BuyerCompany, key, fields)
    for place in DELIVERY_ADDRESSES:
        values = {k: v for k, v in place.items() if k not in ("company", "address")}
        await _ensure(
            session,
            tally,
            "company_delivery_addresses",
            DeliveryAddress,
            {"company_id": companies[place["company"]], "address": place["address"]},
            {**values, "is_active": True},
        )

    retail = await _ensure(
        session,
        tally,
        "price_lists",
        PriceList,
        {"code": RETAIL_LIST},
        {"name": "零售价（网店与门店）", "kind": PriceListKind.retail, "currency": "CNY"},
    )
    for v in VARIANTS:
        minimum, step = _retail_steps(v.unit)
        await _price_item(
            session, tally, retail, variants[v.sku], price=v.retail_minor, min_quantity=minimum, increment=step
        )
    wholesale = await _ensure(
        session,
        tally,
        "price_lists",
        PriceList,
        {"code": WHOLESALE_LIST},
        {"name": "珠三角批发价", "kind": PriceListKind.wholesale, "currency": "CNY"},
    )
    company_list = await _ensure(
        session,
        tally,
        "price_lists",
        PriceList,
        {"code": COMPANY_LIST_CODE},
        {
            "name": "江南果菜商行协议价（演示）",
            "kind": PriceListKind.company,
            "company_id": companies[JIANGNAN],
            "currency": "CNY",
        },
    )
    case_pack = {v.sku: v.case_pack for v in VARIANTS}
    for list_id, seeds in ((wholesale, WHOLESALE), (company_list, COMPANY_PRICES)):
        for w in seeds:
            pack = Decimal(case_pack[w.sku])
            await _price_item(
                session,
                tally,
                list_id,
                variants[w.sku],
                price=w.base_minor,
                min_quantity=pack * w.min_cases,
                increment=pack,
                tiers=w.tiers,
            )

    by_name = {u.username: u for u in USERS}
    warehouse_user = await _user(session, tally, by_name["warehouse"])
    await _user(session, tally, by_name["clerk"], store_id=stores["STORE-01"])
    await _till_and_manager(session, tally, stores["STORE-01"], await _user(session, tally, by_name["manager"]))
    await _user(session, tally, by_name["operator"], station_id=stations[OPERATOR_STATION])
    await _user(session, tally, by_name["buyer"], company_id=companies[JIANGNAN])
    await _user(session, tally, by_name["customer"])
    await _user(session, tally, by_name["official"])
    streamer_id = await _user(session, tally, by_name["streamer"])
    await _ensure(
        session,
        tally,
        "streamer_sellers",
        Seller,
        {"code": DEMO_SELLER["code"]},
        {**DEMO_SELLER, "active": True, "user_id": streamer_id},
    )

    await _locations(session, tally, stores, stations)
    await session.flush()
    await _farm_event(session, tally, admin_id)
    await _prd_routes(session, tally)
    await _lots(session, tally, variants, warehouse_user)
    await _store_delivery(session, tally, variants, warehouse_user)
    await _crossborder_listings(session, tally, products, variants, pictures)
    await _county_plan(session, tally, stations, admin_id, uploads)
    await _presale_wave(session, tally)

    await session.flush()
    return tally.report()


# ---- one open harvest pre-sale wave (app.presales) ----------------------------------------------------

DEMO_WAVE_CODE = "PS-DEMO-LOQ"
DEMO_WAVE_SKU = "NLP-LOQ-A-5KG"


def demo_wave_dates(today: date) -> tuple[datetime, date, date]:
    """The next loquat harvest's pre-sale: picking from 25 March to 15 April, orders until 20:00 China
    time five days before (next year's when this year's cut-off has passed)."""
    for year in (today.year, today.year + 1):
        harvest_from = date(year, 3, 25)
        cutoff = datetime.combine(harvest_from - timedelta(days=5), time(20, 0), clock.business_tz())
        if cutoff.date() > today:
            return cutoff, harvest_from, date(year, 4, 15)
    raise AssertionError("unreachable: next year's cut-off is always ahead")


async def _presale_wave(session: AsyncSession, tally: _Tally) -> None:
    """One open wave for the next loquat harvest, named with the configured county (once)."""
    if await presale_repository.code_taken(session, DEMO_WAVE_CODE):
        tally.present["presale_waves"] += 1
        return
    cutoff, harvest_from, harvest_to = demo_wave_dates(clock.today())
    county = get_settings().county_short_name
    wave = await presale_service.create_wave(
        session,
        presale_service.WaveInput(
            title=f"{county}枇杷 一级 5 千克箱装 · 首批采收预售（演示）",
            description=f"{county}太平镇坡地果园首批采收，先订后采，按下单顺序配货，随线路送到村站自提。",
            sku=DEMO_WAVE_SKU,
            price_minor=14800,
            cap=200,
            cutoff_at=cutoff,
            harvest_from=harvest_from,
            harvest_to=harvest_to,
            max_per_order=5,
            pay_at_pickup=True,
            pickup_boxes_per_phone=2,
        ),
    )
    wave.code = DEMO_WAVE_CODE
    await session.flush()
    await presale_service.open_wave(session, DEMO_WAVE_CODE)
    tally.created["presale_waves"] += 1
# ---- an upcoming picking event (农旅活动), its tickets sold in the shop ------------------------------

# Meets at the demo operator's station, so the ``operator`` sign-in checks its tickets in.
DEMO_EVENT_STATION = OPERATOR_STATION
DEMO_EVENT_SLOTS = ((9, 12), (14, 17))  # China-time hours of the two slots, 10 days after seeding


async def _farm_event(session: AsyncSession, tally: _Tally, admin_id: int) -> None:
    """One upcoming picking event with a morning and an afternoon slot of 30 places each."""
    from app.events import service as events

    title = f"{get_settings().county_short_name}杨梅采摘体验日（演示）"
    if await demo_queries.id_by_key(session, FarmEvent, {"title": title}) is not None:
        tally.present["farm_events"] += 1
        return
    event = await events.create_event(
        session,
        events.EventData(
            title=title,
            place="马市镇杨梅基地（演示）",
            meeting_station_code=DEMO_EVENT_STATION,
            adult_price_minor=68_00,
            child_price_minor=38_00,
            cancel_hours_before=24,
            description="跟果农进园采摘当季杨梅，每位成人可带走 1 斤；含农家午餐。集合后统一乘车前往。",
        ),
        actor_user_id=admin_id,
    )
    day = clock.today() + timedelta(days=10)
    for start, end in DEMO_EVENT_SLOTS:
        await events.add_slot(
            session,
            event.id,
            starts_at=datetime.combine(day, time(start), clock.business_tz()),
            ends_at=datetime.combine(day, time(end), clock.business_tz()),
            places=30,
        )
    tally.created["farm_events"] += 1


# ---- the plan's register: a few evidence records, devices and payments (all marked 演示) ---------


class EvidenceSeed(NamedTuple):
    kind: EvidenceKind
    day: date
    title: str
    place: str = ""
    participants: int | None = None
    link: str = ""


CENTRE = "县电子商务公共服务中心"
COUNTY_EVIDENCE = (
    EvidenceSeed(EvidenceKind.centre_event, date(2021, 11, 20), "电商沙龙：农产品直播选品（演示）", CENTRE, 52),
    EvidenceSeed(EvidenceKind.centre_event, date(2021, 12, 18), "年货节电商大赛启动会（演示）", CENTRE, 45),
    EvidenceSeed(EvidenceKind.centre_event, date(2022, 3, 26), "枇杷季电商沙龙（演示）", CENTRE, 38),
    EvidenceSeed(EvidenceKind.crossborder_training, date(2022, 4, 15), "阿里巴巴国际站运营培训（演示）", "孵化室", 30),
    EvidenceSeed(EvidenceKind.platform_training, date(2022, 5, 20), "拼多多店铺运营专项培训（演示）", "孵化室", 41),
    EvidenceSeed(EvidenceKind.agritourism, date(2022, 6, 11), "杨梅采摘体验日（演示）", "马市镇", 120),
    EvidenceSeed(EvidenceKind.trade_fair, date(2022, 7, 8), "广东现代农业博览会参展（演示）", "广州", 8),
    EvidenceSeed(EvidenceKind.enterprise_guided, date(2022, 4, 20), "示例米业有限公司开通网店（演示）"),
    EvidenceSeed(EvidenceKind.seller_incubated, date(2022, 6, 30), "抖音账号 @枇杷姐姐（演示账号）"),
    EvidenceSeed(EvidenceKind.film_1min, date(2022, 8, 10), "农特产品形象片：枇杷（演示）", link="https://example.com/demo/film-loquat"),
)  # fmt: skip
# (kind, serial, n-th station by code, deployed, retired): one PDA retired after a fall.
RETIRED = date(2022, 3, 1)
COUNTY_ASSETS = tuple(
    (AssetKind.printer, f"DEMO-PRN-{n:03d}", n, date(2021, 11, 15) + timedelta(days=3 * n), None) for n in range(8)
) + tuple(
    (AssetKind.pda, f"DEMO-PDA-{n:03d}", n, date(2021, 12, 1) + timedelta(days=2 * n), RETIRED if n == 5 else None)
    for n in range(6)
)  # fmt: skip
# (budget line, date, fen, payee, voucher)
COUNTY_SPENDING = (
    ("2021.2.1", date(2021, 12, 10), 45_000_00, "演示办公设备有限公司", "演示-2021-12-001"),
    ("2021.2.2", date(2021, 12, 15), 126_000_00, "演示信息科技有限公司", "演示-2021-12-002"),
    ("2021.1.1", date(2021, 11, 22), 18_600_00, "演示会务服务有限公司", "演示-2021-11-003"),
    ("2021.1.1", date(2022, 3, 28), 15_200_00, "演示会务服务有限公司", "演示-2022-03-004"),
    ("2021.5.1-3", date(2022, 4, 16), 22_000_00, "演示培训服务有限公司", "演示-2022-04-005"),
    ("2021.4.5", date(2022, 8, 12), 60_000_00, "演示文化传媒有限公司", "演示-2022-08-006"),
)


def demo_event_photo(title: str, hue: int) -> bytes:
    """A drawn stand-in for an event photo: a hall, a banner and the word 演示."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), (236, 231, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 260, 640, 400), fill=(200, 190, 170))
    draw.rectangle((80, 40, 560, 130), fill=(160 + hue % 60, 40, 40))
    for row in range(3):
        for seat in range(8):
            x, y = 70 + seat * 65, 290 + row * 35
            draw.ellipse((x, y, x + 28, y + 28), fill=(60 + 20 * row, 70, 90 + hue % 80))
    font = cjk_font(34)
    if font is not None:
        draw.text((100, 62), title[:13], fill=(255, 240, 200), font=font)
        draw.text((500, 340), "演示", fill=(120, 30, 30), font=cjk_font(40) or font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def _county_plan(
    session: AsyncSession, tally: _Tally, stations: Mapping[str, int], admin_id: int, uploads_dir: Path
) -> None:
    """Evidence (events with a drawn photo), printers and PDAs at the first stations, and payments
    against a few budget lines, so the plan's pages are not empty. Keyed like the rest: a re-run
    adds only what is missing."""
    for n, seed in enumerate(COUNTY_EVIDENCE):
        key = {"kind": seed.kind, "happened_on": seed.day, "title": seed.title}
        if await demo_queries.id_by_key(session, Evidence, key) is not None:
            tally.present["county_evidence"] += 1
            continue
        await county_targets.record_evidence(
            session, kind=seed.kind, happened_on=seed.day, title=seed.title, place=seed.place,
            participants=seed.participants, link=seed.link, summary="演示数据：仅供体验页面。",
            photos=[demo_event_photo(seed.title, 37 * n)] if seed.kind.is_event else [],
            uploads_dir=uploads_dir, max_bytes=get_settings().max_image_bytes, actor_user_id=admin_id,
        )  # fmt: skip
        tally.created["county_evidence"] += 1
    codes = sorted(stations)
    for kind, serial, index, deployed, retired in COUNTY_ASSETS:
        await _ensure(
            session, tally, "county_assets", Asset, {"serial": serial},
            {"kind": kind, "station_id": stations[codes[index]], "deployed_on": deployed, "retired_on": retired,
             "note": "演示设备", "updated_by_id": admin_id},
        )  # fmt: skip
    lines = {code: await demo_queries.id_by_key(session, BudgetLine, {"code": code}) for code, *_ in COUNTY_SPENDING}
    for code, day, fen, payee, voucher in COUNTY_SPENDING:
        line_id = lines[code]
        if line_id is None:  # the centre removed or renamed the line: nothing to attach to
            continue
        await _ensure(
            session, tally, "county_spending", Spending, {"line_id": line_id, "voucher_number": voucher},
            {"spent_on": day, "amount_fen": fen, "payee": payee, "note": "演示数据", "created_by_id": admin_id,
             "updated_by_id": admin_id},
        )  # fmt: skip


async def _pictures(
    session: AsyncSession, tally: _Tally, products: Mapping[str, int], uploads_dir: Path
) -> dict[str, str]:
    """A drawn picture for each demo product without an image, stored like an uploaded photo
    (re-encoded, its list thumbnail made now); returns each product's first image path."""
    from app.catalog import service as catalog

    max_bytes = get_settings().max_image_bytes
    first: dict[str, str] = {}
    for seed in PRODUCTS:
        slug, name = seed["slug"], seed["name_zh"]
        paths = await demo_queries.image_paths(session, products[slug])
        if paths:
            tally.present["product_images"] += len(paths)
            first[slug] = paths[0]
            continue
        content = await asyncio.to_thread(product_picture, slug, name)  # drawing takes a moment
        image = await catalog.add_image(
            session,
            products[slug],
            content=content,
            uploads_dir=uploads_dir,
            max_bytes=max_bytes,
            alt_zh=f"{name}（示意插图）",
            thumbnail_now=True,
        )
        tally.created["product_images"] += 1
        first[slug] = image.path
    return first


async def _crossborder_listings(
    session: AsyncSession,
    tally: _Tally,
    products: Mapping[str, int],
    variants: Mapping[str, int],
    pictures: Mapping[str, str],
) -> None:
    """Without ALIBABA_APP_KEY / SECRET the listings are ``not_connected`` (kept locally, nothing sent);
    with them, ``draft`` until the first sync. A listing an earlier demo left without category and
    images, never edited since, is completed."""
    state = ListingState.draft if get_settings().alibaba_configured else ListingState.not_connected
    for seed in CROSSBORDER_LISTINGS:
        key, fields = _split(seed, "model_number")
        product = fields.pop("product")
        fields["product_id"] = products[product]
        fields["variant_id"] = variants[fields.pop("variant")]
        images = [pictures[product]]
        listing_id = await _ensure(
            session,
            tally,
            "alibaba_listings",
            Listing,
            key,
            {
                **fields,
                "image_paths": images,
                "shipping_template_id": None,
                "state": state,
                "state_message": "",
                "desired_online": True,
            },
        )
        listing = await session.get(Listing, listing_id)
        if (
            listing is not None
            and listing.category_id is None
            and not listing.image_paths
            and listing.content_version == 1
            and listing.remote_product_id is None
        ):
            listing.category_id, listing.image_paths = fields["category_id"], images
