"""How every form field looks: Bootstrap 5 classes chosen here by widget type, markup in the project's
`templates/django/forms/` (field group, form, checkbox and radio groups). Settings point
`FORM_RENDERER` at `FormRenderer`, so pages write `{{ form }}` or `{{ field.as_field_group }}` and
nothing else decides a field's classes."""

from __future__ import annotations

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting


def widget_css_class(widget: forms.Widget, *, compact: bool = False) -> str:
    """Bootstrap's class for a widget; compact forms (list filters, one-row forms) use the small size."""
    if isinstance(widget, forms.HiddenInput | forms.MultipleHiddenInput):
        return ""
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select form-select-sm" if compact else "form-select"
    return "form-control form-control-sm" if compact else "form-control"


class BootstrapBoundField(BoundField):
    """A field whose widget carries Bootstrap's class for its type and `is-invalid` when it has errors
    (Django adds `aria-invalid` and `aria-describedby` pointing at the error and the help text)."""

    @property
    def compact(self) -> bool:
        return getattr(self.form, "compact", False)

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        classes = (attrs.get("class") or widget.attrs.get("class") or "").split()
        if not any(c.startswith(("form-control", "form-select", "form-check")) for c in classes):
            classes = [*widget_css_class(widget, compact=self.compact).split(), *classes]
        if self.errors and not widget.is_hidden:
            classes.append("is-invalid")
        if classes:
            attrs["class"] = " ".join(dict.fromkeys(classes))
        return attrs


class FormRenderer(TemplatesSetting):
    """Django's renderer with the project's templates first and the Bootstrap bound field."""

    bound_field_class = BootstrapBoundField
