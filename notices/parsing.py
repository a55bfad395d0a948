"""Read an official notice's text and propose region, system, bureau, window(s) and functions.

The admin (or an integrator through the API) pastes the announcement; what was understood is shown
beside each field and the admin confirms. Bureaus write the same facts in many ways:

- clocks: 8时, 8时30分, 8:30, 8：30, 8点半, 晚上10点, 凌晨2点, 中午12点, 24时 / 24:00 (the day's end);
- dates: 2024年3月23日, 3月23日, 23日, 2024-03-23, 2024/03/23, 2024.03.23, 次日, 当日;
- a missing year comes from a weekday beside the date ((星期六), 周六), else from a year stated
  earlier in the text, else the publication date (the one nearest to it), else today;
- an end without a date shares the start's day and part of day (下午2点至5点半 ends at 17:30) and
  moves to the next day when it would fall before the start (22:00至6:00); an end date earlier than
  the start is in the next year (12月31日22时至1月1日2时).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property, lru_cache
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from notices.grid import Function, function_labels
from notices.regions import BY_NAME, REGIONS, SYSTEMS, place_table

SHANGHAI = ZoneInfo("Asia/Shanghai")

# --- Functions ------------------------------------------------------------------------------------

# (word, function); a word inside a longer one of another function is decided by the longer one.
FUNCTION_WORDS: list[tuple[str, str]] = [
    ("红字", Function.RED_LETTER),
    ("红冲", Function.RED_LETTER),
    ("开具", Function.ISSUE),
    ("开票", Function.ISSUE),
    ("代开", Function.ISSUE),
    ("查验", Function.QUERY),
    ("查询", Function.QUERY),
    ("认证", Function.CERTIFY),
    ("勾选", Function.CERTIFY),
    ("用途确认", Function.CERTIFY),
    ("抵扣确认", Function.CERTIFY),
    ("申报", Function.FILE),
    ("缴款", Function.FILE),
    ("缴税", Function.FILE),
    ("税款缴纳", Function.FILE),
    ("下载", Function.DOWNLOAD),
]
# "认证" after these is logging in, not certifying invoices.
NOT_CERTIFY = ("身份", "实名", "人脸", "登录", "安全")
# A sentence saying something stops; a clause saying something keeps working or is a consequence.
STOPPED_RE = re.compile(
    r"暂停|停止|无法|不能|不可|中断|停用|关闭|下线|暂不|不提供|受到影响|受影响|将影响|会影响|影响到"
)
NOT_STOPPED_RE = re.compile(
    r"不影响|不受影响|不涉及|正常使用|可正常|正常办理|照常|仍可|可继续|按时|逾期|延误|延迟|恢复后|恢复正常"
    r"|除[^,，。；;]{1,30}外"
)
# "发票开具、查询、认证等功能" — an enumeration ending in 等(相关)功能/操作/业务/服务/事项.
ENUMERATION_RE = re.compile(
    r"((?:[\u4e00-\u9fff]{1,8}[、，,和及与或/]\s*){1,12}[\u4e00-\u9fff]{1,8})\s*等(?:相关)?(?:功能|操作|业务|服务|事项)"
)
# The whole system stops: with no function named, every function of the system is affected.
WHOLE_STOP_RE = re.compile(
    r"(?:暂停|停止)(?:提供)?(?:对外|办税|涉税|网上|各项|相关)?服务|暂停使用|停止使用|暂停运行|无法登录|无法访问"
    r"|(?:所有|全部)(?:涉税)?(?:功能|业务)"
)
# With nothing else said, a system that "stops" (停机) stops everything.
ANY_STOP_RE = re.compile(WHOLE_STOP_RE.pattern + "|停机")
LIST_ITEM_RE = re.compile(r"^\s*(?:\d+[.、)]|[(（]?[一二三四五六七八九十]+[)）、.]|[-·•*])")

# --- Systems --------------------------------------------------------------------------------------

# The words people use for each system, with weights; longer words are taken out of the text first so
# that 自然人电子税务局 does not also count as 电子税务局.
SYSTEM_WORDS: dict[str, list[tuple[str, int]]] = {
    "增值税发票管理系统": [
        ("增值税发票管理系统", 10),
        ("增值税发票综合服务平台", 6),
        ("增值税发票开票软件", 6),
        ("发票管理系统", 3),
        ("税控", 3),
        ("金税", 3),
        ("开票软件", 2),
        ("发票系统", 1),
    ],
    "电子税务局": [("电子税务局", 10), ("网上申报", 2), ("税务APP", 1), ("办税APP", 1)],
    "数电发票平台": [
        ("全国统一电子发票服务平台", 10),
        ("电子发票服务平台", 10),
        ("数电发票平台", 10),
        ("发票服务平台", 6),
        ("数电票", 3),
        ("数电发票", 3),
        ("全电发票", 3),
        ("数电", 2),
        ("全电", 2),
        ("乐企", 2),
    ],
    "自然人电子税务局（扣缴端）": [
        ("自然人电子税务局", 10),
        ("扣缴客户端", 8),
        ("扣缴端", 8),
        ("个人所得税APP", 6),
        ("个税APP", 6),
        ("个人所得税扣缴", 4),
    ],
}
SYSTEM_FUNCTIONS: dict[str, list[str]] = {name: functions for _suffix, name, functions, _d in SYSTEMS}

# --- Regions and bureaus --------------------------------------------------------------------------

_ADMIN_SUFFIX = r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)?"
_SUB_DIVISION = r"(?:[\u4e00-\u9fff]{1,10}?(?:市|区|县|旗|州|盟|地区))?"
# Words that contain a place name without naming the place.
NOT_A_PLACE = ("北京时间",)

# --- Dates and times ------------------------------------------------------------------------------

WEEKDAYS = "一二三四五六日"
_DATE = (
    r"(?:(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})(?![\d])日?"
    r"|(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]"
    r"|(?<![\d年.\-/])(?<!\d月)(?P<od>\d{1,2})\s*[日号](?![期前内后])"
    r"|(?P<rel>次日|翌日|第二天|隔日|当日|当天|同日|当晚))"
)
_WEEKDAY = r"(?:\s*\(?\s*(?:星期|周|礼拜)(?P<w>[一二三四五六日天七])\s*\)?)"
_PERIOD = r"(?P<per>凌晨|清晨|早上|早晨|上午|中午|午间|下午|傍晚|晚上|晚间|夜间|夜里|深夜|半夜|晚|晨|早)"
_CLOCK = (
    r"(?<![\d.])(?P<h>\d{1,2})\s*"
    r"(?:[:](?P<mi>\d{2})(?::\d{2})?|[时点](?:\s*(?P<mi2>\d{1,2})\s*分|\s*(?P<half>半)|整)?)"
    r"(?![\d%])"
)
# A weekday may also follow the clock: "3月23日18:00（周六）".
MOMENT_RE = re.compile(
    # Only where a date, weekday, part of day or clock can begin (most positions cannot: cheap on long texts).
    r"(?=(?<!\d)\d|次日|翌日|第二天|隔日|当日|当天|同日|当晚|星期|周|礼拜|凌晨|清晨|早|上午|中午|午间|下午|傍晚|晚|夜|深夜|半夜|晨)"
    rf"(?P<date>{_DATE})?{_WEEKDAY}?\s*(?:{_PERIOD}\s*)?(?P<clock>{_CLOCK})?"
    rf"(?:(?<=[\d时点分半整]){_WEEKDAY.replace('?P<w>', '?P<w2>')})?"
)
CONNECTOR_RE = re.compile(r"^\s*(?:起|开始)?\s*[,]?\s*(?:至|到|~|-|—|–|―|－|一)+\s*$")
LOOSE_START_RE = re.compile(r"^\s*(?:起|开始)")
LOOSE_END_RE = re.compile(r"(?:至|到)\s*$")
AFTER_END_RE = re.compile(r"^\s*(?:止|结束|完成|恢复|截止)")
ALL_DAY_RE = re.compile(r"^\s*(?:\(?\s*(?:星期|周)[一二三四五六日天]\s*\)?)?\s*全天")
SENTENCE_END = re.compile(r"[。！？!?\n]")
EVENING = ("下午", "傍晚", "晚上", "晚间", "夜间", "夜里", "深夜", "晚", "当晚")
YEAR_RE = re.compile(r"(\d{4})\s*年(?!度)")
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_DATE_RE = re.compile(
    r"(?:(?P<y>[〇零一二三四五六七八九]{4})年)?(?P<m>十[一二]?|[一二三四五六七八九])月"
    r"(?P<d>[一二]?十[一二三四五六七八九]?|三十一?|[一二三四五六七八九])(?P<suffix>[日号])"
)
CN_HOUR_RE = re.compile(r"(?<=[日号)至到\s午晨上间里晚夜早])([零〇一二两三四五六七八九十]{1,3})(?=[时点])")
PUBLISHED_LABEL_RE = re.compile(
    r"(?:发布|印发|成文)(?:日期|时间)\s*[:]?\s*(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})"
)
PUBLISHED_HEAD_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s+(\d{1,2}):(\d{2})")
DATE_LINE_RE = re.compile(r"^\s*(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})\s*日?\s*$")
TITLE_RE = re.compile(
    r"(?:关于.{2,80}的(?:公告|通告|通知|提示|提醒|说明)|(?:公告|通告|通知|温馨提示|提示|提醒|告知书)$)"
)


@dataclass
class ProposedWindow:
    start: datetime
    end: datetime
    text: str  # the words it was read from


# The parts of a proposal, as the form and the API name them.
PARTS = {
    "title": _("No heading-like first line (“关于…的公告”): type the title."),
    "region": _("No region or bureau found in the text: choose the system by hand."),
    "system": _("No tax system named in the text: choose it by hand."),
    "bureau": _("No issuing bureau (国家税务总局…税务局) found in the text."),
    "windows": _("No maintenance window (date and time “至” date and time) found in the text."),
    "functions": _("No stopped functions found in the text: tick them by hand."),
}


@dataclass
class NoticeProposal:
    """What the text seems to say. Every part may be missing; `missing` names those that are."""

    title: str = ""
    region: str = ""
    system_name: str = ""
    bureau: str = ""
    windows: list[ProposedWindow] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    published_on: date | None = None

    @property
    def found_anything(self) -> bool:
        return bool(self.region or self.system_name or self.windows or self.functions or self.bureau)

    @property
    def missing(self) -> list[str]:
        """Parts not found, in the form's order: title, region, system, bureau, windows, functions."""
        found = {
            "title": self.title,
            "region": self.region,
            "system": self.system_name,
            "bureau": self.bureau,
            "windows": self.windows,
            "functions": self.functions,
        }
        return [part for part, value in found.items() if not value]

    @property
    def function_names(self) -> list[str]:
        return function_labels(self.functions)

    @property
    def region_label(self) -> str:
        """陕西 (国家税务总局陕西省税务局)."""
        found = BY_NAME.get(self.region)
        return f"{self.region}（{found.bureau}）" if found else self.region

    @property
    def missing_messages(self) -> dict[str, str]:
        return {part: str(PARTS[part]) for part in self.missing}


