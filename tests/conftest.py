"""Shared fixtures. Named people make permission tests read like sentences:

- alice: accountant of the Beijing company
- bob: reviewer of the Beijing company
- fiona: finance staff of the Beijing company
- carol: company admin of the Beijing company
- charlie: accountant of the Xi'an company (an outsider to Beijing)
- nora: site-wide notice admin, member of no company
"""

from __future__ import annotations

import os

import pytest
from rest_framework.test import APIClient

from outage_portal import services
from outage_portal.celery import app as celery_app
from outage_portal.models import Role

# Fixtures of one area that tests of other areas use as well; the rest sit in each folder's conftest.py.
pytest_plugins = ["tests.notices.fixtures", "tests.notices.notify.fixtures", "tests.recovery.reissue.fixtures"]

PASSWORD = "correct-horse-battery-9"
BEIJING_CODE = "91110108MA01B2C3D0"
XIAN_CODE = "91610131MA6TX1Y2KC"


def pytest_collection_modifyitems(items):
    """A test that drives a browser or starts a worker is marked so, whatever file it sits in:
    `make test-fast` leaves both kinds out."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "page" in names or "login" in names:
            item.add_marker(pytest.mark.browser)
        if "celery_worker_process" in names:
            item.add_marker(pytest.mark.worker)


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Ordinary tests run tasks inline; tests marked `worker` start a real worker instead."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, with no session left on it when it is dropped.

    PostgreSQL will not drop a database someone is still connected to, and pytest-django then only
    warns and leaves it behind. Sessions this process's threads opened can outlast the run: the live
    server answers each browser connection in a thread with a database connection of its own, closed
    only as the thread ends, and a thread still waiting on an idle keep-alive socket has not ended.
    So before the database is dropped, end the other sessions on it: it is this xdist worker's own
    database, and the Celery workers tests start have stopped by then."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": "/private-not-served/"},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A cache of its own per test (LocMem's are shared by LOCATION): throttling counts start afresh.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}
    }
    settings.AXES_ENABLED = False
    settings.SESSION_IDLE_TIMEOUT = 0  # tests moving the clock would be signed out; tests/security turn it on
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def beijing(db):
    return services.company_create(name="北京华信科技有限公司", credit_code=BEIJING_CODE, region="北京")


@pytest.fixture
def xian(db):
    return services.company_create(name="西安秦川贸易有限公司", credit_code=XIAN_CODE, region="西安")


@pytest.fixture
def published(monkeypatch):
    """The events published (alerts, notices), kept here instead of reaching subscribers."""
    calls = []
    monkeypatch.setattr("notices.events.event_publish", calls.append)
    return calls


SIMULATOR_TOKEN = "test-simulator-token"


@pytest.fixture
def sim(settings):
    """A real tax-system simulator on an ephemeral port of 127.0.0.1, stopped after the test."""
    from demo import simulator

    settings.TAX_SOURCE_RETRY_BACKOFF_MS = 1
    settings.TAX_SOURCE_MAX_RETRY_AFTER_SECONDS = 0  # the outage fault's Retry-After would hold each retry
    server = simulator.serve_in_thread(token=SIMULATOR_TOKEN)
    allow_outbound(settings, server.url)
    yield server
    server.stop()


def allow_outbound(settings, url: str) -> None:
    """Let the portal reach exactly this local test server (host:port), as an operator would allow
    their own tax gateway; loopback as a whole stays refused."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    settings.OUTBOUND_ALLOW = [*settings.OUTBOUND_ALLOW, f"{parts.hostname}:{parts.port}"]


@pytest.fixture(autouse=True)
def _own_simulator_port(settings):
    """Every test's `load_demo` starts its in-process simulator on a free port of its own, stopped
    after the test: on the default port it would outlive the test (keeping `make run` from starting
    its own there) or, with `make run` up, quietly use that one and whatever fault it is set to."""
    from demo import simulator

    settings.TAX_SIMULATOR_URL = f"http://127.0.0.1:{free_port()}"
    allow_outbound(settings, settings.TAX_SIMULATOR_URL)
    try:
        yield
    finally:
        simulator.stop_in_process()


@pytest.fixture
def demo_simulator_url(settings):
    """Where load_demo starts its in-process simulator (see _own_simulator_port), retrying at once."""
    settings.TAX_SOURCE_RETRY_BACKOFF_MS = 1
    return settings.TAX_SIMULATOR_URL


