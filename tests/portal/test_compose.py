"""docker-compose.yml cannot run here (no Docker engine): check it agrees with the settings instead."""

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and not line.startswith("#")
)
SETTINGS_SOURCE = (ROOT / "outage_portal" / "settings.py").read_text()
VARIABLES_READ = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', SETTINGS_SOURCE))


def test_production_services_are_all_there():
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(COMPOSE["services"])


def test_long_running_services_have_health_checks():
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in COMPOSE["services"][name], name


def test_commands_match_the_project():
    services = COMPOSE["services"]
    assert services["web"]["command"][:2] == ["gunicorn", "outage_portal.wsgi:application"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "outage_portal", "worker"]
    beat = services["beat"]["command"]
    assert beat[:4] == ["celery", "-A", "outage_portal", "beat"]
    assert beat[beat.index("--scheduler") + 1] == settings.CELERY_BEAT_SCHEDULER


def test_every_example_variable_is_read_by_the_settings():
    compose_only = {"POSTGRES_PASSWORD"}
    unknown = set(ENV_EXAMPLE) - VARIABLES_READ - compose_only
    assert not unknown, f".env.example sets variables the settings never read: {unknown}"


def test_required_production_variables_are_in_the_example():
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "HTTPS"):
        assert name in ENV_EXAMPLE and name in VARIABLES_READ


def test_urls_point_at_the_compose_services():
    assert "@postgres:5432/" in ENV_EXAMPLE["DATABASE_URL"]
    assert ENV_EXAMPLE["REDIS_URL"].startswith("redis://redis:6379")
    assert COMPOSE["services"]["postgres"]["environment"]["POSTGRES_DB"] in ENV_EXAMPLE["DATABASE_URL"]


def test_app_services_wait_for_healthy_databases():
    for name in ("web", "worker", "beat"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert COMPOSE["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_each_work_queue_has_workers_of_its_own():
    """Notifications, imports, reconciliation and fetches are consumed by workers of their own (scaled
    independently), and the default queue, where beat's sweepers go, by the plain worker."""
    consumed = {}
    for name, service in COMPOSE["services"].items():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "outage_portal", "worker"]:
            consumed[name] = command[command.index("-Q") + 1].split(",")
    assert sorted(q for queues in consumed.values() for q in queues) == sorted(
        [settings.CELERY_TASK_DEFAULT_QUEUE, *settings.CELERY_WORK_QUEUES]
    )
    for name in consumed:
        assert "healthcheck" in COMPOSE["services"][name], name
        assert COMPOSE["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