@lru_cache(maxsize=16)
def normalise(text: str) -> str:
    """Full-width digits, colons and brackets as ASCII (8：30 → 8:30); Chinese numerals in dates and
    hours as digits (二〇二四年三月二十日 → 2024年3月20日, 零时 → 0时)."""
    text = unicodedata.normalize("NFKC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = CN_DATE_RE.sub(_cn_date, text)
    return CN_HOUR_RE.sub(lambda m: str(_cn_number(m.group(1))), text)


def _cn_date(match: re.Match) -> str:
    year = "".join(str(_CN_DIGITS[c]) for c in match.group("y")) + "年" if match.group("y") else ""
    return f"{year}{_cn_number(match.group('m'))}月{_cn_number(match.group('d'))}{match.group('suffix')}"


def _cn_number(word: str) -> int:
    if "十" in word:
        tens, _sep, units = word.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0)
    value = 0
    for char in word:
        value = value * 10 + _CN_DIGITS[char]
    return value


# --- Windows --------------------------------------------------------------------------------------


@dataclass
class _Moment:
    """One date and/or clock as written, before a year or a day is settled."""

    start: int
    end: int
    text: str
    year: int | None = None
    month: int | None = None
    day: int | None = None
    relative: str = ""  # 次日 (next day) or 当日 (same day)
    weekday: int | None = None
    period: str = ""
    hour: int | None = None
    minute: int = 0

    @property
    def has_date(self) -> bool:
        return self.day is not None or bool(self.relative)

    @property
    def has_clock(self) -> bool:
        return self.hour is not None


