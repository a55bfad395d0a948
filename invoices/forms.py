from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction, ImportKind, TaxSourceKind
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


# --- tax-system sources ---
class TaxSourceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Where the tax system's records come from"), choices=TaxSourceKind.choices)
    base_url = forms.URLField(
        label=_("Base URL"),
        required=False,
        assume_scheme="https",
        max_length=300,
        help_text=_(
            "For an API, e.g. https://tax.example.cn; for the simulator leave it empty to use the portal's own."
        ),
    )
    credential = forms.CharField(
        label=_("Access token"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Never shown again after saving. Leave empty to keep the stored token."),
    )
    timeout_seconds = forms.IntegerField(label=_("Timeout (seconds)"), min_value=1, max_value=300)
    max_retries = forms.IntegerField(label=_("Retries on failure"), min_value=0, max_value=10)
    page_size = forms.IntegerField(label=_("Invoices per page"), min_value=10, max_value=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
