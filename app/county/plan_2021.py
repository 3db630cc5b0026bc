"""The 2021 plan's targets and budget table as data (始府办〔2021〕12号, sections 三, 四, 五).

Frozen: migration ``0032_county_plan`` inserts these rows into the empty register, so a fresh
production install has them; later years are edited or added by admins on the pages, never here.

Periods come from the plan's 四、项目实施计划 (时间安排): most items run 2021-11 to 2022-08; the
procurement of printers and PDAs and the 30 new stations were scheduled for 2021-11 to 2021-12,
the brand store for 2021-11 to 2024-08.

Budget (五、项目资金预算计划表, 万元 → fen × 1,000,000). Where the plan's table gives one merged
amount for several items (上行 1–2: 90; 上行 3–4: 110; 培训 1–3: 40), they are one budget line.
The 合计 column holds a category total for the first three categories (168 / 104 / 78) and a per
line amount for the last two. The lines add up to 610 万元 while the table's final 合计 row says
500 万元; both are kept (:data:`STATED_GRAND_TOTAL_FEN`) and the funds page shows the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.county.models import EvidenceKind, TargetMetric

WAN_FEN = 1_000_000  # 1 万元 = 10,000 元 = 1,000,000 分

MAIN_PERIOD = (date(2021, 11, 1), date(2022, 8, 31))
PROCUREMENT_PERIOD = (date(2021, 11, 1), date(2021, 12, 31))
BRAND_STORE_PERIOD = (date(2021, 11, 1), date(2024, 8, 31))


@dataclass(frozen=True)
class PlanTarget:
    code: str
    section: str
    title: str
    unit: str
    planned: int
    period: tuple[date, date]
    source: TargetMetric | EvidenceKind


TARGETS: tuple[PlanTarget, ...] = (
    PlanTarget(
        "centre_events", "三(一)1", "电子商务公共服务中心活动", "场", 12, MAIN_PERIOD, EvidenceKind.centre_event
    ),
    PlanTarget(
        "label_printers", "三(二)1", "物流打单机部署到村站", "台", 70, PROCUREMENT_PERIOD, TargetMetric.label_printers
    ),
    PlanTarget("pdas", "三(二)2", "物流 PDA 部署到村站", "台", 70, PROCUREMENT_PERIOD, TargetMetric.pdas),
    PlanTarget("new_stations", "三(二)3", "新增村级站点", "个", 30, PROCUREMENT_PERIOD, TargetMetric.new_stations),
    PlanTarget(
        "demonstration_stations", "三(二)4", "示范站达到示范标准", "个", 6, MAIN_PERIOD,
        TargetMetric.demonstration_stations,
    ),
    PlanTarget(
        "crossborder_listings", "三(四)1", "跨境电商平台上架运营网货单品", "个", 3, MAIN_PERIOD,
        TargetMetric.crossborder_listings,
    ),
    PlanTarget("supply_skus", "三(四)2", "到珠三角的供货单品", "款", 10, MAIN_PERIOD, TargetMetric.supply_skus),
    # Counted from the ticketed events the centre runs (app.events), not from evidence entries.
    PlanTarget("agritourism", "三(四)3", "农旅结合活动", "场", 2, MAIN_PERIOD, TargetMetric.agritourism_events),
    PlanTarget("trade_fairs", "三(四)3", "参加省内外大型展销活动", "次", 5, MAIN_PERIOD, EvidenceKind.trade_fair),
    PlanTarget("brand_store", "三(四)4", "品牌形象店开业", "家", 1, BRAND_STORE_PERIOD, TargetMetric.brand_stores),
    PlanTarget("film_3min", "三(四)5", "区域公共品牌宣传片（3 分钟）", "条", 1, MAIN_PERIOD, EvidenceKind.film_3min),
    PlanTarget("films_1min", "三(四)5", "农特产品形象片（1 分钟）", "条", 5, MAIN_PERIOD, EvidenceKind.film_1min),
    PlanTarget(
        "crossborder_trainings", "三(五)1", "跨境电商培训", "场", 2, MAIN_PERIOD, EvidenceKind.crossborder_training
    ),
    PlanTarget(
        "platform_trainings", "三(五)2", "电商平台运营技能专项培训", "场", 2, MAIN_PERIOD,
        EvidenceKind.platform_training,
    ),
    PlanTarget(
        "enterprises_guided", "三(五)2", "培训或指导传统企业转型升级触网", "家", 10, MAIN_PERIOD,
        EvidenceKind.enterprise_guided,
    ),
    # Counted from the live-stream sellers the centre registers (app.streamers), not from evidence.
    PlanTarget(
        "livestream_sellers", "三(五)3", "孵化直播网红", "人", 10, MAIN_PERIOD, TargetMetric.livestream_sellers
    ),
)  # fmt: skip


@dataclass(frozen=True)
class PlanCategory:
    code: str
    title: str
    total_wan: Decimal | None


@dataclass(frozen=True)
class PlanLine:
    code: str
    category: str  # PlanCategory.code
    number: str
    title: str
    content: str
    central_wan: Decimal
    total_wan: Decimal | None


CATEGORIES: tuple[PlanCategory, ...] = (
    PlanCategory("2021.1", "优化完善公共服务体系", Decimal(168)),
    PlanCategory("2021.2", "优化原有电商物流站点", Decimal(104)),
    PlanCategory("2021.3", "优化物流体系", Decimal(78)),
    PlanCategory("2021.4", "加强农产品上行体系建设", None),
    PlanCategory("2021.5", "加强电商培训体系建设", None),
)


def _line(category: str, number: str, title: str, content: str, central: str, total: str | None = None) -> PlanLine:
    return PlanLine(
        f"{category}.{number}", category, number, title, content, Decimal(central), Decimal(total) if total else None
    )


LINES: tuple[PlanLine, ...] = (
    _line("2021.1", "1", "公共服务中心活动（不少于 12 场）",
          "举办不少于 12 场的电子商务公共服务中心活动，活动包含但不限于电商沙龙、电商大赛等形式。", "96"),
    _line("2021.1", "2", "升级建设公共服务中心文体室", "升级建设公共服务中心文体室", "3"),
    _line("2021.1", "3", "孵化室升级，采购 20 台电脑", "孵化室升级，采购 20 台电脑", "9"),
    _line("2021.1", "4", "县级公共服务中心运营和管理",
          "持续做好县级电子商务公共服务中心的运营和管理，检修中心设备设施，开展电商创业孵化咨询等服务。", "50"),
    _line("2021.1", "5", "入驻企业/个人奖励扶持", "入驻企业/个人奖励扶持", "10"),
    _line("2021.2", "1", "采购物流打单机 70 台", "采购物流打单机 70 台", "4.5"),
    _line("2021.2", "2", "采购物流 PDA 70 台", "采购物流 pda 70 台", "14"),
    _line("2021.2", "3", "新增 30 个村级站点", "新增 30 个村级站点，形成电商体系覆盖网络", "35"),
    _line("2021.2", "4", "打造 6 个示范村级服务站",
          "筛选出 6 个村级电商物流服务站打造成为示范点：助农或兴农案例不少于 5 个；服务人数不少于 100 人；"
          "便民服务案例不少于 10 个。", "40.5"),
    _line("2021.2", "5", "站点物流、产品上下行奖励扶持", "站点物流、产品上下行奖励扶持", "10"),
    _line("2021.3", "1", "建设物流线路沙盘", "建设物流线路沙盘", "3"),
    _line("2021.3", "2", "物流仓库维护", "物流仓库维护", "15"),
    _line("2021.3", "3", "快递物流降费补贴", "支持快递物流降费补贴", "10"),
    _line("2021.3", "4", "商贸流通企业数字化转型",
          "支持始兴县 1-2 家商贸流通企业的数字化转型升级，下沉供应链，提升工业品下乡流通服务水平。", "50"),
    _line("2021.4", "1-2", "跨境电商平台与珠三角供应链",
          "建设并运营至少一家阿里巴巴国际站跨境电商平台，上架并运营三个网货单品；"
          "建立始兴到珠三角农产品供应链条，打造十款供货单品。", "90", "90"),
    _line("2021.4", "3-4", "农旅结合、展销活动与品牌形象店",
          "开展农旅结合活动 2 场以上、参加省内外大型展销活动 5 次以上；"
          "在农贸市场等开设区域公共品牌形象店铺。", "110", "110"),
    _line("2021.4", "5", "宣传片拍摄制作",
          "区域公共品牌宣传片 3 分钟 1 条；农特产品形象片 1 分钟 5 条。", "20", "20"),
    _line("2021.5", "1-3", "电商培训（跨境、平台运营、直播）",
          "跨境电商培训 2 场以上；平台运营技能专项培训 2 场以上，培训或指导 10 家传统企业触网；"
          "直播电商专题培训并孵化直播网红不低于 10 人。", "40", "40"),
)  # fmt: skip

# The table's own final 合计 row (the lines above add up to 610 万元).
STATED_GRAND_TOTAL_FEN = 500 * WAN_FEN


def wan_to_fen(wan: Decimal) -> int:
    fen = wan * WAN_FEN
    if fen != fen.to_integral_value():
        raise ValueError(f"{wan} 万元 is not a whole number of fen")
    return int(fen)