def _moments(text: str) -> list[_Moment]:
    found = []
    for match in MOMENT_RE.finditer(text):
        if not (match.group("date") or match.group("clock")):
            continue
        g = match.group
        moment = _Moment(start=match.start(), end=match.end(), text=match.group(0).strip())
        if g("iy"):
            moment.year, moment.month, moment.day = int(g("iy")), int(g("im")), int(g("id"))
        elif g("m"):
            moment.year = int(g("y")) if g("y") else None
            moment.month, moment.day = int(g("m")), int(g("d"))
        elif g("od"):
            moment.day = int(g("od"))
        elif g("rel"):
            moment.relative = "next" if g("rel") in ("次日", "翌日", "第二天", "隔日") else "same"
            if g("rel") == "当晚":
                moment.period = "当晚"
        if weekday := g("w") or g("w2"):
            moment.weekday = 6 if weekday in "日天七" else WEEKDAYS.index(weekday)
        if g("per"):
            moment.period = g("per")
        if g("clock"):
            hour = int(g("h"))
            minute = int(g("mi") or g("mi2") or (30 if g("half") else 0))
            if hour > 24 or minute > 59 or (hour == 24 and minute):
                continue
            moment.hour, moment.minute = hour, minute
        if moment.day is not None and not (1 <= moment.day <= 31):
            continue
        found.append(moment)
    return found


