"""The region × function grid: the shape of impact everywhere (notices, incidents, status,
subscriptions, gap attribution). Regions are the provincial-level tax bureaus' short names
(北京, 陕西, 深圳, …; see notices.regions)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Function(models.TextChoices):
    """What a tax system lets a taxpayer do; the grid's columns."""

    ISSUE = "issue", _("Issue invoices")  # 开具
    QUERY = "query", _("Query / verify")  # 查询/查验
    CERTIFY = "certify", _("Certify / select")  # 认证/勾选
    FILE = "file", _("Tax filing")  # 申报
    RED_LETTER = "red_letter", _("Red-letter invoices")  # 红字发票
    DOWNLOAD = "download", _("Download")  # 下载


def function_labels(functions) -> list[str]:
    """["issue", "file"] → their translated names, in the order given (an unknown value as it is)."""
    labels = dict(Function.choices)
    return [str(labels.get(f, f)) for f in functions or []]


def functions_include_any(functions, field: str = "functions") -> Q:
    """Rows whose JSON list of functions holds any of `functions`.

    Matches the quoted token in the stored JSON text, which works on SQLite and PostgreSQL alike
    (SQLite has no JSON `contains`); function values never contain one another once quoted.
    """
    query = Q()
    for function in functions:
        query |= Q(**{f"{field}__icontains": f'"{function}"'})
    return query


def validate_functions(value) -> None:
    """A non-empty list of known functions, each once (the model fields' and forms' one rule)."""
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one affected function."), code="functions_empty")
    unknown = [item for item in value if item not in Function.values]
    if unknown:
        raise ValidationError(
            _("Unknown function(s): %(unknown)s. Known: %(known)s."),
            code="functions_unknown",
            params={"unknown": ", ".join(map(str, unknown)), "known": ", ".join(Function.values)},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Each function may be listed once."), code="functions_repeated")
