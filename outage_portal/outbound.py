"""The one way out: every HTTP request the portal sends to another server goes through `request`.

Members choose where the portal connects (a tax-system source's base URL, a webhook address), so an
address is only used after checking what it resolves to:

- only http and https, on the ports in `OUTBOUND_PORTS` (80 and 443 unless configured);
- the host is resolved once, every address it resolves to must be public (not loopback, private,
  link-local and cloud metadata, shared 100.64/10, multicast, reserved or unspecified; IPv4-mapped,
  NAT64, 6to4 and Teredo IPv6 addresses are judged by the IPv4 address inside), and the connection
  goes to that checked address: no second lookup a DNS answer could change in between. Host header,
  TLS SNI and certificate checks still use the host name;
- no redirect is followed: a 3xx answer is just a status code;
- the answer is read as a stream up to a byte cap, and the whole exchange (connect, TLS, request,
  answer) ends at a deadline, not after a per-read timeout a slow drip could extend forever;
- a failure carries a short, translated reason for members ("refused: private address", "HTTP 502"),
  never the other server's answer.

Operators who run a tax gateway inside their own network allow it with `OUTBOUND_ALLOW`: networks
(`10.0.0.0/8`) or exact `host:port` pairs (`127.0.0.1:8765`, `gateway.corp:8443`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.utils.translation import gettext as _

WECOM_HOST = "qyapi.weixin.qq.com"
DINGTALK_HOST = "oapi.dingtalk.com"
_CHUNK = 64 * 1024
# Addresses `is_global` lets through that a server must still never reach from here.
_NEVER = [
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space (carrier NAT; Alibaba Cloud metadata 100.100.100.200)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
]


class OutboundError(Exception):
    """An outgoing request that did not get an answer; `reason` is short, translated and safe to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = str(reason)


class Refused(OutboundError):
    """The address is not allowed; nothing was sent."""


class TimedOut(OutboundError):
    """No complete answer before the deadline."""


class TooLarge(OutboundError):
    """The answer is larger than the cap."""


@dataclass
class Answer:
    """A complete, size-checked answer. The body is for the caller to parse, never to show."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class AllowList:
    """Parsed `OUTBOUND_ALLOW`: networks, and exact (host, port) endpoints."""

    networks: tuple = ()
    endpoints: frozenset = frozenset()

    def endpoint(self, host: str, port: int) -> bool:
        return (host.lower().strip("[]"), port) in self.endpoints


def parse_allow(entries: list[str] | tuple[str, ...]) -> AllowList:
    """`["10.0.0.0/8", "127.0.0.1:8765", "[::1]:8443", "gateway.corp:8443"]` → AllowList.
    Raises ValueError on an entry that is neither a network nor a host:port pair."""
    networks, endpoints = [], set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{entry!r}: bad port") from exc
        if not parts.hostname or port is None or parts.path or parts.username:
            raise ValueError(f"{entry!r} is neither a network (10.0.0.0/8) nor an exact host:port pair")
        endpoints.add((parts.hostname.lower(), port))
    return AllowList(networks=tuple(networks), endpoints=frozenset(endpoints))


def endpoint_of(url: str) -> str:
    """The exact `host:port` allow-list entry for a URL's endpoint."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in ipaddress.ip_network("64:ff9b::/96") or ip in ipaddress.ip_network("64:ff9b:1::/48"):  # NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a server may be reached at this address without the operator allowing it."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback:
        return False
    return not any(ip in network for network in _NEVER if network.version == ip.version)


def _settings():
    from django.conf import settings

    return settings


def _allow(extra: tuple[str, ...] = ()) -> AllowList:
    return parse_allow([*getattr(_settings(), "OUTBOUND_ALLOW", []), *extra])


def _ports() -> set[int]:
    return set(getattr(_settings(), "OUTBOUND_PORTS", [80, 443]))


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (lower case, IDNA-encoded), for Host, SNI and certificate checks
    port: int
    path: str  # path and query