def _hour(hour: int, period: str) -> int:
    if period in EVENING or period == "半夜":
        if hour == 12 and period in ("晚上", "深夜", "半夜", "夜间", "夜里"):
            return 24  # 晚上12点 is midnight
        return hour + 12 if hour < 12 else hour
    if period in ("中午", "午间") and hour < 11:
        return hour + 12
    return hour


def _at(day: date, hour: int, minute: int) -> datetime:
    # 24:00 is the end of that day: the next day's 00:00.
    if hour == 24:
        return datetime.combine(day + timedelta(days=1), time(0, minute), tzinfo=SHANGHAI)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


class _Context:
    """What the text has said so far: the last year, month and day, and the publication date."""

    def __init__(self, text: str, published: date | None):
        self.text = text
        self.published = published
        self.base = published or date.today()
        self.last_day: date | None = None
        self.last_day_at = -1

    @cached_property
    def _years(self) -> tuple[list[int], list[int]]:
        found = [(m.start(), int(m.group(1))) for m in YEAR_RE.finditer(self.text)]
        return [p for p, _y in found], [y for _p, y in found]

    def year_before(self, position: int) -> int | None:
        positions, years = self._years
        index = bisect.bisect_left(positions, position)
        return years[index - 1] if index else None

    def day_of(self, moment: _Moment) -> date | None:
        """The calendar day a moment names on its own (not 次日/当日), year inferred."""
        if moment.day is None:
            return None
        month = moment.month
        if month is None:  # "23日": the month last stated, else the publication's
            if self.last_day is not None:
                month = self.last_day.month
                year = self.last_day.year
                if moment.day < self.last_day.day:
                    month, year = (1, year + 1) if month == 12 else (month + 1, year)
                return date(year, month, moment.day)
            month = self.base.month
        if moment.year:
            return date(moment.year, month, moment.day)
        return date(self._infer_year(month, moment.day, moment.weekday, moment.start), month, moment.day)

    def _infer_year(self, month: int, day: int, weekday: int | None, position: int) -> int:
        context_year = self.year_before(position)
        anchor = date(context_year, 7, 1) if context_year else self.base
        candidates = []
        for year in range(anchor.year - 5, anchor.year + 6):  # a weekday repeats on a date within 6 years
            try:
                candidates.append(date(year, month, day))
            except ValueError:
                continue
        if not candidates:
            raise ValueError("no such day")
        if weekday is not None:
            matching = [c for c in candidates if c.weekday() == weekday]
            if matching:
                return min(matching, key=lambda c: abs((c - anchor).days)).year
        candidates = [c for c in candidates if abs(c.year - anchor.year) <= 1]
        if context_year:
            return context_year
        # The year that puts the date nearest the publication (a notice of 28 December for 1月1日 is next year's).
        return min(candidates, key=lambda c: abs((c - anchor).days)).year

    def remember(self, day: date, position: int) -> None:
        self.last_day, self.last_day_at = day, position


