"""Codes stored for machines, said in words on pages and in emails."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from notices.events import EventKind

register = template.Library()


@register.filter
def event_label(code: str) -> str:
    """An event kind in words ("notice_published" → 公告发布)."""
    return str(dict(EventKind.choices).get(code, code))


@register.filter
def event_labels(codes) -> str:
    return "、".join(event_label(code) for code in codes or [])


@register.filter
def lead_times(values) -> str:
    """How long before a window reminders go, longest first: "提前 1 天 / 1 小时"."""
    from notices.notify.reminders import _lead_label

    if not values:
        return ""
    amounts = " / ".join(_lead_label(int(m)) for m in sorted(values, reverse=True))
    return _("%(amount)s before") % {"amount": amounts}


@register.filter
def system_names(slugs) -> str:
    """Tax systems by name rather than by their URL slug (a subscription names a few at most)."""
    from notices.models import TaxSystem

    if not slugs:
        return ""
    names = {system.slug: str(system) for system in TaxSystem.objects.filter(slug__in=list(slugs))}
    return "、".join(names.get(slug, slug) for slug in slugs)
