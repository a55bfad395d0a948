"""The address a request came from, for login lockout (django-axes) and per-address rate limits."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _trusted(peer: str) -> bool:
    if not settings.TRUSTED_PROXIES:
        return True  # BEHIND_PROXY alone: the portal is reachable only through its proxy
    address = ipaddress.ip_address(peer)
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.TRUSTED_PROXIES)


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or behind the proxy the address the proxy saw.

    Each trusted proxy appends the address it was connected from to X-Forwarded-For, so the client is
    the PROXY_COUNT-th entry from the right; anything left of it is whatever the client chose to send.
    django-ipware's strict proxy counting answers no address at all when a client adds entries of its
    own, which would put every such client into one lockout bucket, hence this small function.
    """
    peer = _address(request.META.get("REMOTE_ADDR", "") or "")
    if not settings.BEHIND_PROXY or peer is None or not _trusted(peer):
        return peer
    hops = [hop for hop in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if hop.strip()]
    if len(hops) < settings.PROXY_COUNT:
        return peer
    return _address(hops[-settings.PROXY_COUNT]) or peer
