"""An attacker with an ordinary account tries to make the portal fetch from inside its own network
and read the answer back: through a tax-system source's base URL, a webhook or robot channel and its
"send test message". Every request goes out through one module that refuses such addresses, follows
no redirect, caps the answer and the time, and never shows the other server's answer.

Only loopback servers: the "internal" service is a server on 127.0.0.1 the portal is not allowed to
reach; a "public" one is a server whose exact host:port the test allows, as an operator would.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from invoices import sources
from invoices.models import Direction, TaxSource, TaxSourceKind
from invoices.sources.fetch import tax_records_fetch, tax_source_save
from notices.notify import services
from notices.notify.models import Channel, Delivery, DeliveryState
from outage_portal import outbound
from tests.conftest import allow_outbound

SECRET_PAGE = "internal-admin-page: redis password hunter2"


class Server:
    """A local HTTP server answering every request the same way; `hits` counts what reached it."""

    def __init__(self, *, status=200, body=SECRET_PAGE.encode(), headers=(), drip_seconds=0.0, repeat=1):
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                server.hits += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) * repeat))
                self.end_headers()
                try:
                    for _ in range(repeat):
                        self.wfile.write(body)
                        if drip_seconds:
                            self.wfile.flush()
                            time.sleep(drip_seconds)
                except OSError:
                    pass  # the portal hung up, as it should

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    made = []

    def make(**kwargs) -> Server:
        made.append(Server(**kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture(autouse=True)
def _nothing_allowed(settings):
    settings.OUTBOUND_ALLOW = []
    settings.TAX_SOURCE_RETRY_BACKOFF_MS = 1


def fetch(company):
    start, end = sources.default_period()
    return tax_records_fetch(company=company, direction=Direction.ISSUED, start=start, end=end)


def _spellings(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/admin",
        f"http://127.1:{port}/admin",
        f"http://2130706433:{port}/admin",
        f"http://0x7f000001:{port}/admin",
        f"http://0177.0.0.1:{port}/admin",
        f"http://localhost:{port}/admin",
        f"http://[::1]:{port}/admin",
        f"http://[::ffff:127.0.0.1]:{port}/admin",
        f"http://[::ffff:7f00:1]:{port}/admin",
    ]


# --- tax-system sources -----------------------------------------------------------------------------
def test_a_source_redirecting_to_an_internal_address_is_not_followed(beijing, server, settings):
    internal = server()
    public = server(status=302, body=b"", headers=[("Location", f"{internal.url}/admin")])
    allow_outbound(settings, public.url)  # the attacker's "public" server
    tax_source_save(company=beijing, kind=TaxSourceKind.API, base_url=public.url, credential="tok", max_retries=0)

    with translation.override("en"), pytest.raises(sources.SourceError) as caught:
        fetch(beijing)

    assert public.hits == 1 and internal.hits == 0
    assert "HTTP 302" in caught.value.reason
    assert SECRET_PAGE not in TaxSource.objects.get(company=beijing).last_fetch_error


def test_a_source_answer_is_never_shown_only_its_status(beijing, server, settings, client_for, fiona):
    public = server(status=404)
    allow_outbound(settings, public.url)
    tax_source_save(company=beijing, kind=TaxSourceKind.API, base_url=public.url, credential="tok", max_retries=0)
    with translation.override("en"), pytest.raises(sources.SourceError):
        fetch(beijing)
    error = TaxSource.objects.get(company=beijing).last_fetch_error
    assert "HTTP 404" in error and "hunter2" not in error
    page = client_for(fiona).get(f"/tax-sources/{beijing.pk}/")
    assert page.status_code == 200 and b"hunter2" not in page.content


@pytest.mark.parametrize("index", range(9))
def test_a_source_at_any_spelling_of_loopback_is_refused(beijing, server, index):
    internal = server()
    url = _spellings(internal.port)[index]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        tax_source_save(company=beijing, kind=TaxSourceKind.API, base_url=url, credential="tok")
    assert "refused" in str(caught.value)
    # Saved some other way, the fetch refuses it too, and nothing reaches the internal server.
    TaxSource.objects.update_or_create(
        company=beijing, defaults={"kind": TaxSourceKind.API, "base_url": url, "credential": "tok", "max_retries": 0}
    )
    with translation.override("en"), pytest.raises(sources.SourceError, match="refused"):
        fetch(beijing)
    assert internal.hits == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata (shared 100.64/10)
        "http://[fd00:ec2::254]/latest/meta-data/",  # AWS metadata over IPv6
        "http://10.0.0.8/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 spelling of 169.254.169.254
        "http://[::1]:6379/",
    ],
)
def test_metadata_and_private_addresses_are_refused(beijing, url):
    with translation.override("en"), pytest.raises(ValidationError, match="refused: private address"):
        tax_source_save(company=beijing, kind=TaxSourceKind.API, base_url=url, credential="tok")


def test_only_http_and_https_on_the_usual_ports(beijing):
    with translation.override("en"):
        with pytest.raises(ValidationError, match="port 6379"):
            tax_source_save(
                company=beijing, kind=TaxSourceKind.API, base_url="http://tax.example.cn:6379/", credential="t"
            )
        with pytest.raises(outbound.Refused, match="http"):
            outbound.request("GET", "gopher://tax.example.cn/", deadline=1)


# --- webhook and robot channels ---------------------------------------------------------------------
@pytest.mark.parametrize("index", range(9))
def test_a_webhook_at_any_spelling_of_loopback_is_refused(nora, server, index, api_for):
    """Even a user with no company tried this: a webhook at the portal's own admin, then "send test"."""
    internal = server(status=500)
    url = _spellings(internal.port)[index]
    with translation.override("en"), pytest.raises(ValidationError, match="refused"):
        services.channel_create(owner=nora, name="x", kind="webhook", url=url, secret="s" * 20)
    response = api_for(nora).post(
        "/api/notification-channels/", {"name": "x", "kind": "webhook", "url": url, "secret": "s" * 20}, format="json"
    )
    assert response.status_code == 400 and "url" in response.json()["error"]["fields"]
    assert internal.hits == 0


