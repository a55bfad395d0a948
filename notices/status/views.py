"""The public status page, the month calendar of windows and the iCal feed (no login needed)."""

from __future__ import annotations

import calendar
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import rotate_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from notices import selectors
from notices.grid import function_labels, functions_include_any
from notices.models import MaintenanceNotice, NoticeState
from notices.status import cache as status_cache
from notices.status import derived
from notices.status.filters import status_scope
from outage_portal.timefmt import local_text
from outage_portal.validators import MOMENT_YEARS

ICAL_PAST_DAYS = 90


def status_page(request):
    """Served from the cache: anonymous visitors get a whole cached page (their CSRF token filled in),
    signed-in people a cached body inside their own navigation."""
    now = timezone.now()
    language = get_language()
    # Without a session cookie nobody is signed in: the session and the user are not looked up.
    signed_in = settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated
    whole_page = not signed_in and not request.META.get("QUERY_STRING")  # without parsing it
    if whole_page:
        page, _version = status_cache.lookup("page", language, now)
        if page is not None:
            return _anonymous_response(page, request)
    content, version = status_cache.lookup("content", language, now)
    valid_until = None
    if content is None:
        context = selectors.status_page(now)
        valid_until = context["valid_until"]
        content = render_to_string("notices/_status_content.html", context, request=request)
        status_cache.store("content", language, version=version, valid_until=valid_until, now=now, html=content)
    if not whole_page:
        return render(request, "notices/status_page.html", {"content": content})
    # The token goes in an input at the very end of the page (tied to the form by its form attribute),
    # so all but a few bytes are stored ready to send, compressed too.
    rendered = render_to_string(
        "notices/status_page.html",
        {"content": content, "csrf_hole": status_cache.CSRF_HOLE, "messages": []},
        request=request,
    ).encode()
    page = PreparedPage.from_page(rendered)
    if valid_until is not None:
        status_cache.store("page", language, version=version, valid_until=valid_until, now=now, html=page)
    return _anonymous_response(page, request)


_GZIP = re.compile(r"\bgzip\b")
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime, OS unknown


@dataclass(frozen=True)
class PreparedPage:
    """The anonymous page split at the visitor's CSRF token, plain and gzip-compressed.

    The head is deflated once and flushed to a byte boundary; per request the token and the closing
    tags (some fifty bytes) follow as one stored, uncompressed block, with the CRC carried on from the
    head's. The token is thus never compressed at all (BREACH needs a secret and attacker-chosen text
    in one compression context; this page reflects no input either).
    """

    head: bytes
    tail: bytes
    gzip_head: bytes
    head_crc: int

    @classmethod
    def from_page(cls, page: bytes) -> PreparedPage:
        head, tail = page.split(status_cache.CSRF_HOLE_BYTES)
        assert len(tail) < 0xFF00, "a stored block holds at most 65,535 bytes with the token"
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
        return cls(head=head, tail=tail, gzip_head=_GZIP_HEADER + deflated, head_crc=zlib.crc32(head))

    def plain(self, token: bytes) -> bytes:
        return b"".join((self.head, token, self.tail))

    def gzipped(self, token: bytes) -> bytes:
        rest = token + self.tail
        # The final block, stored (RFC 1951 3.2.4): BFINAL set, BTYPE 00, then LEN and its complement.
        stored = struct.pack("<BHH", 1, len(rest), len(rest) ^ 0xFFFF)
        trailer = struct.pack("<II", zlib.crc32(rest, self.head_crc), (len(self.head) + len(rest)) & 0xFFFFFFFF)
        return b"".join((self.gzip_head, stored, rest, trailer))


def _anonymous_response(page: PreparedPage, request) -> HttpResponse:
    """The cached anonymous page with this visitor's CSRF token (the language switch is a POST form).

    The visitor's cookie secret (CsrfViewMiddleware put a returning visitor's in META; a first visit
    gets a new one) is used as it is: Django accepts the unmasked secret, and masking guards against
    BREACH, which the token's separate compression (see PreparedPage) already rules out. That saves
    32 to 64 calls to the system's random source per view of the busiest page.
    """
    if not request.META.get("CSRF_COOKIE"):
        rotate_token(request)  # a new secret, sent as the cookie by CsrfViewMiddleware
    token = request.META["CSRF_COOKIE"].encode()
    if _GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        response = HttpResponse(page.gzipped(token))
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(page.plain(token))
    # Cookie: a signed-in visitor gets another page (the session is not read for visitors without one).
    response.headers["Vary"] = "Accept-Encoding, Cookie"  # a new response: nothing to merge with
    return response


# Months the calendar shows: those of the moments the portal takes, clear of the ends of Python's
# dates (year 1 has no month before it, and its first week starts in year 0).
CALENDAR_MONTHS = (date(MOMENT_YEARS[0], 1, 1), date(MOMENT_YEARS[1], 12, 1))


