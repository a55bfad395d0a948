"""Pasting an official notice proposes region, system, windows and functions (the admin confirms)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from notices.parsing import parse_admin_datetime, parse_notice_text, parse_windows

SH = ZoneInfo("Asia/Shanghai")
SEEDS = Path(__file__).parent / "data" / "seeds"
REGIONS = None  # the whole catalogue


def at(*args):
    return datetime(*args, tzinfo=SH)


def test_xian_seed_notice_states_three_windows_and_its_functions():
    proposal = parse_notice_text((SEEDS / "003_d146b63d8d799c8b.txt").read_text(), regions=REGIONS)
    assert proposal.title == "西安增值税发票管理系统停机时间安排最新通知"
    assert proposal.region == "陕西"  # 西安 is served by 国家税务总局陕西省税务局
    assert proposal.system_name == "增值税发票管理系统"
    assert proposal.functions == ["issue", "query", "certify"]
    assert proposal.published_on == date(2024, 11, 11)
    assert [(w.start, w.end) for w in proposal.windows] == [
        (at(2023, 10, 10, 0, 0), at(2023, 10, 13, 0, 0)),  # "10月12日24:00" is 10-13 00:00
        (at(2023, 10, 1, 0, 0), at(2023, 10, 8, 0, 0)),  # "10月1日开始……预计于10月7日完成", stated again as 00:00–24:00
        (at(2023, 10, 15, 22, 0), at(2023, 10, 16, 6, 0)),  # "晚上10点至次日凌晨6点"
    ]


def test_beijing_seed_report_names_region_system_and_the_functions_that_stopped():
    proposal = parse_notice_text((SEEDS / "000_264295d3c1219f80.txt").read_text(), regions=REGIONS)
    assert proposal.region == "北京"
    assert proposal.system_name == "增值税发票管理系统"
    assert proposal.functions == ["issue", "query", "download"]
    assert proposal.published_on == date(2025, 4, 12)
    assert proposal.windows == []  # the article gives no times


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("2023年10月10日00:00至2023年10月12日24:00", None, (at(2023, 10, 10, 0, 0), at(2023, 10, 13, 0, 0))),
        # No year: the weekday beside the date picks it (2023-10-15 was a Sunday).
        ("10月15日（周日）晚上10点至次日凌晨6点", date(2024, 1, 5), (at(2023, 10, 15, 22, 0), at(2023, 10, 16, 6, 0))),
        # No year and no weekday: the publication year.
        ("10月15日22:00至10月16日06:00", date(2024, 10, 1), (at(2024, 10, 15, 22, 0), at(2024, 10, 16, 6, 0))),
        ("2025年12月31日晚上11点至1月1日凌晨2点", None, (at(2025, 12, 31, 23, 0), at(2026, 1, 1, 2, 0))),
        ("2024年3月2日下午2点半至当日下午5点", None, (at(2024, 3, 2, 14, 30), at(2024, 3, 2, 17, 0))),
        ("2024年3月2日 22:00 至 06:00", None, (at(2024, 3, 2, 22, 0), at(2024, 3, 3, 6, 0))),
    ],
)
def test_windows_in_the_ways_notices_write_them(text, published, expected):
    windows = parse_windows(text, published=published)
    assert [(w.start, w.end) for w in windows] == [expected]


def test_a_year_stated_earlier_in_the_text_carries_over():
    text = "2023年国庆期间系统升级。停机时间为10月15日22:00至10月16日06:00。"
    assert parse_windows(text, published=date(2024, 11, 11))[0].start == at(2023, 10, 15, 22, 0)


def test_function_enumeration():
    assert parse_notice_text("开具、查询、认证等功能", regions=REGIONS).functions == ["issue", "query", "certify"]
    assert parse_notice_text("暂停发票勾选、申报和下载等业务", regions=REGIONS).functions == [
        "certify",
        "file",
        "download",
    ]


def test_text_without_anything_proposes_nothing():
    proposal = parse_notice_text("今天天气很好。", regions=REGIONS)
    assert not proposal.found_anything


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2023-10-12 24:00", at(2023, 10, 13, 0, 0)),
        ("2023/10/12 08:30", at(2023, 10, 12, 8, 30)),
        ("2023年10月12日 24:00", at(2023, 10, 13, 0, 0)),
        ("2023-10-12T08:30", at(2023, 10, 12, 8, 30)),
        ("2023-10-12T00:30:00Z", at(2023, 10, 12, 8, 30)),
    ],
)
def test_admin_datetimes_understand_24_00(typed, expected):
    assert parse_admin_datetime(typed) == expected


@pytest.mark.parametrize("typed", ["2023-10-12 25:00", "2023-02-30 10:00", "tomorrow", ""])
def test_admin_datetimes_refuse_nonsense(typed):
    with pytest.raises(ValueError):
        parse_admin_datetime(typed)