def test_a_stored_internal_webhook_is_refused_at_send_and_shows_no_body(
    nora, server, api_for, django_capture_on_commit_callbacks
):
    internal = server(status=500)
    # A row saved before these checks existed.
    channel = Channel.objects.create(owner=nora, name="x", kind="webhook", url=f"{internal.url}/admin", secret="s" * 20)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        assert api_for(nora).post(f"/api/notification-channels/{channel.pk}/test/").status_code == 202
    channel.refresh_from_db()
    delivery = Delivery.objects.get()
    assert internal.hits == 0 and delivery.state == DeliveryState.FAILED
    assert "内网" in channel.last_error and "hunter2" not in channel.last_error
    listing = api_for(nora).get("/api/notification-channels/").content.decode()
    assert "hunter2" not in listing


def test_a_webhook_answer_is_never_shown_only_its_status(
    fiona, server, settings, api_for, django_capture_on_commit_callbacks
):
    receiver = server(status=500)
    allow_outbound(settings, receiver.url)
    channel = services.channel_create(owner=fiona, name="ERP", kind="webhook", url=receiver.url, secret="s" * 20)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.channel_send_test(channel=channel, user=fiona)
    channel.refresh_from_db()
    assert receiver.hits == 1
    assert "HTTP 500" in channel.last_error and "hunter2" not in channel.last_error
    assert "hunter2" not in Delivery.objects.get().last_error
    assert "hunter2" not in api_for(fiona).get("/api/deliveries/").content.decode()


def test_the_reason_is_translated(fiona):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        services.channel_create(owner=fiona, name="x", kind="webhook", url="http://127.0.0.1/", secret="s" * 20)
    assert "内网" in str(caught.value)


@pytest.mark.parametrize(
    "kind, url",
    [
        ("wecom", "https://hooks.example.com/cgi-bin/webhook/send?key=k"),
        ("wecom", "https://qyapi.weixin.qq.com.attacker.example/cgi-bin/webhook/send?key=k"),
        ("wecom", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),  # not https
        ("dingtalk", "https://oapi.dingtalk.com.attacker.example/robot/send?access_token=t"),
        ("dingtalk", "https://qyapi.weixin.qq.com/robot/send?access_token=t"),  # the other robot's host
    ],
)
def test_a_robot_url_on_another_host_is_refused(fiona, kind, url):
    with translation.override("en"), pytest.raises(ValidationError, match="refused"):
        services.channel_create(owner=fiona, name="群", kind=kind, url=url)


def test_robots_at_their_official_hosts_are_accepted(fiona):
    services.channel_create(
        owner=fiona, name="企业微信", kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    )
    services.channel_create(
        owner=fiona, name="钉钉", kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=t"
    )
    assert Channel.objects.count() == 2


def test_a_stored_robot_on_another_host_is_refused_at_send(fiona, server, django_capture_on_commit_callbacks):
    other = server()
    channel = Channel.objects.create(owner=fiona, name="群", kind="wecom", url=f"{other.url}/cgi-bin/webhook/send")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.channel_send_test(channel=channel, user=fiona)
    channel.refresh_from_db()
    assert other.hits == 0 and "官方地址" in channel.last_error  # sent and logged in the portal's language


# --- the allow-list -----------------------------------------------------------------------------------
def test_the_allow_list_opens_exactly_one_host_and_port(fiona, server, settings):
    gateway, neighbour = server(), server()
    settings.OUTBOUND_ALLOW = [f"127.0.0.1:{gateway.port}"]
    assert outbound.request("GET", f"{gateway.url}/ok", deadline=5).status_code == 200
    with pytest.raises(outbound.Refused):
        outbound.request("GET", f"{neighbour.url}/ok", deadline=5)
    assert gateway.hits == 1 and neighbour.hits == 0


