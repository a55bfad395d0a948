"""Schemathesis against the portal's own OpenAPI schema, as every role and as nobody: no request it
generates from the schema makes the server fail (5xx) or answers with a body the schema does not
describe.

Each generated request is sent once per role, through the Django WSGI application in this process
(no server, no network). Runtime is kept to a few examples per operation.
"""

from __future__ import annotations

import ipaddress
import json
import socket

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, note
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from outage_portal.models import Role
from tests.conftest import _member

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Operations whose purpose is to reach another server: a channel's test message and a fetch from a
# company's tax system. Everything else runs, with outbound connections refused (see below).
REACHES_OUT = r"^/api/(notification-channels/\{id\}/test/|tax-sources/\{id\}/fetch/)$"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The people below are made again for each of some eighty operations: hashing their passwords
    the production way would be most of this file's run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def no_outbound_network(monkeypatch):
    """Whatever a generated request makes the portal do, nothing leaves 127.0.0.1: a name lookup or a
    connection to any other address fails like an unreachable host."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def loopback_only(host) -> None:
        try:
            if ipaddress.ip_address(str(host).strip("[]")).is_loopback:
                return
        except ValueError:
            if host in ("localhost", None):
                return
        raise OSError(f"outbound network refused in this test: {host}")

    def getaddrinfo(host, *args, **kwargs):
        loopback_only(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            loopback_only(address[0])
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    # Deliveries are written (the fan-out is under test) but not sent.
    monkeypatch.setattr("notices.notify.services.delivery_enqueue", lambda *args, **kwargs: None)


@pytest.fixture
def same_connection():
    """The WSGI handler closes "old" database connections around each request, which would end this
    test's transaction; Django's test client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def people(beijing, xian, alice, bob, fiona, carol, charlie, nora):
    """Session cookie and CSRF token per role, as the portal's own pages call the API."""
    admin_elsewhere = _member("xavier", xian, Role.COMPANY_ADMIN)
    roles = {
        "finance": fiona,
        "accountant": alice,
        "reviewer": bob,
        "company admin": carol,
        "notice admin": nora,
        "company admin elsewhere": admin_elsewhere,
    }
    out = {"anonymous": ({}, {})}
    for role, user in roles.items():
        client = Client()
        client.force_login(user)
        token = _get_new_csrf_string()
        out[role] = ({"sessionid": client.cookies["sessionid"].value, "csrftoken": token}, {"X-CSRFToken": token})
    return out


def _schema():
    """The schema as drf-spectacular generates it (no database needed: pytest-django has set Django up
    before collection). Loaded directly rather than through a fixture: schemathesis's lazy fixture
    loader does not run under pytest 9."""
    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = WSGIHandler()
    # Random fuzzing only, valid and invalid inputs: the coverage phase's hundreds of boundary cases
    # per operation would take the run past its time budget.
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded.exclude(path_regex=REACHES_OUT)


schema = _schema()


@schema.parametrize()
@hypothesis_settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema_for_every_role(case, people, no_outbound_network, same_connection):
    for role, (cookies, headers) in people.items():
        note(f"as {role}")
        case.call_and_validate(cookies=cookies, headers=headers, checks=CHECKS)