def _same_sentence(text: str, a: int, b: int) -> bool:
    return not SENTENCE_END.search(text, a, b)


def _pair_gap_ok(text: str, first: _Moment, second: _Moment) -> bool:
    gap = text[first.end : second.start]
    if CONNECTOR_RE.match(gap):
        return True
    if len(gap) > 60 or "。" in gap or "\n" in gap or not LOOSE_START_RE.match(gap):
        return False
    # "自3月23日20时起，电子税务局暂停服务，至3月24日8时止"; "于…开始升级，预计…完成"
    return bool(LOOSE_END_RE.search(gap) or AFTER_END_RE.match(text[second.end :]))


def parse_windows(text: str, *, published: date | None = None) -> list[ProposedWindow]:
    """Every window the text states, in the order stated, each once."""
    text = normalise(text)
    context = _Context(text, published)
    moments = _moments(text)
    windows: list[ProposedWindow] = []
    index = 0
    while index < len(moments):
        first = moments[index]
        try:
            first_day = context.day_of(first)
        except ValueError:
            first_day = None
        if first_day is not None:
            context.remember(first_day, first.start)
        second = moments[index + 1] if index + 1 < len(moments) else None
        window = None
        if second is not None and _pair_gap_ok(text, first, second):
            window = _window(text, context, first, first_day, second)
        elif first_day is not None and not first.has_clock and ALL_DAY_RE.match(text[first.end :]):
            window = (_at(first_day, 0, 0), _at(first_day, 24, 0), first.start, first.end)
        if window is None:
            index += 1
            continue
        start, end, a, b = window
        if end > start and all((w.start, w.end) != (start, end) for w in windows):
            windows.append(ProposedWindow(start, end, text[a:b].strip()))
        index += 2
    return windows


