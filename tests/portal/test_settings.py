"""Configuration comes from the environment and fails loudly on nonsense."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from outage_portal.env import env_bool, env_int, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_booleans_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", False)


def test_integers_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "twenty-five")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT"):
        env_int("EMAIL_PORT", 25)


def test_secrets_may_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "s3cr3t"


def _manage(args, env_extra, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), **env_extra})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "pR0d-5ecret-" + "x7Kq9Lm2Vn4Bp6Zr8Ts0Wu1Yc3Ae5Gi7Hk9Jo2Qs4Dv6Fx8",
    "ALLOWED_HOSTS": "portal.example.cn",
    "HTTPS": "1",
    "DATABASE_URL": "postgres://portal:portal@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "FIELD_ENCRYPTION_KEYS": "q3Gm4b1mKxJ0v7oVjH2Jm4H0Yqk0k5m2cJwqP4bZ3y8=",
}


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "WARNINGS" not in result.stdout


def test_check_deploy_warns_on_development_defaults(tmp_path):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], {}, tmp_path)
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # the development SECRET_KEY
    assert "outage_portal.W001" in result.stderr  # SQLite


def test_nonsense_database_url_fails_loudly(tmp_path):
    result = _manage(["check"], {"DATABASE_URL": "nonsense://"}, tmp_path)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