def parse_url(url: str, *, official_hosts: tuple[str, ...] = (), also_allow: tuple[str, ...] = ()) -> Target:
    """The checks that need no DNS: scheme and, for robots, the official host. Raises Refused."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(_("refused: only http:// and https:// addresses"))
    if parts.username or parts.password:
        raise Refused(_("refused: addresses with a user name or password"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(_("refused: invalid port"))
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower() if not parts.hostname.isascii() else parts.hostname
    except UnicodeError:
        raise Refused(_("refused: invalid host name"))
    host = host.rstrip(".").lower()
    allow = _allow(also_allow)
    if official_hosts and host not in official_hosts and not allow.endpoint(host, port):
        raise Refused(_("refused: not the robot's official address (%(hosts)s)") % {"hosts": ", ".join(official_hosts)})
    if official_hosts and host in official_hosts and parts.scheme != "https":
        raise Refused(_("refused: the robot's address must start with https://"))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=host, port=port, path=path)


def check_url(url: str, *, official_hosts: tuple[str, ...] = ()) -> None:
    """For forms and services: the DNS-free checks, plus the address itself when the host is an IP
    address in any spelling (127.1, 2130706433, 0x7f000001, [::ffff:127.0.0.1]) or `localhost`.
    A host name is resolved and checked again on every request."""
    target = parse_url(url, official_hosts=official_hosts)
    literal = _literal_address(target.host)
    if target.host == "localhost" or target.host.endswith(".localhost"):
        literal = ipaddress.ip_address("127.0.0.1")
    if literal is not None:
        _check_address(target, literal, _allow())
    elif target.port not in _ports() and not _allow().endpoint(target.host, target.port):
        raise Refused(_("refused: port %(port)d is not allowed") % {"port": target.port})


def _literal_address(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    try:
        # inet_aton accepts the old spellings browsers and resolvers still honour: 127.1, 0177.0.0.1, 0x7f000001.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _check_address(target: Target, ip, allow: AllowList) -> None:
    if allow.endpoint(target.host, target.port) or allow.endpoint(str(ip), target.port):
        return
    mapped = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    allowed = any(ip in network or (mapped is not None and mapped in network) for network in allow.networks)
    if not allowed and not is_public(ip):
        raise Refused(_("refused: private address"))
    if target.port not in _ports():
        raise Refused(_("refused: port %(port)d is not allowed") % {"port": target.port})


def resolve(target: Target, *, also_allow: tuple[str, ...] = ()) -> list[str]:
    """The addresses to connect to, each checked; one refused address refuses the host (a DNS answer
    mixing public and private addresses is how rebinding attacks start)."""
    try:
        infos = socket.getaddrinfo(target.host.strip("[]"), target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OutboundError(_("host not found"))
    allow = _allow(also_allow)
    addresses = []
    for *_rest, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        _check_address(target, ip, allow)
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise OutboundError(_("host not found"))
    return addresses


def _connection(target: Target, address: str, timeout: float):
    from urllib3.connection import HTTPConnection, HTTPSConnection

    if target.scheme == "https":
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
        # Connect to the checked address; SNI and the certificate check still use the host name.
        return HTTPSConnection(address, target.port, timeout=timeout, server_hostname=target.host, ssl_context=context)
    return HTTPConnection(address, target.port, timeout=timeout)


def request(
    method: str,
    url: str,
    *,
    params: dict | None = None,
    body: bytes | None = None,
    headers: dict | None = None,
    deadline: float,
    max_bytes: int | None = None,
    connect_timeout: float | None = None,
    official_hosts: tuple[str, ...] = (),
    also_allow: tuple[str, ...] = (),
) -> Answer:
    """Send one request and read its whole answer within `deadline` seconds and `max_bytes` bytes.

    Returns the answer whatever its status (3xx included: redirects are not followed). Raises
    `Refused` before sending anything to a disallowed address, `TimedOut`, `TooLarge`, or
    `OutboundError` (host not found, could not connect). `also_allow` adds allow-list entries for
    this one request: only for an address the operator named (a command-line target), never a member's."""
    if max_bytes is None:
        max_bytes = _settings().OUTBOUND_MAX_RESPONSE_BYTES
    started = time.monotonic()
    target = parse_url(url, official_hosts=official_hosts, also_allow=also_allow)
    path = target.path
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params)
    addresses = resolve(target, also_allow=also_allow)

    def remaining() -> float:
        left = deadline - (time.monotonic() - started)
        if left <= 0:
            raise TimedOut(_("no complete answer within %(seconds)s s") % {"seconds": _seconds(deadline)})
        return left

    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default_port:
        host_header += f":{target.port}"
    all_headers = {
        "Host": host_header,
        "Accept-Encoding": "identity",
        "Connection": "close",
        **(headers or {}),
    }
    conn = _connection(target, addresses[0], min(connect_timeout or deadline, remaining()))
    opened: list = []  # a duplicate of the socket: http.client closes its own once an answer says "close"
    # The deadline holds even while a read blocks: shutting the socket down ends it.
    watchdog = threading.Timer(remaining(), _abort, args=(opened,))
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            conn.connect()
            sock = conn.sock
            opened.append(socket.fromfd(sock.fileno(), sock.family, sock.type))
            sock.settimeout(remaining())
            conn.request(method, path, body=body, headers=all_headers, preload_content=False, decode_content=False)
            # No single read outlasts the deadline, and the watchdog ends a drip of small ones.
            sock.settimeout(remaining())
            response = conn.getresponse()
        except TimedOut:
            raise
        except TimeoutError:
            raise TimedOut(_("no complete answer within %(seconds)s s") % {"seconds": _seconds(deadline)})
        except ssl.SSLError:
            raise OutboundError(_("the TLS certificate or handshake failed"))
        except Exception:  # refused, reset, or the socket shut down by the watchdog
            if time.monotonic() - started >= deadline:
                raise TimedOut(_("no complete answer within %(seconds)s s") % {"seconds": _seconds(deadline)})
            raise OutboundError(_("could not connect"))
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(_("answer larger than %(size)s") % {"size": _size(max_bytes)})
        chunks, size = [], 0
        try:
            while True:
                remaining()
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(_("answer larger than %(size)s") % {"size": _size(max_bytes)})
                chunks.append(chunk)
            remaining()
        except (TimedOut, TooLarge):
            raise
        except Exception:
            if time.monotonic() - started >= deadline:
                raise TimedOut(_("no complete answer within %(seconds)s s") % {"seconds": _seconds(deadline)})
            raise OutboundError(_("the answer broke off"))
        return Answer(
            status_code=response.status,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=b"".join(chunks),
        )
    finally:
        watchdog.cancel()
        conn.close()
        for sock in opened:
            sock.close()


def _abort(opened: list) -> None:
    for sock in opened:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _seconds(value: float) -> str:
    return f"{value:g}"


def _size(value: int) -> str:
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.3g} MiB"
    if value >= 1024:
        return f"{value / 1024:.3g} KiB"
    return f"{value} B"
