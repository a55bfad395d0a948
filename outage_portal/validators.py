"""Validators shared by the apps: Chinese taxpayer identifiers and the moments the portal takes."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def is_digits(text: str) -> bool:
    """Only the digits 0–9, at least one. str.isdigit alone also takes ², ① and other scripts' digits,
    which no invoice number or id holds and int() may refuse."""
    return text.isascii() and text.isdigit()


# GB 32100-2015: 18 characters; I, O, S, V and Z are never used.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
_LEGACY_TAX_ID = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{17}$|^[0-9A-Z]{20}$")


def credit_code_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code for its first 17."""
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_tax_id(value: str) -> str:
    """Upper-case and strip spaces; full-width letters and digits folded to ASCII."""
    folded = "".join(chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else ch for ch in value or "")
    return folded.replace(" ", "").replace("\u3000", "").strip().upper()


def validate_credit_code(value: str) -> None:
    """A unified social credit code with a correct check character (18 characters only)."""
    code = normalise_tax_id(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; %(code)s has %(length)d."),
            code="credit_code_length",
            params={"code": code, "length": len(code)},
        )
    bad = sorted({ch for ch in code if ch not in CREDIT_CODE_ALPHABET})
    if bad:
        raise ValidationError(
            _("%(code)s contains characters a credit code never uses: %(chars)s."),
            code="credit_code_chars",
            params={"code": code, "chars": " ".join(bad)},
        )
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("%(code)s fails the GB 32100 checksum: the last character should be %(expected)s."),
            code="credit_code_checksum",
            params={"code": code, "expected": expected},
        )


def validate_taxpayer_id(value: str) -> None:
    """A taxpayer ID: an 18-character credit code (checksum verified) or an older 15/17/20 form."""
    code = normalise_tax_id(value)
    if len(code) == 18:
        validate_credit_code(code)
        return
    if not _LEGACY_TAX_ID.match(code):
        raise ValidationError(
            _("%(code)s is not a taxpayer ID: expected 18 characters (or an older 15, 17 or 20)."),
            code="taxpayer_id_format",
            params={"code": code},
        )


# Moments the portal takes (windows, incidents, filters): wide of any tax system's life, and clear of
# the ends of Python's dates, where turning Beijing time into UTC or back overflows.
MOMENT_YEARS = (1900, 2199)


def moment_allowed(moment) -> bool:
    return MOMENT_YEARS[0] <= moment.year <= MOMENT_YEARS[1]


def validate_moment(moment) -> None:
    if not moment_allowed(moment):
        raise moment_out_of_range()


def moment_out_of_range() -> ValidationError:
    first, last = MOMENT_YEARS
    return ValidationError(
        _("Choose a time between the years %(first)s and %(last)s."),
        code="out_of_range",
        params={"first": first, "last": last},
    )
