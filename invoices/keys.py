"""Normalising invoice numbers into match keys.

Spreadsheets mangle numbers: Excel's leading apostrophe, full-width digits from Chinese input
methods, thousands separators, stray spaces. Both sides of a reconciliation go through here, so a
key means the same thing wherever it is compared.
"""

from __future__ import annotations

from outage_portal.validators import is_digits

_FULL_WIDTH = {ord(ch): ord(ch) - 0xFEE0 for ch in "０１２３４５６７８９"}
_DROP = {ord(ch): None for ch in " \t\u3000,，'‘’`\"-"}


def normalise_digits(value: object) -> str:
    """'０１２,３４' → '01234'. Leading apostrophes, separators and spaces removed."""
    if value is None:
        return ""
    if type(value) is str and is_digits(value):
        return value  # the usual, clean cell: nothing to fold (a fast path, a million times per big import)
    text = str(value).strip()
    if text.endswith(".0") and is_digits(text[:-2]):  # a number that went through a float
        text = text[:-2]
    return text.translate(_FULL_WIDTH).translate(_DROP)


def invoice_key(*, code: object = "", number: object = "", digital_number: object = "") -> str:
    """The match key: the 20-digit 数电 number if there is one, else code + number ("" if neither)."""
    digital = normalise_digits(digital_number)
    if digital:
        return digital
    code_, number_ = normalise_digits(code), normalise_digits(number)
    if len(number_) == 20 and not code_:  # a 数电 number given in the number column
        return number_
    if not number_:
        return ""
    return f"{code_}{number_.zfill(8)}" if code_ else number_
