from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from invoices.forms import MultipleFileField
from invoices.models import Direction, InvoiceType
from outage_portal.models import Company

from .services import RESPONDERS


class OrderImportForm(forms.Form):
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    direction = forms.ChoiceField(
        label=_("Direction"),
        required=False,
        choices=[("", _("From the headers (客户 = sales, 供应商 = purchases)")), *Direction.choices],
    )
    files = MultipleFileField(label=_("Order or contract lists (CSV or XLSX)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.for_user(user, roles=RESPONDERS)


class ScopeForm(forms.Form):
    fault_started_at = forms.DateTimeField(label=_("Fault started"), required=False)
    impact = forms.CharField(label=_("What it touched"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    scope_invoice_types = forms.MultipleChoiceField(
        label=_("Invoice types"), required=False, choices=InvoiceType.choices, widget=forms.CheckboxSelectMultiple
    )
    scope_customers = forms.CharField(
        label=_("Customers and suppliers"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    scope_departments = forms.CharField(label=_("Departments"), required=False)
    scope_from = forms.DateTimeField(label=_("Hours from"), required=False)
    scope_to = forms.DateTimeField(label=_("Hours to"), required=False)


class CopyForm(forms.Form):
    file = forms.FileField(label=_("Copy or e-invoice file (PDF, image, OFD or XML)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
