from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from notices.regions import region_choices
from outage_portal.models import LARGEST_ID, Company
from outage_portal.validators import is_digits


class CompanyForm(forms.ModelForm):
    region = forms.ChoiceField(label=_("Tax bureau"), choices=region_choices)

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


def row_id(value) -> int | None:
    """A submitted value as a row's id: the digits 0–9 making 1 to LARGEST_ID, else None. Anything
    else names no row (str.isdigit alone takes "²", which int() refuses; SQLite cannot bind an
    integer past 64 bits)."""
    text = str(value)
    if not is_digits(text) or len(text) > len(str(LARGEST_ID)):  # int() refuses past 4,300 digits
        return None
    number = int(text)
    return number if 0 < number <= LARGEST_ID else None


def row_ids(values) -> list[int]:
    """The submitted values that are row ids (see row_id), in order."""
    return [number for number in map(row_id, values) if number is not None]


class RowsChoiceField(forms.ModelMultipleChoiceField):
    """Rows ticked by id. An id no row can have (beyond a 64-bit key, which SQLite cannot even put in
    a query) is refused like any other unknown one."""

    def _check_values(self, value):
        for pk in value:
            if row_id(pk) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)
