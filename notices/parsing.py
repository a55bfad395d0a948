"""Read an official notice's text and propose region, system, window(s) and functions.

The admin pastes the announcement; the form shows what was understood and the admin confirms.
Real notices write times in several ways — "2023年10月10日00:00至2023年10月12日24:00",
"10月15日（周日）晚上10点至次日凌晨6点", "2023年10月1日开始……预计于10月7日完成" — and often leave the year
out. A missing year comes from the nearest year stated earlier in the text, else from a weekday
given beside the date, else from the publication date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notices.grid import Function

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Keywords per function, longest first where one contains another.
FUNCTION_WORDS: list[tuple[str, str]] = [
    ("红字", Function.RED_LETTER),
    ("开具", Function.ISSUE),
    ("开票", Function.ISSUE),
    ("查验", Function.QUERY),
    ("查询", Function.QUERY),
    ("认证", Function.CERTIFY),
    ("勾选", Function.CERTIFY),
    ("申报", Function.FILE),
    ("下载", Function.DOWNLOAD),
]

# System names and the words people use for them, strongest first.
SYSTEM_WORDS: dict[str, list[tuple[str, int]]] = {
    "增值税发票管理系统": [("增值税发票管理系统", 10), ("发票管理系统", 3), ("税控", 3), ("金税", 3), ("发票系统", 1)],
    "电子税务局": [("电子税务局", 10), ("网上申报", 2)],
    "数电发票平台": [("数电发票平台", 10), ("数电", 3), ("全电", 3), ("乐企", 2)],
}

WEEKDAYS = "一二三四五六日天"
_DATE = r"(?:(?P<{p}y>\d{{4}})\s*年\s*)?(?P<{p}m>\d{{1,2}})\s*月\s*(?P<{p}d>\d{{1,2}})\s*[日号]"
_WEEKDAY = r"\s*(?:[（(]\s*(?:周|星期)(?P<{p}w>[一二三四五六日天])\s*[）)])?\s*"
_PERIOD = r"(?P<{p}per>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜间|夜里)?\s*"
_CLOCK = (
    r"(?P<{p}h>\d{{1,2}})\s*"
    r"(?:[:：]\s*(?P<{p}min>\d{{2}})|点\s*(?:(?P<{p}min2>\d{{1,2}})\s*分|(?P<{p}half>半))?|时)"
)
_TO = r"\s*(?:至|到|—|–|-|~|～)\s*"

# Start date and clock, then either a full end date, "次日"/"当日", or just an end clock.
WINDOW_RE = re.compile(
    _DATE.format(p="s")
    + _WEEKDAY.format(p="s")
    + _PERIOD.format(p="s")
    + _CLOCK.format(p="s")
    + _TO
    + r"(?:(?P<next>次日|第二天|翌日)|(?P<same>当日|当天)|"
    + _DATE.format(p="e")
    + ")?"
    + _WEEKDAY.format(p="e")
    + _PERIOD.format(p="e")
    + _CLOCK.format(p="e")
)
# Whole days: "2023年10月1日开始……预计于10月7日完成" or "2023年10月1日至10月7日".
DAYS_RE = re.compile(
    _DATE.format(p="s")
    + r"\s*(?:(?:开始|起)[^。；;\n]{0,30}?(?:于|至|到)\s*|(?:至|到|—|~|～)\s*)"
    + _DATE.format(p="e")
    + r"\s*(?:完成|结束|止|恢复|[，,。；;]|$)"
)
PUBLISHED_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s+(\d{1,2}):(\d{2})")
YEAR_RE = re.compile(r"(\d{4})\s*年")
# "发票开具、查询、认证等功能" — an enumeration ending in 等功能/操作/业务.
ENUMERATION_RE = re.compile(
    r"((?:[\u4e00-\u9fff]{1,6}[、，,和及与或/]\s*)+[\u4e00-\u9fff]{1,6})\s*等(?:相关)?(?:功能|操作|业务|工作|服务)"
)
STOPPED_RE = re.compile(r"无法|暂停|停止|不能|中断")


@dataclass
class ProposedWindow:
    start: datetime
    end: datetime
    text: str  # the words it was read from


@dataclass
class NoticeProposal:
    """What the text seems to say. Every part may be missing; the admin confirms or corrects it."""

    title: str = ""
    region: str = ""
    system_name: str = ""
    windows: list[ProposedWindow] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    published_on: date | None = None

    @property
    def found_anything(self) -> bool:
        return bool(self.region or self.system_name or self.windows or self.functions)


def _hour(hour: int, period: str | None) -> int:
    if period in ("下午", "傍晚", "晚上", "夜间", "夜里") and hour < 12:
        return hour + 12
    if period == "中午" and hour < 11:
        return hour + 12
    return hour


def _moment(day: date, hour: int, minute: int) -> datetime:
    # "24:00" is the end of that day: the next day's 00:00.
    if hour == 24 and minute == 0:
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def _infer_year(month: int, day: int, weekday: str | None, context_year: int | None, published: date | None) -> int:
    if context_year:
        return context_year
    base = published.year if published else date.today().year
    if weekday:
        wanted = WEEKDAYS.index(weekday) if weekday not in "日天" else 6
        for year in (base, base - 1, base + 1):
            try:
                if date(year, month, day).weekday() == wanted:
                    return year
            except ValueError:
                continue
    return base


def _context_year(text: str, position: int) -> int | None:
    years = [int(m.group(1)) for m in YEAR_RE.finditer(text, 0, position)]
    return years[-1] if years else None


def _clock(match, p: str) -> tuple[int, int]:
    hour = _hour(int(match.group(f"{p}h")), match.group(f"{p}per"))
    if match.group(f"{p}min"):
        minute = int(match.group(f"{p}min"))
    elif match.group(f"{p}min2"):
        minute = int(match.group(f"{p}min2"))
    elif match.group(f"{p}half"):
        minute = 30
    else:
        minute = 0
    return hour, minute


def _start_date(match, text: str, published: date | None) -> date:
    month, day = int(match.group("sm")), int(match.group("sd"))
    year = match.group("sy")
    if not year:
        context_year = _context_year(text, match.start())
        return date(_infer_year(month, day, match.group("sw"), context_year, published), month, day)
    year = int(year)
    return date(year, month, day)


def _end_date(match, start_day: date) -> date:
    month, day = int(match.group("em")), int(match.group("ed"))
    year = int(match.group("ey")) if match.group("ey") else start_day.year
    end = date(year, month, day)
    return end if end >= start_day else date(year + 1, month, day)  # a window across New Year


def parse_windows(text: str, *, published: date | None = None) -> list[ProposedWindow]:
    """Every window the text states, in the order stated, each once."""
    found: list[tuple[int, ProposedWindow]] = []
    taken: list[tuple[int, int]] = []
    for match in WINDOW_RE.finditer(text):
        try:
            start_day = _start_date(match, text, published)
            start = _moment(start_day, *_clock(match, "s"))
            if match.group("em"):
                end_day = _end_date(match, start_day)
            elif match.group("next"):
                end_day = start_day + timedelta(days=1)
            else:
                end_day = start_day
            end = _moment(end_day, *_clock(match, "e"))
            if end <= start and not match.group("em"):
                end = _moment(end_day + timedelta(days=1), *_clock(match, "e"))  # "22:00至06:00" crosses midnight
        except ValueError:
            continue
        if end > start:
            found.append((match.start(), ProposedWindow(start, end, match.group(0).strip())))
            taken.append(match.span())
    for match in DAYS_RE.finditer(text):
        if any(a <= match.start() < b for a, b in taken):
            continue
        try:
            start_day = _start_date(match, text, published)
            end_day = _end_date(match, start_day)
        except ValueError:
            continue
        found.append(
            (match.start(), ProposedWindow(_moment(start_day, 0, 0), _moment(end_day, 24, 0), match.group(0).strip()))
        )
    windows: list[ProposedWindow] = []
    for _position, window in sorted(found, key=lambda item: item[0]):
        if all((w.start, w.end) != (window.start, window.end) for w in windows):
            windows.append(window)
    return windows


def _functions_in(fragment: str) -> list[str]:
    hits = []
    for word, function in FUNCTION_WORDS:
        position = fragment.find(word)
        if position >= 0 and (function != Function.ISSUE or "红字" not in fragment[max(0, position - 2) : position]):
            hits.append((position, str(function)))
    return [f for _p, f in sorted(hits)]


def parse_functions(text: str) -> list[str]:
    """Functions named in enumerations ("开具、查询、认证等功能"); failing that, in sentences saying
    something about invoices cannot be done ("无法开具…发票"). Ordered as the grid orders them."""
    found: set[str] = set()
    for match in ENUMERATION_RE.finditer(text):
        found.update(_functions_in(match.group(1)))
    if not found:
        for sentence in re.split(r"[。；;！!？?\n]", text):
            if STOPPED_RE.search(sentence) and "发票" in sentence:
                found.update(_functions_in(sentence))
    return [f for f in Function.values if f in found]


def parse_region(text: str, regions: list[str]) -> str:
    best, best_key = "", (0, 0)
    for region in regions:
        count = text.count(region)
        if count:
            key = (count, -text.find(region))
            if key > best_key:
                best, best_key = region, key
    return best


def parse_system(text: str) -> str:
    scores = {name: sum(text.count(word) * weight for word, weight in words) for name, words in SYSTEM_WORDS.items()}
    name, score = max(scores.items(), key=lambda item: item[1])
    return name if score else ""


def parse_published(text: str) -> date | None:
    head = "\n".join(text.strip().splitlines()[:3])
    match = PUBLISHED_RE.search(head)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_notice_text(text: str, *, regions: list[str], published: date | None = None) -> NoticeProposal:
    """Propose a notice from an announcement's text. `regions` are the catalogue's region names."""
    text = text.replace("\r\n", "\n")
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    published = published or parse_published(text)
    return NoticeProposal(
        title=first_line[:200] if len(first_line) <= 200 else "",
        region=parse_region(text, regions),
        system_name=parse_system(text),
        windows=parse_windows(text, published=published),
        functions=parse_functions(text),
        published_on=published,
    )


ADMIN_DATETIME_RE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[T\s]?\s*(\d{1,2})\s*[:：]\s*(\d{2})"
    r"(?:[:：](\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def parse_admin_datetime(text: str) -> datetime:
    """A date and time as admins type it: "2023-10-12 24:00", "2023/10/12 08:30", "2023年10月12日 24:00",
    or ISO 8601 with an offset. Without an offset it is Beijing time. "24:00" is the next day's 00:00.
    Raises ValueError with a reason."""
    match = ADMIN_DATETIME_RE.match(text or "")
    if not match:
        raise ValueError("format")
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    offset = match.group(7)
    if hour == 24 and (minute, second) == (0, 0):
        try:
            moment = datetime.combine(date(year, month, day) + timedelta(days=1), time(0, 0))
        except OverflowError:  # 9999-12-31 24:00 has no next day
            raise ValueError("range") from None
    else:
        moment = datetime(year, month, day, hour, minute, second)  # ValueError for 25:00 or 02-30
    if offset:
        return datetime.fromisoformat(moment.isoformat() + ("+00:00" if offset == "Z" else offset))
    return moment.replace(tzinfo=SHANGHAI)