def _window(text, context: _Context, first: _Moment, first_day: date | None, second: _Moment):
    """(start, end, from, to) for two moments joined by 至, or None when they make no window."""
    if first_day is None:
        if first.relative or not first.has_clock:
            return None
        # A clock without a date ("下午2点至5点半" after "3月23日上午9点至11点") takes the day last
        # stated in the same sentence; a bare "9:00-17:00" (office hours) is no window.
        if context.last_day is None or not _same_sentence(text, context.last_day_at, first.start):
            return None
        first_day = context.last_day
    try:
        if second.relative == "next":
            end_day = first_day + timedelta(days=1)
        elif second.relative == "same":
            end_day = first_day
        elif second.day is not None:
            if second.month is None:  # "至24日6时": the start's month, or the next one
                month, year = first_day.month, first_day.year
                if second.day < first_day.day:
                    month, year = (1, year + 1) if month == 12 else (month + 1, year)
                end_day = date(second.year or year, month, second.day)
            else:
                year = second.year or first_day.year
                end_day = date(year, second.month, second.day)
                if end_day < first_day and not second.year:
                    end_day = date(year + 1, second.month, second.day)  # across New Year
        else:
            end_day = first_day
    except ValueError:
        return None
    if second.day is not None:
        context.remember(end_day, second.start)

    start_hour = _hour(first.hour, first.period) if first.has_clock else 0
    start = _at(first_day, start_hour, first.minute if first.has_clock else 0)
    if not second.has_clock:
        if first.has_clock and not second.has_date:
            return None
        return start, _at(end_day, 24, 0), first.start, second.end  # whole days

    period = second.period
    if not period and not second.has_date and first.period:
        # "下午2点至5点半": the end shares the start's part of day when that keeps it after the start.
        shared = _hour(second.hour, first.period)
        if _at(end_day, shared, second.minute) > start:
            period = first.period
    end = _at(end_day, _hour(second.hour, period), second.minute)
    if end <= start and not second.has_date:
        end = _at(end_day + timedelta(days=1), _hour(second.hour, period), second.minute)  # across midnight
    return start, end, first.start, second.end


# --- Functions ------------------------------------------------------------------------------------


FUNCTION_OF_WORD = dict(FUNCTION_WORDS)
FUNCTION_RE = re.compile("|".join(re.escape(w) for w in sorted(FUNCTION_OF_WORD, key=len, reverse=True)))


def _functions_in(fragment: str) -> set[str]:
    hits: set[str] = set()
    for match in FUNCTION_RE.finditer(fragment):
        word = match.group(0)
        function = FUNCTION_OF_WORD[word]
        before = fragment[max(0, match.start() - 4) : match.start()]
        after = fragment[match.end() : match.end() + 4]
        if function == Function.ISSUE and ("红字" in before or after.startswith("红字")):
            continue  # 红字发票开具 / 开具红字发票 is red-letter, not issuing
        if function == Function.CERTIFY and word == "认证" and any(w in before for w in NOT_CERTIFY):
            continue
        hits.add(str(function))
    return hits


def _stop_sentences(text: str) -> list[str]:
    """Sentences saying something stops; a sentence ending in a colon takes the list lines under it."""
    sentences: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        for sentence in re.split(r"(?<=[。；;！!？?])", lines[index]):
            if STOPPED_RE.search(sentence):
                sentences.append(sentence)
        if STOPPED_RE.search(lines[index]) and lines[index].rstrip().endswith((":", "：")):
            while index + 1 < len(lines) and LIST_ITEM_RE.match(lines[index + 1]):
                index += 1
                sentences.append(lines[index])
        index += 1
    return sentences


def parse_functions(text: str) -> list[str]:
    """Functions named as stopping ("期间申报、缴款功能暂停", "暂停发票开具和查验", "无法开具发票") or
    enumerated ("开具、查询、认证等功能"). A clause saying a function keeps working does not count.
    Ordered as the grid orders them."""
    text = normalise(text)
    found: set[str] = set()
    for match in ENUMERATION_RE.finditer(text):
        clause_start = max(text.rfind(mark, 0, match.start()) for mark in "。；;,，\n")
        clause = text[clause_start + 1 : match.end() + 12]
        if not NOT_STOPPED_RE.search(clause):
            found |= _functions_in(match.group(1))
    for sentence in _stop_sentences(text):
        for clause in re.split(r"[,，]", sentence):
            if not NOT_STOPPED_RE.search(clause):
                found |= _functions_in(clause)
    return [f for f in Function.values if f in found]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[。；;!?！？\n]", text) if s.strip()]


