"""The demo app is optional: a portal started with DEMO=0 leaves it out and still checks, migrates and
routes; its commands are then not offered. Bench-only URLs live in the bench's URLconf alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands
from django.urls import Resolver404, get_resolver, resolve

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMANDS = {"load_demo", "run_tax_simulator", "tax_simulator_fault"}


def manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """manage.py in a fresh process with DEMO=0, over an empty SQLite database of its own."""
    env = {
        **os.environ,
        "DEMO": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_demo_is_in_by_default():
    assert "demo" in settings.INSTALLED_APPS
    assert DEMO_COMMANDS <= set(get_commands())


@pytest.fixture(scope="module")
def without_demo(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("without-demo")
    apps = manage(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.INSTALLED_APPS)")
    assert apps.returncode == 0, apps.stderr
    assert "'demo'" not in apps.stdout and "'response'" in apps.stdout
    return tmp_path


def test_without_the_demo_the_system_checks_pass(without_demo):
    # The checks import the root URLconf and resolve every app's URLs, views and models.
    result = manage(without_demo, "check", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_the_demo_migrations_are_complete_and_plan(without_demo):
    missing = manage(without_demo, "makemigrations", "--check", "--dry-run")
    assert missing.returncode == 0, missing.stdout + missing.stderr
    plan = manage(without_demo, "migrate", "--plan")
    assert plan.returncode == 0, plan.stderr
    assert "outage_portal.0001_initial" in plan.stdout and "response." in plan.stdout


def test_without_the_demo_its_commands_are_not_offered(without_demo):
    offered = manage(without_demo, "help", "--commands")
    assert offered.returncode == 0, offered.stderr
    assert "migrate" in offered.stdout.split()
    assert not DEMO_COMMANDS & set(offered.stdout.split())
    refused = manage(without_demo, "load_demo", "--force")
    assert refused.returncode != 0 and "Unknown command: 'load_demo'" in refused.stderr


def test_the_bench_constant_view_is_served_by_the_bench_urlconf_only():
    with pytest.raises(Resolver404):
        resolve("/bench/constant/")
    bench = get_resolver("bench.urls")
    assert bench.resolve("/bench/constant/").url_name == "bench-constant"
    assert bench.resolve("/status/").url_name == resolve("/status/").url_name
