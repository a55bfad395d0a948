"""The public status page's cache.

Entries are `(version, valid_until, html)` per kind and language. Any change to a notice, incident
or incident update sets a new version (notices.status.signals), so a page rendered from data read before
the change is never served after it, even if its render finished later. `valid_until` is the next
moment the status changes by the clock alone (a window opening or closing, midnight), so a cached
page never shows a window as upcoming after it started.

Two tiers: the shared Django cache (Redis in production) and a copy in each process's memory. The
memory copy is trusted for `LOCAL_TRUST_SECONDS` before the shared version is read again: reading
Redis on every view cost more than the rest of serving the page. A change made in one process
clears that process's copies at once and reaches the other processes within that second.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from django.core.cache import cache

VERSION_KEY = "status-page:version"
FORMAT = 3  # bump when the entries' shape changes, so a deploy never reads an older shape
# Stand-in for the visitor's CSRF token in the anonymous full-page copy; replaced per request.
CSRF_HOLE = "csrf-token-filled-per-request-7d1c"
CSRF_HOLE_BYTES = CSRF_HOLE.encode()
MAX_AGE_SECONDS = 120  # safety net for changes that bypass signals (queryset.update)
LOCAL_TRUST_SECONDS = 1.0

_local: dict[str, tuple[str, float, object]] = {}
_checked_at: dict[str, float] = {}  # monotonic time the shared version last confirmed the local copy


def _key(kind: str, language: str) -> str:
    return f"status-page:{FORMAT}:{kind}:{language}"


def current_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:  # never set, evicted or cleared: start a new one so no older copy matches
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def lookup(kind: str, language: str, now: datetime) -> tuple[object, str]:
    """(html or None, the current version to store a fresh render under)."""
    key = _key(kind, language)
    entry = _local.get(key)
    if entry and entry[1] > now.timestamp() and time.monotonic() - _checked_at.get(key, 0) < LOCAL_TRUST_SECONDS:
        return entry[2], entry[0]
    version = current_version()

    def fresh(entry) -> bool:
        return bool(entry) and entry[0] == version and entry[1] > now.timestamp()

    if not fresh(entry):
        entry = cache.get(key)
        if not fresh(entry):
            _local.pop(key, None)
            return None, version
        _local[key] = entry
    _checked_at[key] = time.monotonic()
    return entry[2], version


def store(kind: str, language: str, *, version: str, valid_until: datetime, now: datetime, html: str | bytes) -> None:
    key = _key(kind, language)
    timeout = max(1, min(MAX_AGE_SECONDS, int((valid_until - now).total_seconds())))
    entry = (version, min(valid_until.timestamp(), now.timestamp() + MAX_AGE_SECONDS), html)
    cache.set(key, entry, timeout)
    _local[key] = entry
    _checked_at[key] = time.monotonic()


def invalidate() -> None:
    _local.clear()
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)
