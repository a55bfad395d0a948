"""Fixtures of the response tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notices import windows
from notices.windows import OutageWindow


@pytest.fixture
def outage(monkeypatch):
    """The Beijing data-sync fault: 9 to 12 November (China time)."""
    window = OutageWindow(
        kind="incident",
        id=7,
        region="北京",
        system="bj-vat",
        title="北京增值税发票系统数据同步故障",
        start=datetime(2026, 11, 8, 16, 0, tzinfo=UTC),
        end=datetime(2026, 11, 12, 16, 0, tzinfo=UTC),
        url="/incidents/7/",
    )
    monkeypatch.setattr(windows, "outage_windows", lambda **kw: [window])
    return window
