"""Reading an invoice type from a file: the platform's labels and codes, their older names and the
names common tools and the portal itself write.

Labels vary in ways that do not change their meaning: full- or half-width brackets, spaces, and the
prefix of the fully digitised invoices, which the platform has called 全电发票, 数电票 and, since
December 2024, 电子发票. A label is normalised before it is looked up, so "数电发票（增值税专用发票）",
"电子发票(增值税专用发票)" and "数电专票" are one key. The prefix is kept as a mark, not dropped: without
it "电子发票（增值税专用发票）" would read as the paper 增值税专用发票.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext

from invoices.models import PLATFORM_CODES, InvoiceType

T = InvoiceType
# Labels besides each type's display names (in every language) and platform code. Brackets and
# spaces need not be spelled out in every variant: `normalise_label` removes them.
LABELS: dict[str, tuple[str, ...]] = {
    T.SPECIAL: ("增值税专用发票", "专用发票", "专票", "纸质专票", "增值税专用发票（纸质）", "004"),
    T.ORDINARY: (
        "增值税普通发票",
        "普通发票",
        "普票",
        "纸质普票",
        "增值税普通发票（纸质）",
        "增值税普通发票（折叠票）",
        "007",
    ),
    T.E_SPECIAL: ("增值税电子专用发票", "电子专用发票", "电子专票", "增值税专用发票（电子）", "028", "20"),
    T.E_ORDINARY: ("增值税电子普通发票", "电子普通发票", "电子普票", "增值税普通发票（电子）", "026"),
    T.ROLL: ("增值税普通发票（卷票）", "增值税普通发票（卷式）", "卷票", "卷式发票", "卷式普通发票", "025"),
    T.TOLL: (
        "增值税电子普通发票（通行费）",
        "通行费电子普通发票",
        "通行费电子发票",
        "通行费发票",
        "收费公路通行费增值税电子普通发票",
        "通行费",
    ),
    T.MOTOR_VEHICLE: ("机动车销售统一发票", "机动车发票", "机动车销售发票", "005"),
    T.USED_VEHICLE: ("二手车销售统一发票", "二手车发票", "二手车销售发票", "006"),
    T.DIGITAL_SPECIAL: ("数电发票（增值税专用发票）", "数电专用发票", "数电专票", "31"),
    T.DIGITAL_ORDINARY: ("数电发票（普通发票）", "数电发票（增值税普通发票）", "数电普票", "32"),
    T.DIGITAL_MOTOR_VEHICLE: (
        "数电发票（机动车销售统一发票）",
        "数电发票（机动车销售发票）",
        "数电机动车发票",
        "机动车销售电子统一发票",
    ),
    T.DIGITAL_USED_VEHICLE: (
        "数电发票（二手车销售统一发票）",
        "数电发票（二手车销售发票）",
        "数电二手车发票",
        "二手车销售电子统一发票",
    ),
    T.DIGITAL_PAPER_SPECIAL: ("纸质发票（增值税专用发票）", "数电纸质发票（增值税专用发票）", "数电纸质专票"),
    T.DIGITAL_PAPER_ORDINARY: ("纸质发票（普通发票）", "数电纸质发票（普通发票）", "数电纸质普票"),
    T.RAILWAY_TICKET: ("数电发票（铁路电子客票）", "铁路电子客票", "电子客票（铁路）", "铁路客票"),
    T.AIR_ITINERARY: (
        "数电发票（航空运输电子客票行程单）",
        "航空运输电子客票行程单",
        "航空电子客票行程单",
        "电子行程单",
        "航空行程单",
        "机票行程单",
    ),
}
# The names the fully digitised invoices went by; longest first, so "数电发票" is not read as "数电".
DIGITAL_PREFIXES = ("数电发票", "全电发票", "电子发票", "数电票", "全电票", "数电", "全电")
DIGITAL_MARK = "数电"
TRAVEL_TYPES = (T.RAILWAY_TICKET, T.AIR_ITINERARY)
# Brackets of either width, spaces, and punctuation tools put between the parts of a name.
_NOISE = re.compile(r"[\s()\[\]【】〔〕<>《》{}\"'“”‘’·・:：,，、/\\\-_—–]+")


def normalise_label(text: object) -> str:
    """The lookup key of a label: width folded (NFKC), case folded, brackets, spaces and punctuation
    gone, a 数电 prefix in any of its names written as 数电, and a one-digit code given its zero."""
    key = unicodedata.normalize("NFKC", str(text or "")).strip()
    if re.fullmatch(r"[0-9]+\.0+", key):  # a code that went through a spreadsheet's float
        key = key.split(".")[0]
    key = _NOISE.sub("", key).casefold()
    if key.isdigit() and len(key) == 1:
        return key.zfill(2)
    for prefix in DIGITAL_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            rest = key[len(prefix) :]
            for again in DIGITAL_PREFIXES:  # "数电票（数电发票…）": a name written twice
                if rest.startswith(again) and len(rest) > len(again):
                    rest = rest[len(again) :]
                    break
            return DIGITAL_MARK + rest
    return key


@cache
def known_labels() -> dict[str, str]:
    """Every normalised label → the type it names. Built once, after translations load."""
    table: dict[str, str] = {}

    def add(label: str, value: str) -> None:
        key = normalise_label(label)
        if table.setdefault(key, value) != value:
            raise ValueError(f"invoice type label {label!r} names both {table[key]} and {value}")

    for choice in InvoiceType:
        add(choice.value, choice.value)
        add(PLATFORM_CODES[choice.value], choice.value)
        for label in LABELS[choice.value]:
            add(label, choice.value)
            if choice.value in TRAVEL_TYPES:  # only ever 数电: "数电航空运输电子客票行程单" is the same
                add(DIGITAL_MARK + label, choice.value)
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                add(str(choice.label), choice.value)
    return table


def lookup(text: object) -> str | None:
    """The type a label or code names, or None."""
    return known_labels().get(normalise_label(text))


def closest(text: object, count: int = 3) -> list[str]:
    """The types whose labels come closest to `text`, nearest first."""
    key = normalise_label(text)
    found: list[str] = []
    for label in difflib.get_close_matches(key, known_labels(), n=30, cutoff=0):
        value = known_labels()[label]
        if value not in found and not label.isdigit():
            found.append(value)
        if len(found) == count:
            break
    return found


def unknown_type_message(text: object) -> str:
    """Why a label is refused, naming the nearest known types in the active language."""
    names = pgettext("list separator", ", ").join(str(InvoiceType(value).label) for value in closest(text))
    return gettext("unknown invoice type “%(value)s”; the closest known types are %(types)s") % {
        "value": str(text or "").strip(),
        "types": names,
    }
