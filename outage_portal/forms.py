from __future__ import annotations

from django import forms

from outage_portal.models import Company


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["name", "region"]


def form_add_service_errors(form: forms.Form, exc) -> None:
    """Show a service's ValidationError where it belongs: on its field when the form has one,
    above the form otherwise. Views call services after `is_valid()`; this is how their refusals
    reach the person."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
