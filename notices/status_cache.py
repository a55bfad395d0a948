"""The public status page's cache (DESIGN §9: what everyone opens during an outage).

Entries are `(version, valid_until, html)` per kind and language. Any change to a notice, incident
or incident update sets a new version (notices.signals), so a page rendered from data read before
the change is never served after it, even if its render finished later. `valid_until` is the next
moment the status changes by the clock alone (a window opening or closing, midnight), so a cached
page never shows a window as upcoming after it started. Both live in one `get_many` round trip.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.cache import cache

VERSION_KEY = "status-page:version"
# Stand-in for the visitor's CSRF token in the anonymous full-page copy; replaced per request.
CSRF_HOLE = "csrf-token-filled-per-request-7d1c"
MAX_AGE_SECONDS = 120  # safety net for changes that bypass signals (queryset.update)


def _key(kind: str, language: str) -> str:
    return f"status-page:{kind}:{language}"


def lookup(kind: str, language: str, now: datetime) -> tuple[str | None, object]:
    """(html or None, the current version to store a fresh render under)."""
    key = _key(kind, language)
    values = cache.get_many([VERSION_KEY, key])
    version = values.get(VERSION_KEY)
    entry = values.get(key)
    if entry and entry[0] == version and entry[1] > now.timestamp():
        return entry[2], version
    return None, version


def store(kind: str, language: str, *, version, valid_until: datetime, now: datetime, html: str) -> None:
    timeout = max(1, min(MAX_AGE_SECONDS, int((valid_until - now).total_seconds())))
    cache.set(_key(kind, language), (version, valid_until.timestamp(), html), timeout)


def invalidate() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)
