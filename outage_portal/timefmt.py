"""How a moment reads to people here: Beijing time, always with its zone."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def local_text(moment: datetime | None) -> str:
    """2026-10-10 00:00 CST; empty for no moment. Texts built in Python (emails, events, PDFs,
    warnings) use this; templates use `|date:"Y-m-d H:i T"`."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else ""
