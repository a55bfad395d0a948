"""Request middleware of the portal itself."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout

LAST_SEEN = "last_seen"
# Write the session at most once a minute for activity, not on every request.
REFRESH_SECONDS = 60


def session_touch(session) -> None:
    session[LAST_SEEN] = int(time.time())


class SessionIdleTimeoutMiddleware:
    """Sign out a session left idle for SESSION_IDLE_TIMEOUT seconds; each request slides the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout = settings.SESSION_IDLE_TIMEOUT
        session = getattr(request, "session", None)
        if timeout and session is not None and session.get(SESSION_KEY):
            now = int(time.time())
            seen = session.get(LAST_SEEN)
            if seen is not None and now - seen > timeout:
                logout(request)  # the request goes on anonymous: login_required sends it to sign in
            elif seen is None or now - seen >= REFRESH_SECONDS:
                session[LAST_SEEN] = now
        return self.get_response(request)
