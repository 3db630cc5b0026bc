"""The report's charts: text from the snapshot stays text, long labels end in …, empty sections
say so, and amounts read the way the county writes them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.county import report_charts
from app.county.report_snapshot import Snapshot
from tests.county.report_fixtures import FixtureSources, fund_rows, performance_section, progress_rows


def snapshot(**sections: object) -> Snapshot:
    base: Snapshot = {
        "schema": 1,
        "quarter": {"year": 2026, "quarter": 4, "start": "2026-10-01", "end": "2026-12-31"},
        "brand": {"county_name": "始兴县", "brand_name": "南岭明珠", "service_centre_name": "中心"},
        "progress": progress_rows(),
        "funds": fund_rows(),
        "performance": performance_section(),
    }
    return {**base, **sections}  # type: ignore[typeddict-item]


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - the app's own output
    return [node.text or "" for node in root.iter("{http://www.w3.org/2000/svg}text")]


def test_snapshot_text_is_escaped_and_long_labels_are_cut() -> None:
    rows = progress_rows()
    rows[0]["title"] = "<b>公共服务中心培训与活动以及各乡镇电商知识普及讲座合计</b>"
    drawn = report_charts.svg(report_charts.progress_chart(snapshot(progress=rows)))
    assert "<b>" not in drawn and "&lt;b&gt;" in drawn
    label = texts(drawn)[0]
    assert label.startswith("<b>公共服务中心") and label.endswith("…")
    assert report_charts.text_width(label, report_charts.FONT_SIZE) <= report_charts.WIDTH


def test_every_chart_parses_and_names_itself() -> None:
    for key, chart in report_charts.charts(snapshot()).items():
        root = ET.fromstring(report_charts.svg(chart))  # noqa: S314 - the app's own output
        assert root.get("role") == "img" and root.get("aria-labelledby") == f"chart-{key}-title"
        assert root.get("viewBox") == f"0 0 360 {report_charts._num(chart.height)}"


def test_empty_sections_say_so() -> None:
    empty = snapshot(progress=[], funds=[])
    assert texts(report_charts.svg(report_charts.progress_chart(empty))) == ["（无数据）"]
    assert texts(report_charts.svg(report_charts.funds_chart(empty))) == ["（无数据）"]


def test_amounts_in_yuan_and_wan() -> None:
    assert report_charts.money_short(333_300) == "¥3,333"
    assert report_charts.money_short(8_765_432) == "¥8.8万"
    assert report_charts.money_short(-150_00) == "-¥150"
    assert report_charts.money_short(0) == "¥0"


def test_the_monthly_legend_lists_each_channel_once() -> None:
    drawn = texts(report_charts.svg(report_charts.monthly_chart(snapshot())))
    channels = ["网店", "珠三角批发", "品牌门店"]  # CNY channels (cross-border is USD, beside them)
    assert [t for t in drawn if t in channels] == channels
    assert "¥19.2万" in drawn  # November's total on its column (its CNY channels)


def test_fixture_sources_are_a_report_sources() -> None:
    from app.county.reports import ReportSources

    sources: ReportSources = FixtureSources()
    assert sources is not None
