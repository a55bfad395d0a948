"""What every spreadsheet the portal hands out (CSV or XLSX) does to the text it carries.

Every CSV and XLSX writer routes its cells through `escape_row` (or `escape_cell`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain negative amount such as "-12.50" is a number, not a formula: it stays as it is.
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def escape_cell(value) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or a tab or carriage return)
    gets a leading apostrophe, so a counterparty named "=HYPERLINK(…)" stays text when opened.
    Numbers, dates and None pass unchanged (XLSX writes them as numeric cells)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_row(values: Iterable) -> list:
    return [escape_cell(value) for value in values]
