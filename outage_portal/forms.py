from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from outage_portal.models import LARGEST_ID, Company


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


class RowsChoiceField(forms.ModelMultipleChoiceField):
    """Rows ticked by id. An id no row can have (beyond a 64-bit key, which SQLite cannot even put in
    a query) is refused like any other unknown one."""

    def _check_values(self, value):
        for pk in value:
            try:
                number = int(pk)
            except (TypeError, ValueError):
                continue  # not a number at all: Django's own check says so
            if not 0 < number <= LARGEST_ID:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)
