"""Template helpers of the status pages."""

from __future__ import annotations

from django import template

from notices import grid

register = template.Library()
register.filter("function_labels", grid.function_labels)
