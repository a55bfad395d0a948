"""Filter pieces shared by every app's FilterSets."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from outage_portal.models import Company


def _my_companies(request):
    if request is None:  # schema generation
        return Company.objects.none()
    return Company.objects.for_user(request.user)


def company_filter() -> django_filters.ModelChoiceFilter:
    """A company choice that offers only the companies the user belongs to (never another tenant's name)."""
    return django_filters.ModelChoiceFilter(label=_("Company"), queryset=_my_companies)


# Moments a filter takes: wide of every window and incident, and clear of the ends of Python's dates,
# where turning a Beijing time into UTC (or back) overflows.
MOMENT_YEARS = (1900, 2199)


class MomentField(IsoDateTimeField):
    default_error_messages = {
        "out_of_range": _("Choose a time between the years %(first)s and %(last)s."),
    }

    def to_python(self, value):
        moment = super().to_python(value)
        first, last = MOMENT_YEARS
        if moment is not None and not first <= moment.year <= last:
            raise ValidationError(
                self.error_messages["out_of_range"], code="out_of_range", params={"first": first, "last": last}
            )
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment (2026-10-01T00:00+08:00; without an offset, Beijing time) in a sane range."""

    field_class = MomentField
