"""The project's settings for the page benchmark: the same, plus a middleware that reports each
request's server time and query count in response headers (never used outside bench/)."""

from outage_portal.settings import *  # noqa: F403
from outage_portal.settings import MIDDLEWARE

# First, so the time covers every other middleware (sessions, auth, CSP, locale) as well as the view.
MIDDLEWARE = ["bench.servertiming.ServerTimingMiddleware", *MIDDLEWARE]