def _parse_month(value: str | None, today: date) -> date:
    if not value:
        return today.replace(day=1)
    try:
        month = datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise ValueError(_("“%(value)s” is not a month; use YYYY-MM, e.g. 2026-10.") % {"value": value}) from None
    first, last = CALENDAR_MONTHS
    if not first <= month <= last:
        raise ValueError(
            _("The calendar shows %(first)s to %(last)s; %(value)s is outside it.")
            % {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}", "value": value}
        )
    return month


def status_calendar(request):
    """A month of maintenance windows, one cell per Asia/Shanghai day; windows spanning days appear on each."""
    today = derived.local_date(timezone.now())
    scope = status_scope(request.GET)
    try:
        first = _parse_month(request.GET.get("month"), today)
    except ValueError as exc:
        return render(request, "notices/status_calendar.html", {"error": str(exc)}, status=400)
    if not scope.is_valid():
        return render(request, "notices/status_calendar.html", {"error": scope.error_message()}, status=400)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    month_start, _next_day = derived.local_day_bounds(first)
    _last_start, month_end = derived.local_day_bounds(last)
    windows = list(
        MaintenanceNotice.objects.not_cancelled()
        .overlapping(month_start, month_end)
        .filter(system__in=scope.qs)
        .filter(functions_include_any(scope.functions))
        .select_related("system")
        .order_by("window_start", "pk")
    )
    by_day: dict[date, list] = {}
    for notice in windows:
        day = max(derived.local_date(notice.window_start), first)
        # A window ending exactly at midnight does not touch the next day.
        end_day = min(derived.local_date(notice.window_end - timedelta(microseconds=1)), last)
        while day <= end_day:
            by_day.setdefault(day, []).append(notice)
            day += timedelta(days=1)
    weeks = [
        [
            {"day": d, "in_month": d.month == first.month, "today": d == today, "windows": by_day.get(d, [])}
            for d in week
        ]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    ]
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    query = request.GET.copy()
    query.pop("month", None)
    return render(
        request,
        "notices/status_calendar.html",
        {
            "month": first,
            "weeks": weeks,
            "windows": windows,
            "previous": f"{previous:%Y-%m}" if first > CALENDAR_MONTHS[0] else "",
            "following": f"{following:%Y-%m}" if first < CALENDAR_MONTHS[1] else "",
            "filters": query.urlencode(),
            "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        },
    )


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def notice_uid(notice: MaintenanceNotice) -> str:
    """Stable across revisions, so a moved window moves in subscribers' calendars."""
    return f"notice-{notice.pk}@{site_host()}"


def status_ical(request):
    """Maintenance windows as a subscribable calendar (filters: region, system, function)."""
    scope = status_scope(request.GET)
    if not scope.is_valid():
        return HttpResponseBadRequest(scope.error_message(), content_type="text/plain; charset=utf-8")
    now = timezone.now()
    notices = (
        MaintenanceNotice.objects.filter(window_end__gte=now - timedelta(days=ICAL_PAST_DAYS))
        .filter(system__in=scope.qs)
        .filter(functions_include_any(scope.functions))
        .select_related("system")
        .order_by("window_start", "pk")
    )
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Tax outage portal//status//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Tax system maintenance windows"))
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    zone = timezone.get_default_timezone()
    for notice in notices:
        event = icalendar.Event()
        event.add("uid", notice_uid(notice))
        event.add("sequence", notice.revision)
        event.add("dtstamp", notice.updated_at.astimezone(UTC))
        event.add("last-modified", notice.updated_at.astimezone(UTC))
        event.add("created", notice.published_at.astimezone(UTC))
        event.add("dtstart", notice.window_start.astimezone(zone))
        event.add("dtend", notice.window_end.astimezone(zone))
        event.add("summary", f"{notice.system}: {notice.title}")
        event.add("status", "CANCELLED" if notice.state == NoticeState.CANCELLED else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        functions = function_labels(notice.functions)
        event.add("categories", functions)
        event.add("url", settings.SITE_URL + notice.get_absolute_url())
        lines = [
            f"{_('Window')}: {local_text(notice.window_start)} – {local_text(notice.window_end)}",
            f"{_('Affected functions')}: {'、'.join(functions)}",
        ]
        if notice.state == NoticeState.CANCELLED and notice.cancel_reason:
            lines.append(f"{_('Cancelled')}: {notice.cancel_reason}")
        if notice.alternatives:
            lines.append(f"{_('Alternatives')}: {notice.alternatives}")
        if notice.contacts:
            lines.append(f"{_('Contact channels')}: {notice.contacts}")
        lines.append(settings.SITE_URL + notice.get_absolute_url())
        event.add("description", "\n".join(lines))
        cal.add_component(event)
    cal.add_missing_timezones()
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="maintenance.ics"'
    return response
