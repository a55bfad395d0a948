"""Forms of the reconciliation pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction
from outage_portal.models import Company

from .periods import parse_period
from .services import GAP_DECIDERS

PERIOD_HELP = _("A day (2025-11-05) or a month (2025-11). Leave both empty to compare all of the company's records.")


class RunForm(forms.Form):
    """Start a reconciliation run: a company the person decides for, a direction and a period."""

    compact = True  # one row of small fields above the runs table

    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.ISSUED)
    start = forms.CharField(label=_("From"), required=False, max_length=10, help_text=PERIOD_HELP)
    end = forms.CharField(label=_("To"), required=False, max_length=10)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.for_user(user, roles=GAP_DECIDERS)
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update({"placeholder": "2025-11", "inputmode": "numeric"})

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["period_start"], cleaned["period_end"] = parse_period(
                start=cleaned.get("start", ""), end=cleaned.get("end", "")
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned
