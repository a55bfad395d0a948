"""Every page and API list of the demo, fed hostile values: each answers (200, or a 4xx that says what
is wrong), never a server error. A hand-edited link, a bookmark from another version, a scanner or a
forged form or API call must not be able to make the portal fail.

Pages are every URL without arguments, and those with one id argument for the first ids (the demo's
objects). Each GET sets every query parameter any page reads to the same value: the filters, the
pagination and the pages' own parameters (month, since, region, template, company, …). Each page
showing a form then gets a POST with every field of its forms set to that value, and each API
endpoint, for each method its OPTIONS lists, a JSON body with every writable field set to it (and to
what only JSON can carry: huge numbers, null, lists, objects)."""

from __future__ import annotations

import django_filters
import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.forms.formsets import BaseFormSet
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

# What a PostgreSQL query, a date, a decimal or an integer column cannot hold, and what looks like them.
HOSTILE_VALUES = [
    "a\x00b",
    "99999999999999999999",
    "-99999999999999999999",
    "1e999",
    "NaN",
    "Infinity",
    "0001-01",
    "9999-12",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01 00:00",
    "9999-12-31 24:00",
    "2026-02-30",
    "2026-13-45T10:00",
    "２０２６",
    "²",  # a digit to str.isdigit, not to int()
    "9" * 4400,  # past what int() reads from a string
    "١٢٣",
    "<script>alert(1)</script>",
    "%",
    "",
]
JSON_ONLY_VALUES = [10**20, -(10**20), 1e308, None, True, [], {}, [10**20], ["a\x00b"], {"a": "b"}]
# The parameters pages read outside their FilterSets.
PAGE_PARAMETERS = {
    "page", "page_size", "month", "since", "region", "template", "company", "incident", "deadline", "gaps",
    "ids", "q", "format", "ordering", "search",
}  # fmt: skip


def _parameter_names() -> list[str]:
    import invoices.filters  # noqa: F401 -- every FilterSet subclass must be imported to be found
    import notices.filters
    import notices.notify.filters  # noqa: F401
    import recovery.filters  # noqa: F401

    names = set(PAGE_PARAMETERS)
    pending = list(django_filters.FilterSet.__subclasses__())
    while pending:
        filterset = pending.pop()
        names.update(filterset.base_filters)
        pending.extend(filterset.__subclasses__())
    return sorted(names)


def _paths(patterns, prefix: str = ""):
    """Every path without arguments, and those with one id argument for ids 1 and 2."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _paths(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            path = prefix + str(pattern.pattern)
            for pk in (1, 2):
                concrete = str(pk).join(path.split("(?P<pk>[^/.]+)"))  # the API's detail routes
                concrete = concrete.replace("<int:pk>", str(pk)).replace("<int:company_pk>", str(pk))
                concrete = concrete.replace("^", "").replace("$", "").replace("\\Z", "")
                if not any(mark in concrete for mark in "<([\\"):
                    yield "/" + concrete


def _form_fields(context) -> set[str]:
    """The names of every field of the forms (and formsets) a page rendered."""
    names: set[str] = set()
    contexts = context if isinstance(context, list) else [context]  # one per template rendered
    values = [value for rendered in contexts for value in rendered.flatten().values()]
    for value in values:
        if isinstance(value, forms.BaseForm):
            names.update(value.add_prefix(name) for name in value.fields)
        elif isinstance(value, BaseFormSet):
            names.update(value.management_form.add_prefix(name) for name in value.management_form.fields)
            for form in value.forms:
                names.update(form.add_prefix(name) for name in form.fields)
    return names


@pytest.mark.parametrize("username", ["bj_admin", "bj_accountant", "notice_admin"])
def test_no_hostile_query_or_form_makes_a_page_fail(demo_with_simulator, username):
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=username))
    pages = sorted({p for p in _paths(get_resolver().url_patterns) if "logout" not in p})
    assert {"/status/calendar/", "/api/invoices/", "/manage/notices/1/edit/"} <= set(pages)
    names = _parameter_names()
    assert {"issued_from", "total_min", "incident_kind", "created_from"} <= set(names)  # the FilterSets were found
    failures, forms_posted = [], 0
    for path in pages:
        shown = client.get(path)
        if shown.status_code != 200:
            continue  # not this user's page (403, 404), or a POST-only endpoint (405)
        fields = _form_fields(shown.context) if shown.context is not None else set()
        forms_posted += bool(fields)
        for value in HOSTILE_VALUES:
            status = client.get(path, dict.fromkeys(names, value)).status_code
            if status >= 500:
                failures.append(("GET", path, value, status))
            if fields:
                status = client.post(path, dict.fromkeys(fields, value)).status_code
                if status >= 500:
                    failures.append(("POST", path, value, status))
    assert forms_posted >= 5
    failures += _api_failures(username)
    assert not failures


def _api_failures(username: str) -> list[tuple]:
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(get_user_model().objects.get(username=username))
    failures, bodies_sent = [], 0
    for path in sorted({p for p in _paths(get_resolver().url_patterns) if p.startswith("/api/")}):
        described = api.options(path)
        if described.status_code != 200 or "json" not in described["Content-Type"]:
            continue
        for method, fields in described.json().get("actions", {}).items():
            writable = [name for name, field in fields.items() if not field.get("read_only")]
            bodies_sent += 1
            for value in HOSTILE_VALUES + JSON_ONLY_VALUES:
                status = getattr(api, method.lower())(path, dict.fromkeys(writable, value), format="json").status_code
                if status >= 500:
                    failures.append((method, path, repr(value), status))
    assert bodies_sent >= 3
    return failures
