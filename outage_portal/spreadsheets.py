"""What every spreadsheet the portal hands out (CSV or XLSX) does to the text it carries."""

from __future__ import annotations


def escape_cell(value) -> object:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or a tab or carriage return)
    gets a leading apostrophe, so a counterparty named "=HYPERLINK(…)" stays text when opened."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