@pytest.fixture
def demo_with_simulator(demo_simulator_url, settings, db, django_capture_on_commit_callbacks):
    """load_demo against its in-process simulator, running what it queues on commit."""
    from django.core.management import call_command

    settings.NOTIFY_HTTP_CONNECT_TIMEOUT = 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", force=True)
    return demo_simulator_url


def _member(username, company, role, **extra):
    user = services.user_create(username=username, password=PASSWORD, email=f"{username}@example.com", **extra)
    if company is not None:
        services.membership_grant(user=user, company=company, role=role)
    return user


@pytest.fixture
def alice(beijing):
    return _member("alice", beijing, Role.ACCOUNTANT)


@pytest.fixture
def bob(beijing):
    return _member("bob", beijing, Role.REVIEWER)


@pytest.fixture
def fiona(beijing):
    return _member("fiona", beijing, Role.FINANCE)


@pytest.fixture
def carol(beijing):
    return _member("carol", beijing, Role.COMPANY_ADMIN)


@pytest.fixture
def charlie(xian):
    return _member("charlie", xian, Role.ACCOUNTANT)


@pytest.fixture
def nora(db):
    return _member("nora", None, None, notice_admin=True)


@pytest.fixture
def client_for(client):
    """client_for(user) -> a Django test client signed in as user."""

    def make(user):
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_for():
    """api_for(user) -> a DRF APIClient authenticated as user (token auth, as integrators use)."""
    from knox.models import AuthToken

    tokens = {}

    def make(user):
        api = APIClient()
        if user.pk not in tokens:
            tokens[user.pk] = AuthToken.objects.create(user=user)[1]
        api.credentials(HTTP_AUTHORIZATION=f"Token {tokens[user.pk]}")
        return api

    return make


# --- Browser -------------------------------------------------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def _playwright_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make around it are
    # still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(_playwright_browser, live_server, settings):
    settings.SITE_URL = live_server.url
    context = _playwright_browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15000)
    pg = context.new_page()
    pg.base_url = live_server.url  # type: ignore[attr-defined]
    yield pg
    context.close()


@pytest.fixture
def login(page):
    """login(user) signs in through the real login form."""

    def do(user, password=PASSWORD):
        page.goto(f"{page.base_url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#current-user")
        return page

    return do


def nav_click(page, name: str) -> None:
    """Follow a menu item as a person does: open the collapsed menu (narrow screens) and the item's
    dropdown group first when it is not in view."""
    link = page.locator(f"#main-nav [data-nav={name}]")
    toggler = page.locator("#nav-toggler")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        page.wait_for_selector("#nav-collapse.show")
    if not link.is_visible():
        page.locator(f"#main-nav li.dropdown:has([data-nav={name}]) > .dropdown-toggle").click()
    link.click()


# --- Real Celery worker --------------------------------------------------------------------------
def database_url_for_tests() -> str:
    """The URL of the database this test process uses, for a worker process to share it."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class WorkerProcess:
    """A real `celery worker` process consuming one private queue, against this test's database."""

    def __init__(self, queue: str):
        self.queue = queue
        self.proc = None

    def start(self, *, concurrency: int = 1):
        import subprocess
        import sys
        from pathlib import Path

        from django.conf import settings

        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # The local servers this test allowed (receivers, simulators) are allowed to the worker too.
            "OUTBOUND_ALLOW": ",".join(settings.OUTBOUND_ALLOW),
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        celery = str(Path(sys.executable).with_name("celery"))
        self.proc = subprocess.Popen(
            [
                celery,
                "-A",
                "outage_portal",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "-Q",
                self.queue,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.queue}@%h",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self, sig=None):
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig or signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except Exception:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def output(self) -> str:
        if self.proc and self.proc.stdout and self.proc.poll() is not None:
            return self.proc.stdout.read().decode(errors="replace")
        return ""


@pytest.fixture
def celery_worker_process(transactional_db):
    """start() a real worker; tasks sent with .apply_async(queue=worker.queue) reach it over the broker."""
    import uuid

    celery_app.conf.task_always_eager = False
    worker = WorkerProcess(queue=f"test-{uuid.uuid4().hex[:12]}")
    yield worker
    worker.stop()
    celery_app.conf.task_always_eager = True


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on just now, for a server that needs its port up front."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Poll predicate() until it returns a truthy value or the timeout passes (then fail, naming `what`)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s")
