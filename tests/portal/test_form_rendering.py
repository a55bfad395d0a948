"""Every form field renders one way (outage_portal.form_rendering and templates/django/forms/)."""

from django import forms

from recovery.filters import GapFilter


class Sample(forms.Form):
    name = forms.CharField(label="Name", help_text="Who it is")
    kind = forms.ChoiceField(label="Kind", choices=[("a", "A"), ("b", "B")])
    agree = forms.BooleanField(label="Agree", required=False)
    tags = forms.MultipleChoiceField(
        label="Tags", choices=[("x", "X"), ("y", "Y")], widget=forms.CheckboxSelectMultiple, required=False
    )
    upload = forms.FileField(label="File", required=False)
    day = forms.DateField(label="Day", required=False, widget=forms.DateInput(attrs={"type": "date"}))


def test_widgets_get_bootstraps_class_by_type():
    html = str(Sample())
    assert 'class="form-control" id="id_name"' in html
    assert 'class="form-select" id="id_kind"' in html
    assert 'type="checkbox" name="agree" class="form-check-input"' in html
    assert 'value="x" class="form-check-input" id="id_tags_0"' in html
    assert 'type="file" name="upload" class="form-control"' in html
    assert 'type="date" name="day" class="form-control"' in html
    assert '<label class="form-label" for="id_name">Name *</label>' in html
    assert '<label class="form-check-label" for="id_agree">Agree</label>' in html
    assert '<div class="form-text" id="id_name_helptext">Who it is</div>' in html


def test_an_error_is_shown_inline_and_described():
    html = str(Sample(data={"kind": "a"}))
    assert 'aria-invalid="true" aria-describedby="id_name_helptext id_name_error"' in html
    assert 'class="form-control is-invalid" id="id_name"' in html
    assert 'id="id_name_error" data-field="name" data-for="name">' in html
    assert 'id="id_kind_error" data-field="kind" hidden data-for="kind">' in html


def test_list_filters_render_as_a_row_of_small_fields(rf):
    request = rf.get("/", {"status": "bogus"})
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    html = str(GapFilter(request.GET, request=request).form)
    assert '<div class="col-auto field-status">' in html
    assert 'class="form-select form-select-sm is-invalid" id="id_status"' in html
    assert '<label class="form-label small mb-0" for="id_issued_from">' in html
