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
        # The ways bureaus write clocks.
        ("2024年3月23日8时30分至12时", None, (at(2024, 3, 23, 8, 30), at(2024, 3, 23, 12, 0))),
        ("2024年3月23日8：30至11：30", None, (at(2024, 3, 23, 8, 30), at(2024, 3, 23, 11, 30))),
        ("2024年3月23日下午2点至5点半", None, (at(2024, 3, 23, 14, 0), at(2024, 3, 23, 17, 30))),
        ("2024年3月23日中午12点至下午2点", None, (at(2024, 3, 23, 12, 0), at(2024, 3, 23, 14, 0))),
        ("2024年3月23日晚上10点至凌晨2点", None, (at(2024, 3, 23, 22, 0), at(2024, 3, 24, 2, 0))),
        ("2024年3月23日零时至六时", None, (at(2024, 3, 23, 0, 0), at(2024, 3, 23, 6, 0))),
        ("2024年3月23日20时至24时", None, (at(2024, 3, 23, 20, 0), at(2024, 3, 24, 0, 0))),
        ("自2024年3月23日晚8时起至24日晨6时止", None, (at(2024, 3, 23, 20, 0), at(2024, 3, 24, 6, 0))),
        # The ways they write dates.
        ("2024-03-23 20:00至2024-03-24 06:00", None, (at(2024, 3, 23, 20, 0), at(2024, 3, 24, 6, 0))),
        ("2024/03/23 20:00-2024/03/24 06:00", None, (at(2024, 3, 23, 20, 0), at(2024, 3, 24, 6, 0))),
        ("2024.03.23 20:00至2024.03.24 06:00", None, (at(2024, 3, 23, 20, 0), at(2024, 3, 24, 6, 0))),
        ("3月23日22:00至次日6:00", date(2024, 3, 20), (at(2024, 3, 23, 22, 0), at(2024, 3, 24, 6, 0))),
        ("3月23日18:00（周六）至3月24日8:00（周日）", date(2025, 1, 1), (at(2024, 3, 23, 18), at(2024, 3, 24, 8))),
        ("二〇二四年三月二十三日八时至十二时", None, (at(2024, 3, 23, 8, 0), at(2024, 3, 23, 12, 0))),
        # New Year, the year taken from the publication date nearest to it.
        ("12月31日22时至1月1日6时", date(2024, 12, 25), (at(2024, 12, 31, 22, 0), at(2025, 1, 1, 6, 0))),
        ("1月1日0时至1月2日8时", date(2024, 12, 28), (at(2025, 1, 1, 0, 0), at(2025, 1, 2, 8, 0))),
        # Whole days.
        ("2024年10月1日至10月7日", None, (at(2024, 10, 1, 0, 0), at(2024, 10, 8, 0, 0))),
        ("2024年3月23日（星期六）全天", None, (at(2024, 3, 23, 0, 0), at(2024, 3, 24, 0, 0))),
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


def test_several_windows_in_one_text_each_once_in_order():
    text = "第一次：2024年4月13日20:00至4月14日8:00；第二次：2024年4月20日20:00至4月21日8:00。"
    windows = parse_windows(text)
    assert [(w.start, w.end) for w in windows] == [
        (at(2024, 4, 13, 20, 0), at(2024, 4, 14, 8, 0)),
        (at(2024, 4, 20, 20, 0), at(2024, 4, 21, 8, 0)),
    ]
    same_day = parse_windows("2024年4月6日（星期六）上午9:00至11:30、下午2点至5点")
    assert [(w.start, w.end) for w in same_day] == [
        (at(2024, 4, 6, 9, 0), at(2024, 4, 6, 11, 30)),
        (at(2024, 4, 6, 14, 0), at(2024, 4, 6, 17, 0)),
    ]


def test_office_hours_on_their_own_are_no_window():
    assert parse_windows("2024年3月20日起，办税服务厅工作时间调整。\n工作时间为9:00-17:00。") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("期间申报、缴款功能暂停。", ["file"]),
        ("升级期间发票开具和申报功能将暂停。", ["issue", "file"]),
        ("届时将暂停提供发票开具、红字发票开具服务。", ["issue", "red_letter"]),
        ("期间无法开具红字发票。", ["red_letter"]),
        ("申报功能暂停，发票查验不受影响。", ["file"]),
        ("期间暂停以下业务：\n1.增值税申报；\n2.发票用途确认；\n3.发票下载。", ["certify", "file", "download"]),
        ("期间身份认证服务暂停。", []),
    ],
)
def test_stopped_functions_with_or_without_deng(text, expected):
    assert parse_notice_text(text).functions == expected


@pytest.mark.parametrize(
    ("text", "bureau", "region"),
    [
        (
            "国家税务总局陕西省税务局关于系统升级的通告\n……\n国家税务总局陕西省税务局\n2024年3月20日",
            "国家税务总局陕西省税务局",
            "陕西",
        ),
        ("……特此通告。\n国家税务总局西安市税务局\n2024年3月20日", "国家税务总局西安市税务局", "陕西"),
        ("深圳市税务局提醒：……", "国家税务总局深圳市税务局", "深圳"),
        ("国家税务总局关于全国统一电子发票服务平台升级的公告", "国家税务总局", ""),
        ("成都地区纳税人请注意：……", "", "四川"),
        ("请以北京时间为准。大连地区……", "", "大连"),
    ],
)
def test_the_issuing_bureau_and_region(text, bureau, region):
    proposal = parse_notice_text(text)
    assert (proposal.bureau, proposal.region) == (bureau, region)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "国家税务总局陕西省税务局关于电子税务局系统升级的通告\n正文",
            "国家税务总局陕西省税务局关于电子税务局系统升级的通告",
        ),
        ("西安增值税发票管理系统停机维护通知\n正文", "西安增值税发票管理系统停机维护通知"),
        ("2024年3月23日8时30分至…18时，电子税务局暂停服务。", ""),
        ("各位纳税人：\n关于……的通告", ""),
    ],
)
def test_a_title_is_proposed_only_from_a_heading_like_first_line(text, title):
    proposal = parse_notice_text(text)
    assert proposal.title == title
    assert ("title" in proposal.missing) is (not title)
