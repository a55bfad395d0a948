"""DRF throttles: password guesses at the token endpoint, and writes. Rates come from settings on every
request (API_TOKEN_RATE, API_WRITE_RATE), so an operator's change needs no code."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from outage_portal.client_ip import client_ip

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ClientAddressMixin:
    """Anonymous requests are counted by the same client address as the login lockout's, so one proxy is
    never one bucket."""

    def get_ident(self, request):
        return client_ip(request) or super().get_ident(request)


class TokenRateThrottle(ClientAddressMixin, AnonRateThrottle):
    """Password guesses through the token endpoint, per client address."""

    scope = "api-token"

    def get_rate(self):
        return settings.API_TOKEN_RATE


class WriteRateThrottle(ClientAddressMixin, UserRateThrottle):
    """Writes (POST, PUT, PATCH, DELETE) per user, or per address before signing in; reads are free."""

    scope = "api-write"

    def get_rate(self):
        return settings.API_WRITE_RATE

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
