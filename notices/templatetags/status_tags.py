"""Template helpers of the status pages."""

from __future__ import annotations

from django import template

from notices.grid import Function

register = template.Library()
_LABELS = dict(Function.choices)


@register.filter
def function_labels(functions) -> list[str]:
    """["issue", "file"] → their translated names, in the order given."""
    return [str(_LABELS.get(f, f)) for f in functions or []]
