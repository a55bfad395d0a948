"""Warnings when a window is posted or edited: it overlaps or contradicts another notice for the
same system (the Xi'an notice stated three different windows), or it overlaps a filing period
whose deadline it may push people past (late-filing penalties)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notices.models import FilingDeadline, MaintenanceNotice, TaxSystem
from outage_portal.timefmt import local_text


@dataclass(frozen=True)
class WindowWarning:
    code: str  # "overlap", "contradiction" or "filing_deadline"
    message: str
    url: str = ""


def window_warnings(
    *,
    system: TaxSystem,
    start: datetime,
    end: datetime,
    document_number: str = "",
    exclude_pk: int | None = None,
) -> list[WindowWarning]:
    """Everything a notice admin should know before publishing [start, end) for `system`."""
    warnings: list[WindowWarning] = []
    others = MaintenanceNotice.objects.not_cancelled().filter(system=system)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    # Overlapping windows, and windows of the same announcement (document number) that disagree.
    same_document = Q(document_number=document_number) if document_number else Q(pk__in=[])
    for other in others.filter(Q(window_start__lt=end, window_end__gt=start) | same_document).order_by("window_start"):
        overlaps = other.window_start < end and other.window_end > start
        if overlaps:
            code, text = "overlap", _("Overlaps “%(title)s” (%(start)s – %(end)s) for the same system.")
        elif (other.window_start, other.window_end) != (start, end):
            code, text = (
                "contradiction",
                _("The same announcement (%(document)s) also states %(start)s – %(end)s in “%(title)s”."),
            )
        else:
            continue
        params = {
            "title": other.title,
            "start": local_text(other.window_start),
            "end": local_text(other.window_end),
            "document": document_number,
        }
        warnings.append(WindowWarning(code, text % params, reverse("notices:notice-detail", args=[other.pk])))

    # Filing periods run from the first of the month to the deadline (inclusive, local days).
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    deadlines = FilingDeadline.objects.filter(
        Q(region=system.region) | Q(region=""),
        deadline__gte=local_start.date(),
        deadline__lte=(local_end + timedelta(days=31)).date(),
    )
    for deadline in deadlines:
        period_open = timezone.make_aware(datetime(deadline.deadline.year, deadline.deadline.month, 1))
        period_close = timezone.make_aware(datetime.combine(deadline.deadline + timedelta(days=1), datetime.min.time()))
        if start < period_close and end > period_open:
            warnings.append(
                WindowWarning(
                    "filing_deadline",
                    _("Falls in the %(tax)s filing period for %(period)s, which ends %(deadline)s%(note)s.")
                    % {
                        "tax": deadline.tax_type,
                        "period": deadline.period.strftime("%Y-%m"),
                        "deadline": deadline.deadline.isoformat(),
                        "note": f" ({deadline.note})" if deadline.note else "",
                    },
                )
            )
    return warnings


def notice_warnings(notice: MaintenanceNotice) -> list[WindowWarning]:
    if notice.state == "cancelled":
        return []
    return window_warnings(
        system=notice.system,
        start=notice.window_start,
        end=notice.window_end,
        document_number=notice.document_number,
        exclude_pk=notice.pk,
    )