def _names_system(sentence: str, system_name: str) -> bool:
    return any(word.upper() in sentence.upper() for word, _weight in SYSTEM_WORDS.get(system_name, []))


def system_stop_functions(text: str, system_name: str) -> list[str]:
    """The system's functions when a sentence stops the system as a whole and names no function
    ("电子税务局所有功能暂停服务"); with no function named anywhere, any stop (停机) will do."""
    if not system_name:
        return []
    text = normalise(text)
    body = text.strip().split("\n", 1)[1] if "\n" in text.strip() else ""  # the heading says it in general
    whole = any(
        WHOLE_STOP_RE.search(sentence)
        and _names_system(sentence, system_name)
        and not _functions_in(sentence)
        and not NOT_STOPPED_RE.search(sentence)
        for sentence in _sentences(body)
    )
    if not whole and not parse_functions(text):
        whole = any(ANY_STOP_RE.search(s) and not NOT_STOPPED_RE.search(s) for s in _sentences(text))
    return SYSTEM_FUNCTIONS.get(system_name, []) if whole else []


# --- System, region, bureau, title, publication ---------------------------------------------------


def parse_system(text: str) -> str:
    """The system the text is about: weighted mentions, the heading counting double; ties go to the
    one named first."""
    text = normalise(text)
    heading = text.strip().split("\n", 1)[0]
    words = sorted(
        ((word, weight, name) for name, pairs in SYSTEM_WORDS.items() for word, weight in pairs),
        key=lambda item: -len(item[0]),
    )
    scores: dict[str, int] = {}
    first_at: dict[str, int] = {}
    remaining = text.upper()
    for word, weight, name in words:
        upper = word.upper()
        count = remaining.count(upper)
        if not count:
            continue
        first_at[name] = min(first_at.get(name, len(text)), remaining.find(upper))
        scores[name] = scores.get(name, 0) + count * weight + heading.upper().count(upper) * weight
        remaining = remaining.replace(upper, "\0" * len(upper))
    if not scores:
        return ""
    return max(scores, key=lambda name: (scores[name], -first_at[name]))


