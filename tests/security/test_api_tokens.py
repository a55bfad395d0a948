"""API tokens as an attacker who got hold of one (or of the database) would try them: a token read from
the database is useless, a token expires, can be revoked, and dies when its owner changes the password.
The token endpoint and writes are throttled."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import PASSWORD


def token_for(username: str, password: str = PASSWORD) -> str:
    response = APIClient().post("/api/token/", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expiry"]
    return body["token"]


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def refused(response) -> bool:
    """Signed out: DRF answers 403 when session authentication comes first, in the one error shape."""
    return response.status_code in (401, 403) and response.json()["error"]["code"] == "authentication_failed"


def test_the_token_endpoint_keeps_its_path_and_the_token_works(alice):
    assert api(token_for("alice")).get("/api/companies/").status_code == 200
    assert refused(api("not-a-token").get("/api/companies/"))


def test_the_database_holds_no_usable_token(alice):
    token = token_for("alice")
    with connection.cursor() as cursor:
        tables = [t for t in connection.introspection.table_names(cursor) if "token" in t]
        dumped = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dumped.extend(str(value) for row in cursor.fetchall() for value in row)
    assert dumped and not any(token in value or value == token for value in dumped)


def test_a_token_expires(alice, settings):
    settings.API_TOKEN_TTL_HOURS = 24
    token = token_for("alice")
    assert api(token).get("/api/companies/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert refused(api(token).get("/api/companies/"))


def test_a_token_can_be_revoked(alice):
    token, other = token_for("alice"), token_for("alice")
    assert api(token).post("/api/token/revoke/").status_code == 204
    assert refused(api(token).get("/api/companies/"))
    assert api(other).get("/api/companies/").status_code == 200  # only the one revoked
    assert api(other).post("/api/token/revoke-all/").status_code == 204
    assert refused(api(other).get("/api/companies/"))


def test_tokens_die_with_a_password_change(alice, client):
    token = token_for("alice")
    client.force_login(alice)
    new_password = "another-horse-battery-7"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert refused(api(token).get("/api/companies/"))
    assert api(token_for("alice", new_password)).get("/api/companies/").status_code == 200


def test_tokens_die_when_an_admin_sets_the_password(alice):
    token = token_for("alice")
    alice.set_password("set-by-the-admin-42")
    alice.save()
    assert refused(api(token).get("/api/companies/"))


def test_other_saves_keep_the_token(alice):
    token = token_for("alice")
    alice.first_name = "Alice"
    alice.save()
    assert api(token).get("/api/companies/").status_code == 200


def test_password_guessing_at_the_token_endpoint_is_throttled(alice, settings):
    settings.API_TOKEN_RATE = "5/minute"
    client = APIClient()
    for n in range(5):
        assert client.post("/api/token/", {"username": "alice", "password": f"guess-{n}"}).status_code == 400
    # Even the right password waits now.
    response = client.post("/api/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and response.json()["error"]["code"] == "throttled"


def test_writes_are_throttled_reads_are_not(carol, beijing, settings):
    settings.API_WRITE_RATE = "3/minute"
    client = api(token_for("carol"))
    for _ in range(3):
        assert client.patch(f"/api/companies/{beijing.pk}/", {"name": beijing.name}, format="json").status_code == 200
    assert client.patch(f"/api/companies/{beijing.pk}/", {"name": beijing.name}, format="json").status_code == 429
    for _ in range(5):
        assert client.get("/api/companies/").status_code == 200
