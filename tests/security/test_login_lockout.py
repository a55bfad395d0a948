"""Signing in, as an attacker guessing passwords behind the documented proxy would try it."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from demo.foundation import DEMO_PASSWORD
from outage_portal.client_ip import client_ip
from outage_portal.models import User
from tests.conftest import PASSWORD

PROXY = "10.0.0.2"
ATTACKER = "203.0.113.7"
COLLEAGUE = "198.51.100.20"


@pytest.fixture
def lockout(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    settings.TRUSTED_PROXIES = []


def _sign_in(client, username, password, address):
    client.logout()
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,  # every request comes through the reverse proxy
        HTTP_X_FORWARDED_FOR=address,
    )


def test_the_attacked_username_is_refused_from_the_attackers_address_after_the_threshold(client, lockout, alice):
    for _ in range(4):
        assert _sign_in(client, "alice", "wrong-guess", ATTACKER).status_code == 200  # the form again
    assert _sign_in(client, "alice", "wrong-guess", ATTACKER).status_code == 429  # the fifth locks
    response = _sign_in(client, "alice", PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_other_people_behind_the_same_proxy_still_sign_in(client, lockout, alice, bob):
    for _ in range(6):
        _sign_in(client, "alice", "wrong-guess", ATTACKER)
    # Another user from the attacker's own address, and the attacked user from her desk.
    assert _sign_in(client, "bob", PASSWORD, ATTACKER).status_code == 302
    assert _sign_in(client, "alice", PASSWORD, COLLEAGUE).status_code == 302


def test_a_lockout_ends_after_the_cool_off(client, lockout, settings, alice):
    for _ in range(6):
        _sign_in(client, "alice", "wrong-guess", ATTACKER)
    assert _sign_in(client, "alice", PASSWORD, ATTACKER).status_code == 429
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert _sign_in(client, "alice", PASSWORD, ATTACKER).status_code == 302


def test_client_address_behind_the_proxy_ignores_what_the_client_wrote_itself(settings):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    settings.TRUSTED_PROXIES = []
    rf = RequestFactory()
    # The client sent its own X-Forwarded-For; the proxy appended the address it really came from.
    spoofed = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8, " + ATTACKER)
    assert client_ip(spoofed) == ATTACKER
    assert client_ip(rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-address")) == PROXY
    settings.PROXY_COUNT = 2  # a load balancer in front of the proxy
    assert client_ip(rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"9.9.9.9, {ATTACKER}, 10.0.0.9")) == ATTACKER


def test_forwarded_for_is_ignored_unless_behind_a_trusted_proxy(settings):
    rf = RequestFactory()
    request = rf.get("/", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="1.2.3.4")
    settings.BEHIND_PROXY = False
    assert client_ip(request) == ATTACKER
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_ip(request) == ATTACKER  # straight to the portal, not through the proxy
    assert client_ip(rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=COLLEAGUE)) == COLLEAGUE


def test_create_user_refuses_a_weak_password(db, monkeypatch):
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "12345678")
    with pytest.raises(CommandError, match=r"密码|(?i:password)"):
        call_command("create_user", "mallory")
    assert not User.objects.filter(username="mallory").exists()
    monkeypatch.setenv("PORTAL_USER_PASSWORD", PASSWORD)
    call_command("create_user", "mallory")
    assert authenticate(username="mallory", password=PASSWORD) is not None


def test_load_demo_refuses_a_portal_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")
    assert not User.objects.filter(username="notice_admin").exists()


def test_a_forced_demo_on_a_production_portal_has_no_published_password(db, settings):
    settings.DEBUG = False
    with open(os.devnull, "w") as out:
        call_command("load_demo", force=True, stdout=out)
    notice_admin = User.objects.get(username="notice_admin")
    assert notice_admin.is_notice_admin
    assert not notice_admin.check_password(DEMO_PASSWORD)


@pytest.fixture
def idle_timeout(settings):
    settings.SESSION_IDLE_TIMEOUT = 30 * 60


def test_an_idle_session_is_signed_out(client_for, alice, idle_timeout):
    client = client_for(alice)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get("/invoices/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get("/invoices/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert "_auth_user_id" not in client.session


def test_activity_keeps_a_session_alive(client_for, alice, idle_timeout):
    client = client_for(alice)
    start = timezone.now()
    for minutes in (0, 20, 40, 60, 80):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/invoices/").status_code == 200, minutes