def test_an_allowed_network_still_keeps_to_the_allowed_ports(server, settings):
    internal = server()
    settings.OUTBOUND_ALLOW = ["127.0.0.0/8"]
    with translation.override("en"), pytest.raises(outbound.Refused, match="port"):
        outbound.request("GET", f"{internal.url}/", deadline=5)
    settings.OUTBOUND_PORTS = [80, 443, internal.port]
    assert outbound.request("GET", f"{internal.url}/", deadline=5).status_code == 200


def test_the_allow_list_rejects_nonsense():
    assert outbound.parse_allow(["10.0.0.0/8", "127.0.0.1:8765", "[::1]:8443", "gw.corp:8443"]).endpoints == {
        ("127.0.0.1", 8765),
        ("::1", 8443),
        ("gw.corp", 8443),
    }
    for bad in ["gw.corp", "http://gw.corp:80/x", "10.0.0.0/33", "gw.corp:http"]:
        with pytest.raises(ValueError):
            outbound.parse_allow([bad])


# --- bounded answers (memory and time) ------------------------------------------------------------------
def test_a_huge_answer_is_cut_off_at_the_cap(beijing, server, settings):
    big = server(body=b"x" * 65536, repeat=64)  # 4 MiB
    allow_outbound(settings, big.url)
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 256 * 1024
    tax_source_save(company=beijing, kind=TaxSourceKind.API, base_url=big.url, credential="tok", max_retries=0)
    with translation.override("en"), pytest.raises(sources.SourceError, match="larger than 256 KiB"):
        fetch(beijing)


def test_a_slow_drip_ends_at_the_total_deadline(beijing, server, settings):
    """One byte every 0.2 s never trips a per-read timeout of 1 s; the total deadline ends it."""
    drip = server(body=b"{", repeat=200, drip_seconds=0.2)
    allow_outbound(settings, drip.url)
    tax_source_save(
        company=beijing, kind=TaxSourceKind.API, base_url=drip.url, credential="tok", max_retries=0, timeout_seconds=1
    )
    started = time.monotonic()
    with translation.override("en"), pytest.raises(sources.SourceError, match="did not answer within 1 s"):
        fetch(beijing)
    assert time.monotonic() - started < 3


def test_a_webhook_that_drips_ends_at_the_deadline(fiona, server, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_HTTP_CONNECT_TIMEOUT = 1
    settings.NOTIFY_HTTP_READ_TIMEOUT = 1
    drip = server(body=b"x", repeat=200, drip_seconds=0.2)
    allow_outbound(settings, drip.url)
    channel = services.channel_create(owner=fiona, name="ERP", kind="webhook", url=drip.url, secret="s" * 20)
    started = time.monotonic()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.channel_send_test(channel=channel, user=fiona)
    assert time.monotonic() - started < 4
    assert Delivery.objects.get().state == DeliveryState.FAILED


# --- TLS: connected to the checked address, verified for the host name ------------------------------------
def _self_signed(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_tls_is_verified_for_the_host_name_on_the_checked_address(server, settings, tmp_path, monkeypatch):
    import ssl

    import certifi

    cert_file, key_file = _self_signed(tmp_path)
    tls = server()
    seen = {}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    def remember_sni(sock, name, ctx):
        seen["sni"] = name

    context.sni_callback = remember_sni
    tls.httpd.socket = context.wrap_socket(tls.httpd.socket, server_side=True)
    settings.OUTBOUND_ALLOW = [f"localhost:{tls.port}"]
    with translation.override("en"), pytest.raises(outbound.OutboundError, match="TLS"):
        outbound.request("GET", f"https://localhost:{tls.port}/", deadline=5)  # nobody signed it
    monkeypatch.setattr(certifi, "where", lambda: str(cert_file))  # now trusted, for "localhost" only
    assert outbound.request("GET", f"https://localhost:{tls.port}/", deadline=5).status_code == 200
    assert seen["sni"] == "localhost"
    settings.OUTBOUND_ALLOW = [f"127.0.0.1:{tls.port}"]
    with translation.override("en"), pytest.raises(outbound.OutboundError, match="TLS"):
        outbound.request("GET", f"https://127.0.0.1:{tls.port}/", deadline=5)  # not the name it was issued for


def test_the_operators_own_simulator_command_needs_no_allow_list(sim, settings, capsys):
    from django.core.management import call_command

    from tests.conftest import SIMULATOR_TOKEN

    settings.OUTBOUND_ALLOW = []  # what a second terminal next to `make run` has
    call_command("tax_simulator_fault", "show", "--url", sim.url, "--token", SIMULATOR_TOKEN)
    assert '"outage"' in capsys.readouterr().out
    with pytest.raises(outbound.Refused):  # members' addresses are not allowed by it
        outbound.check_url(f"{sim.url}/api")
