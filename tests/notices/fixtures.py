"""Fixtures and helpers for the notices tests (a plugin of the root conftest: the response tests use them too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notices import services
from notices.models import TaxSystem

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def xian_vat(db):
    return TaxSystem.objects.get(slug="shaanxi-vat-invoice")


@pytest.fixture
def beijing_vat(db):
    return TaxSystem.objects.get(slug="beijing-vat-invoice")


@pytest.fixture
def published_events(monkeypatch):
    """Every Event handed to event_publish (after commit) in this test."""
    events = []
    monkeypatch.setattr(services, "event_publish", events.append)
    return events


def make_notice(system, *, start, hours=6, user=None, **extra):
    fields = {
        "title": f"{system.spoken_name}系统升级",
        "functions": ["issue", "query"],
        "body_markdown": "系统升级期间暂停开票。",
        **extra,
    }
    return services.notice_publish(
        system=system, window_start=start, window_end=start + timedelta(hours=hours), user=user, **fields
    )


@pytest.fixture
def english(settings):
    """Messages checked by these tests are the English msgids, whatever catalogs are compiled."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
