"""Forms of the notice admins' pages. They parse input; the services decide what is valid."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notices.grid import Function
from notices.models import (
    WINDOW_ORDER_MESSAGE,
    FilingDeadline,
    IncidentState,
    Severity,
    TaxSystem,
    TextTemplate,
    TextTemplateKind,
)
from notices.parsing import parse_admin_datetime
from outage_portal.validators import validate_moment

DATETIME_HELP = _("Beijing time, e.g. 2026-10-12 24:00 (24:00 is the end of that day).")


class BeijingDateTimeField(forms.CharField):
    """A date and time typed in Beijing time; understands "24:00"."""

    default_error_messages = {
        "invalid": _("Enter a date and time like 2026-10-12 24:00 (Beijing time)."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", DATETIME_HELP)
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "2026-10-12 24:00", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if hasattr(value, "tzinfo"):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            moment = parse_admin_datetime(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        validate_moment(moment)
        return moment


class FunctionsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple
    default_error_messages = {
        "required": _("Choose at least one affected function."),
        "invalid_choice": _("Unknown function: %(value)s."),
    }

    def __init__(self, **kwargs):
        super().__init__(choices=Function.choices, label=kwargs.pop("label", _("Affected functions")), **kwargs)


def _lines_to_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("，", ",").replace("、", ",").split(",") if part.strip()]


class NoticeForm(forms.Form):
    original_text = forms.CharField(
        label=_("Official notice text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Paste the announcement; “Read the text” proposes region, system, window and functions."),
    )
    system = forms.ModelChoiceField(label=_("System"), queryset=TaxSystem.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    window_start = BeijingDateTimeField(label=_("Window start"))
    window_end = BeijingDateTimeField(label=_("Window end"))
    functions = FunctionsField()
    body_markdown = forms.CharField(
        label=_("Body (Markdown)"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    alternatives = forms.CharField(
        label=_("Alternatives"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Service halls, self-service terminals, other platforms; one per line."),
    )
    contacts = forms.CharField(label=_("Contact channels"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    preparation_checklist = forms.CharField(
        label=_("Preparation checklist"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One item per line."),
    )
    recovery_checklist = forms.CharField(
        label=_("Post-recovery checklist"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One item per line."),
    )
    issuing_bureau = forms.CharField(label=_("Issuing bureau"), required=False, max_length=200)
    document_number = forms.CharField(label=_("Document number"), required=False, max_length=100)
    source_url = forms.URLField(label=_("Source URL"), required=False, max_length=500, assume_scheme="https")
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500)
    confirm_warnings = forms.BooleanField(label=_("Post anyway, I have read the warnings"), required=False)

    SERVICE_FIELDS = [
        "system", "title", "window_start", "window_end", "functions", "body_markdown", "alternatives", "contacts",
        "preparation_checklist", "recovery_checklist", "issuing_bureau", "document_number", "source_url",
        "original_text",
    ]  # fmt: skip

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = TaxSystem.objects.active()
        if not editing:
            del self.fields["reason"]

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            # Also the model's rule (its clean): said here too, before the page weighs the window's warnings.
            self.add_error("window_end", WINDOW_ORDER_MESSAGE)
        return data

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why is it cancelled?"), widget=forms.Textarea(attrs={"rows": 3}))


class ExtendForm(forms.Form):
    new_end = BeijingDateTimeField(label=_("New end"))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class IncidentForm(forms.Form):
    original_text = forms.CharField(
        label=_("Report text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Paste a report of the outage; “Read the text” proposes region, system and functions."),
    )
    system = forms.ModelChoiceField(label=_("System"), queryset=TaxSystem.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    functions = FunctionsField()
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MAJOR)
    started_at = BeijingDateTimeField(label=_("Started"))
    impact_invoice_types = forms.CharField(
        label=_("Affected invoice types"),
        required=False,
        help_text=_("Comma-separated, e.g. 增值税专用发票, 数电普票"),
    )
    impact_regions = forms.CharField(
        label=_("Other affected regions"), required=False, help_text=_("Comma-separated region names.")
    )
    impact_summary = forms.CharField(
        label=_("Impact (hours, customers, departments)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    state = forms.ChoiceField(
        label=_("State"),
        choices=[c for c in IncidentState.choices if c[0] != IncidentState.RESOLVED],
        initial=IncidentState.INVESTIGATING,
    )
    message = forms.CharField(label=_("First public update (Markdown)"), widget=forms.Textarea(attrs={"rows": 4}))

    EDIT_FIELDS = [
        "system", "title", "functions", "severity", "started_at", "impact_invoice_types", "impact_regions",
        "impact_summary",
    ]  # fmt: skip

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = TaxSystem.objects.active()
        if editing:
            for name in ("original_text", "state", "message"):
                del self.fields[name]

    def clean_impact_invoice_types(self):
        return _lines_to_list(self.cleaned_data["impact_invoice_types"])

    def clean_impact_regions(self):
        return _lines_to_list(self.cleaned_data["impact_regions"])


class IncidentUpdateForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), choices=[c for c in IncidentState.choices if c[0] != IncidentState.RESOLVED]
    )
    message = forms.CharField(label=_("Update (Markdown)"), widget=forms.Textarea(attrs={"rows": 3}))


class IncidentResolveForm(forms.Form):
    ended_at = BeijingDateTimeField(label=_("Ended"))
    message = forms.CharField(label=_("Closing update (Markdown)"), widget=forms.Textarea(attrs={"rows": 3}))


class PostmortemForm(forms.Form):
    cause = forms.CharField(label=_("Cause"), widget=forms.Textarea(attrs={"rows": 3}))
    lost = forms.CharField(label=_("What was lost"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    actions = forms.CharField(label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TaxSystemForm(forms.ModelForm):
    functions = FunctionsField(label=_("Functions"))
    url = forms.URLField(label=_("website"), required=False, assume_scheme="https")

    class Meta:
        model = TaxSystem
        fields = ["region", "name", "slug", "functions", "description", "url", "sort_order", "is_active"]


class FilingDeadlineForm(forms.ModelForm):
    class Meta:
        model = FilingDeadline
        fields = ["region", "tax_type", "period", "deadline", "note"]
        widgets = {
            "period": forms.DateInput(attrs={"type": "date"}),
            "deadline": forms.DateInput(attrs={"type": "date"}),
        }


class TextTemplateForm(forms.ModelForm):
    class Meta:
        model = TextTemplate
        fields = [
            "kind", "name", "title", "body_markdown", "alternatives", "contacts", "preparation_checklist",
            "recovery_checklist",
        ]  # fmt: skip
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ["body_markdown", "alternatives", "contacts", "preparation_checklist", "recovery_checklist"]
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = TextTemplateKind.choices
