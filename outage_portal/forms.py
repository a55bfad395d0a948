from __future__ import annotations

from django import forms

from outage_portal.models import Company


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["name", "region"]
