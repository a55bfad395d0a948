"""Every page and API list, on the demo, with hostile query strings: each answers (200, or a 4xx that
says what is wrong), never a server error. A hand-edited link, a bookmark from another version or a
scanner must not be able to make the portal fail.

Each request sets every query parameter any page reads to the same value: the filters, the
pagination and the pages' own parameters (month, since, region, template, company, …)."""

from __future__ import annotations

import django_filters
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

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
    "2026-02-30",
    "2026-13-45T10:00",
    "２０２６",
    "<script>alert(1)</script>",
    "%",
    "",
]
# The parameters pages read outside their FilterSets.
PAGE_PARAMETERS = {
    "page", "page_size", "month", "since", "region", "template", "company", "incident", "deadline", "gaps",
    "ids", "q", "format", "ordering", "search",
}  # fmt: skip


def _parameter_names() -> list[str]:
    import invoices.filters  # noqa: F401 -- every FilterSet subclass must be imported to be found
    import notices.filters  # noqa: F401
    import recovery.filters  # noqa: F401

    names = set(PAGE_PARAMETERS)
    pending = list(django_filters.FilterSet.__subclasses__())
    while pending:
        filterset = pending.pop()
        names.update(filterset.base_filters)
        pending.extend(filterset.__subclasses__())
    return sorted(names)


def _paths_without_arguments(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _paths_without_arguments(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            path = (prefix + str(pattern.pattern)).replace("^", "").replace("$", "").replace("\\Z", "")
            if "<" not in path and "(" not in path and "[" not in path:
                yield "/" + path


@pytest.mark.parametrize("username", ["bj_admin", "notice_admin"])
def test_no_query_string_makes_a_page_fail(demo_with_simulator, username):
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=username))
    names = _parameter_names()
    assert {"issued_from", "total_min", "incident_kind"} <= set(names)  # the FilterSets were found
    pages = [p for p in sorted(set(_paths_without_arguments(get_resolver().url_patterns))) if "logout" not in p]
    assert "/status/calendar/" in pages and "/api/invoices/" in pages
    failures = []
    for path in pages:
        if client.get(path).status_code != 200:
            continue  # not this user's page (403, a POST-only endpoint's 405)
        for value in HOSTILE_VALUES:
            status = client.get(path, dict.fromkeys(names, value)).status_code
            if status >= 500:
                failures.append((path, value, status))
    assert not failures
