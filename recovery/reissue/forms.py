"""Forms for reissue requests and hand-issued invoices. They parse and validate;
the services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from invoices.forms import MultipleFileField
from invoices.keys import normalise_digits
from outage_portal.forms import RowsChoiceField
from outage_portal.models import Company
from outage_portal.timefmt import local_text
from outage_portal.validators import is_digits

from ..models import OPEN_GAP_STATES, Gap
from . import uploads
from .models import EvidenceKind, ReissueReason, RequestedAction
from .services import DRAFTERS, HandEnteredInvoice


def _incidents():
    from notices.models import Incident

    return Incident.objects.select_related("system").order_by("-started_at")


class IncidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.title} ({local_text(obj.started_at)})"


class EvidenceFilesField(MultipleFileField):
    """Evidence files checked completely in the form (name, size, content), so nothing is stored
    unless every file passes."""

    def clean(self, data, initial=None):
        if not data:
            return []
        files = super().clean(data, initial)
        checked, errors = [], []
        for upload in files:
            if upload is None:
                continue
            try:
                checked.append(uploads.check_upload(name=upload.name, content=upload))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        return checked


class ReissueRequestForm(forms.Form):
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    gaps = RowsChoiceField(
        label=_("Gaps"), queryset=Gap.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=ReissueReason.choices)
    incident = IncidentChoiceField(label=_("Incident"), queryset=_incidents(), required=False)
    reason_detail = forms.CharField(label=_("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    action = forms.ChoiceField(label=_("Requested action"), choices=RequestedAction.choices)
    counterparty_name = forms.CharField(label=_("Customer / supplier"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_phone = forms.RegexField(
        label=_("Contact phone"),
        max_length=50,
        required=False,
        regex=r"^[0-9+\-() ]{5,50}$",
        error_messages={"invalid": _("A phone number has digits, spaces, +, - and brackets only.")},
    )
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    evidence_kind = forms.ChoiceField(
        label=_("Kind of the attached files"), choices=EvidenceKind.choices, required=False
    )
    evidence = EvidenceFilesField(label=_("Evidence files"), required=False)

    def __init__(self, *args, user, request_obj=None, **kwargs):
        super().__init__(*args, **kwargs)
        companies = Company.objects.for_user(user, roles=DRAFTERS)
        self.fields["company"].queryset = companies
        gaps = Gap.objects.filter(company__in=companies.values("pk"), status__in=OPEN_GAP_STATES)
        if request_obj is not None:
            gaps = gaps | Gap.objects.filter(reissue_items__request=request_obj)
            self.fields["company"].disabled = True
        elif not self.initial.get("company") and len(ids := list(companies.values_list("pk", flat=True)[:2])) == 1:
            self.initial["company"] = ids[0]  # the usual case: an accountant of one company
        self.fields["gaps"].queryset = (
            gaps.distinct().select_related("company").order_by("company", "issue_date", "invoice_key")
        )
        self.fields["evidence"].widget.attrs["accept"] = uploads.accept_attribute()

    def clean(self):
        data = super().clean()
        company = data.get("company")
        gaps = data.get("gaps") or []
        if company is not None and any(g.company_id != company.pk for g in gaps):
            self.add_error("gaps", _("Choose gaps of the selected company only."))
        return data


class HandEnteredInvoiceForm(forms.Form):
    """One invoice the portal never saw."""

    invoice_code = forms.CharField(label=_("Invoice code"), max_length=12, required=False)
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=24)
    issue_date = forms.DateField(
        label=_("Issue date"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    counterparty_name = forms.CharField(label=_("Counterparty"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("Amount"), max_digits=16, decimal_places=2)
    tax = forms.DecimalField(label=_("Tax"), max_digits=16, decimal_places=2, min_value=Decimal("0"))

    def clean_invoice_code(self):
        code = normalise_digits(self.cleaned_data.get("invoice_code"))
        if code and (not is_digits(code) or len(code) not in (10, 12)):
            raise ValidationError(_("An invoice code has 10 or 12 digits."))
        return code

    def clean_invoice_number(self):
        number = normalise_digits(self.cleaned_data.get("invoice_number"))
        if not is_digits(number) or len(number) not in (8, 20):
            raise ValidationError(_("An invoice number has 8 digits (20 for a 数电 invoice)."))
        return number

    def to_manual(self) -> HandEnteredInvoice:
        d = self.cleaned_data
        return HandEnteredInvoice(
            invoice_code=d["invoice_code"],
            invoice_number=d["invoice_number"],
            issue_date=d["issue_date"],
            amount=d["amount"],
            tax=d["tax"],
            counterparty_name=d.get("counterparty_name", ""),
        )


HandEnteredInvoiceFormSet = forms.formset_factory(HandEnteredInvoiceForm, extra=0, can_delete=True)


class TransitionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class HandIssuedInvoiceForm(forms.Form):
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    incident = IncidentChoiceField(label=_("Outage"), queryset=_incidents(), required=False)
    invoice_code = forms.CharField(label=_("Invoice code"), max_length=12, required=False)
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=24)
    issue_date = forms.DateField(
        label=_("Issue date"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    counterparty_name = forms.CharField(label=_("Counterparty"), max_length=200)
    counterparty_tax_id = forms.CharField(label=_("Counterparty tax ID"), max_length=20, required=False)
    amount = forms.DecimalField(label=_("Amount"), max_digits=16, decimal_places=2)
    tax = forms.DecimalField(label=_("Tax"), max_digits=16, decimal_places=2, min_value=Decimal("0"))
    scan = forms.FileField(label=_("Photo or scan"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    clean_invoice_code = HandEnteredInvoiceForm.clean_invoice_code
    clean_invoice_number = HandEnteredInvoiceForm.clean_invoice_number

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.for_user(user, roles=DRAFTERS)
        self.fields["scan"].widget.attrs["accept"] = uploads.accept_attribute(uploads.SCAN_TYPES)

    def clean_scan(self):
        upload = self.cleaned_data.get("scan")
        if not upload:
            return None
        return uploads.check_upload(name=upload.name, content=upload, allowed=uploads.SCAN_TYPES)
