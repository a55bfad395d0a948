from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction, ImportKind
from outage_portal.models import Company, Role

IMPORT_ROLES = (Role.ACCOUNTANT, Role.COMPANY_ADMIN)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = [single(item, initial) for item in data] if isinstance(data, list | tuple) else [single(data, initial)]
        for upload in files:
            if upload.size > settings.MAX_UPLOAD_BYTES:
                raise forms.ValidationError(
                    _("%(name)s is %(size)d MB; the limit is %(limit)d MB."),
                    params={
                        "name": upload.name,
                        "size": upload.size // 2**20,
                        "limit": settings.MAX_UPLOAD_BYTES // 2**20,
                    },
                )
        return files


class ImportForm(forms.Form):
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    kind = forms.ChoiceField(
        label=_("What the files are"),
        choices=[(ImportKind.BACKUP, _("Our local backup")), (ImportKind.TAX_EXPORT, _("Tax platform export"))],
    )
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    files = MultipleFileField(label=_("Files (CSV, XLSX, e-invoice XML or OFD)"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.for_user(user, roles=IMPORT_ROLES)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
