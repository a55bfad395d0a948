"""The bench's URLconf: the portal's, plus the floor bench/bench_status_page.py measures against.
Servers the benchmarks start select it through bench/settings.py; the portal never serves it."""

from django.http import HttpResponse
from django.urls import path

from outage_portal import urls as portal


def constant(request):
    """The cheapest response Django can give, served next to /status/ by the same server."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/constant/", constant, name="bench-constant"), *portal.urlpatterns]
handler400 = portal.handler400
