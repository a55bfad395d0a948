"""The deferred-filing application form. It parses and validates; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from outage_portal.models import Company

from ..reissue.forms import IncidentChoiceField, _incidents
from ..reissue.services import DRAFTERS


class DeferredFilingForm(forms.Form):
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    incident = IncidentChoiceField(label=_("Incident"), queryset=_incidents(), required=False)
    period = forms.DateField(
        label=_("Period (first day of the month)"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    tax_type = forms.CharField(label=_("Tax type"), max_length=50, initial="增值税")
    deadline = forms.DateField(
        label=_("Filing deadline"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    requested_deadline = forms.DateField(
        label=_("Requested new deadline"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, user, application=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.for_user(user, roles=DRAFTERS)
        if application is not None:
            self.fields["company"].disabled = True

    def clean_period(self):
        period = self.cleaned_data["period"]
        return period.replace(day=1)