def _trie_pattern(words: list[str]) -> str:
    """One regex for many literal words, as a trie (Python's re tries a plain alternation word by word
    at every position); longer words win, as the greedy optional end of each node prefers them."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not ends else "(?:" + "|".join(branches) + ")"
        if len(branches) == 1 and ends:
            body = "(?:" + branches[0] + ")"
        return body + ("?" if ends else "")

    return pattern(trie)


@cache
def _places() -> re.Pattern:
    return re.compile(_trie_pattern(list(place_table())))


@cache
def _bureau_re() -> re.Pattern:
    return re.compile(
        rf"(?:国家税务总局)?(?P<place>{_places().pattern}){_ADMIN_SUFFIX}{_SUB_DIVISION}(?:税务局|税务分局)$"
    )


@dataclass
class _Bureau:
    start: int
    text: str
    place: str


def _bureau_matches(text: str) -> list[_Bureau]:
    """Each "…税务局" with the place it names, read backwards from the word 税务局 (cheap on long texts)."""
    found = []
    ends = list(re.finditer(r"税务分?局", text))
    # The heading, the first few and the signature are where a notice names its bureau.
    ends = [e for i, e in enumerate(ends) if i < 20 or e.start() < 3000 or e.start() > len(text) - 300][:60]
    for end in ends:
        window_start = max(0, end.start() - 40)
        match = _bureau_re().search(text, window_start, end.end())
        if match:
            found.append(_Bureau(match.start(), match.group(0), match.group("place")))
    return found


def parse_bureau(text: str) -> tuple[str, str]:
    """(bureau, region) of the issuing bureau: the signature (last lines) first, else the heading,
    else the first bureau named. ("", "") when none is named; the national administration alone
    ("国家税务总局关于…") gives ("国家税务总局", "")."""
    text = normalise(text)
    matches = _bureau_matches(text)
    if not matches:
        national = re.search(r"国家税务总局(?![\u4e00-\u9fff]{0,12}税务局)", text)
        return ("国家税务总局", "") if national else ("", "")
    stripped = text.rstrip()
    tail_start = max(0, len(stripped) - 80)
    signature = [m for m in matches if m.start >= tail_start]
    heading_end = len(text.lstrip().split("\n", 1)[0]) + (len(text) - len(text.lstrip()))
    heading = [m for m in matches if m.start < heading_end]
    chosen = (signature or heading or matches)[-1 if signature else 0]
    bureau = chosen.text
    if not bureau.startswith("国家税务总局"):
        bureau = f"国家税务总局{bureau}"
    return bureau, place_table().get(chosen.place, "")


def parse_region(text: str, regions: list[str] | None = None) -> str:
    """The region (a provincial-level bureau's short name) the text is about.

    The issuing bureau decides; else the provinces and separately-planned cities named (most often
    named wins, then first named); else the cities named, each counting for the bureau serving it
    (西安 → 陕西). `regions`, when given, limits the answer to the catalogue's regions.
    """
    text = normalise(text)
    for word in NOT_A_PLACE:
        text = text.replace(word, "\0" * len(word))
    _bureau, region = parse_bureau(text)
    allowed = set(regions) if regions else None
    if region and (allowed is None or region in allowed):
        return region
    table = place_table()
    level_names = {r.name for r in REGIONS} | {r.full_name for r in REGIONS}
    provincial: dict[str, list[int]] = {}
    cities: dict[str, list[int]] = {}
    for match in _places().finditer(text):
        name = match.group(0)
        region = table[name]
        if allowed is not None and region not in allowed:
            continue
        target = provincial if name in level_names else cities
        target.setdefault(region, []).append(match.start())
    for found in (provincial, cities):
        if found:
            return max(found, key=lambda r: (len(found[r]), -found[r][0]))
    return ""


def parse_title(text: str) -> str:
    """The first line when it reads as a heading ("…关于…的公告", "…停机通知"), else ""."""
    first = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    if not first or len(first) > 80 or re.search(r"[。；;]", first[:-1]):
        return ""
    return first if TITLE_RE.search(normalise(first)) else ""


def parse_published(text: str) -> date | None:
    """The publication date: a 发布日期 label, a date-and-time line at the top (as sites print it),
    or the date line under the signature."""
    text = normalise(text)
    candidates = []
    if match := PUBLISHED_LABEL_RE.search(text):
        candidates.append(match.groups()[:3])
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if match := PUBLISHED_HEAD_RE.search("\n".join(lines[:3])):
        candidates.append(match.groups()[:3])
    for line in reversed(lines[-3:]):
        if match := DATE_LINE_RE.match(line):
            candidates.append(match.groups())
            break
    for year, month, day in candidates:
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None


def parse_notice_text(text: str, *, regions: list[str] | None = None, published: date | None = None) -> NoticeProposal:
    """Propose a notice from an announcement's text. `regions` limits regions to the catalogue's."""
    title = parse_title(text)
    text = normalise(text)
    published = published or parse_published(text)
    system_name = parse_system(text)
    stopped = set(parse_functions(text)) | set(system_stop_functions(text, system_name))
    functions = [f for f in Function.values if f in stopped]
    bureau, _bureau_region = parse_bureau(text)
    return NoticeProposal(
        title=title,
        region=parse_region(text, regions),
        system_name=system_name,
        bureau=bureau,
        windows=parse_windows(text, published=published),
        functions=functions,
        published_on=published,
    )


def region_bureau(region: str) -> str:
    found = BY_NAME.get(region)
    return found.bureau if found else ""


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
