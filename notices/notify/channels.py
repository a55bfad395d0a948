"""Senders: turn one Delivery's stored payload into an email, a WeCom or DingTalk robot message, or a
signed JSON webhook, and send it through `outage_portal.outbound` (checked address, no redirects, a
capped answer and a total deadline). Each raises `SendError` on any failure, with a reason that never
quotes the receiver's answer.

The payload is the event as stored at fan-out time (`services.event_payload`), so a delivery can be
sent or retried without the notice, incident or alert it came from.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from urllib.parse import quote_plus

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from notices.grid import function_labels
from notices.notify.models import ChannelKind, Delivery
from notices.notify.tokens import unsubscribe_token
from outage_portal import outbound
from outage_portal.timefmt import local_text

SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
EVENT_HEADER = "X-Portal-Event"
DELIVERY_HEADER = "X-Portal-Delivery"  # the idempotency id: the same for every attempt of one delivery
USER_AGENT = "tax-outage-portal-notify/1.0"
WECOM_MAX_BYTES = 4000  # WeCom rejects markdown content over 4096 bytes


class SendError(Exception):
    """A send that did not succeed: the receiver's status (if any) and a reason people can read."""

    def __init__(self, message: str, *, status_code: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.permanent = permanent  # retrying cannot help (the channel is gone)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + raw body), as receivers recompute it."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def dingtalk_signed_url(url: str, secret: str, *, timestamp_ms: int | None = None) -> str:
    """DingTalk's "加签": timestamp (ms) and sign = urlencode(base64(HMAC-SHA256(secret, "ts\\nsecret")))."""
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _when(value: str | None) -> str:
    """An ISO time from the payload, as every other text the portal writes shows a moment."""
    return local_text(datetime.fromisoformat(value)) if value else ""


def _lines(payload: dict) -> list[str]:
    """The facts every channel shows, in the portal's language."""
    lines = []
    if payload.get("window_start"):
        lines.append(
            _("Window: %(start)s – %(end)s")
            % {"start": _when(payload["window_start"]), "end": _when(payload.get("window_end"))}
        )
    if payload.get("regions"):
        lines.append(_("Regions: %(regions)s") % {"regions": "、".join(payload["regions"])})
    if payload.get("functions"):
        lines.append(_("Functions: %(functions)s") % {"functions": "、".join(function_labels(payload["functions"]))})
    return lines


ROBOT_HOSTS = {ChannelKind.WECOM: (outbound.WECOM_HOST,), ChannelKind.DINGTALK: (outbound.DINGTALK_HOST,)}


def _post(url: str, body: bytes, headers: dict, *, no_answer: str, unreachable: str, official_hosts=()):
    """POST through the one way out, without following redirects; a refusal, a timeout or a network
    failure becomes a SendError with the caller's wording (receiver or robot)."""
    try:
        return outbound.request(
            "POST",
            url,
            body=body,
            headers=headers,
            connect_timeout=settings.NOTIFY_HTTP_CONNECT_TIMEOUT,
            deadline=settings.NOTIFY_HTTP_CONNECT_TIMEOUT + settings.NOTIFY_HTTP_READ_TIMEOUT,
            max_bytes=settings.NOTIFY_MAX_RESPONSE_BYTES,
            official_hosts=official_hosts,
        )
    except outbound.Refused as exc:
        raise SendError(unreachable % {"reason": exc.reason}, permanent=True)
    except outbound.TimedOut:
        raise SendError(no_answer)
    except outbound.OutboundError as exc:
        raise SendError(unreachable % {"reason": exc.reason})


def _http_post(delivery: Delivery, url: str, body: bytes, headers: dict) -> int:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event_key,
        DELIVERY_HEADER: str(delivery.uuid),
        "Idempotency-Key": str(delivery.uuid),
        **headers,
    }
    response = _post(
        url,
        body,
        headers,
        no_answer=_("The receiver did not answer in time."),
        unreachable=_("Could not reach the receiver: %(reason)s"),
    )
    if not 200 <= response.status_code < 300:
        # The status only: the answer's text may be any page the address leads to.
        raise SendError(
            _("The receiver answered HTTP %(status)s.") % {"status": response.status_code},
            status_code=response.status_code,
        )
    return response.status_code


def _robot_reply_ok(delivery: Delivery, url: str, body: bytes) -> int:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": n, "errmsg": …}; anything but 0 failed."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: str(delivery.uuid),
    }
    response = _post(
        url,
        body,
        headers,
        no_answer=_("The robot did not answer in time."),
        unreachable=_("Could not reach the robot: %(reason)s"),
        official_hosts=ROBOT_HOSTS[delivery.channel_kind],
    )
    if not 200 <= response.status_code < 300:
        raise SendError(
            _("The robot answered HTTP %(status)s.") % {"status": response.status_code},
            status_code=response.status_code,
        )
    try:
        reply = response.json()
    except ValueError:
        reply = {}
    if isinstance(reply, dict) and reply.get("errcode", 0) not in (0, "0"):
        raise SendError(
            _("The robot refused the message (error code %(code)s).") % {"code": str(reply.get("errcode"))[:20]},
            status_code=response.status_code,
        )
    return response.status_code


def _markdown(payload: dict) -> str:
    parts = [f"**{payload['title']}**"]
    if payload.get("body"):
        parts.append(payload["body"])
    parts.extend(f"> {line}" for line in _lines(payload))
    if payload.get("url"):
        parts.append(f"[{_('Details')}]({payload['url']})")
    return "\n\n".join(parts)


def send_wecom(delivery: Delivery) -> int:
    content = _markdown(delivery.payload)
    encoded = content.encode("utf-8")
    if len(encoded) > WECOM_MAX_BYTES:
        content = encoded[:WECOM_MAX_BYTES].decode("utf-8", errors="ignore") + "…"
    body = json.dumps({"msgtype": "markdown", "markdown": {"content": content}}, ensure_ascii=False).encode("utf-8")
    return _robot_reply_ok(delivery, delivery.channel.url, body)


def send_dingtalk(delivery: Delivery) -> int:
    payload = delivery.payload
    body = json.dumps(
        {"msgtype": "markdown", "markdown": {"title": payload["title"][:64], "text": _markdown(payload)}},
        ensure_ascii=False,
    ).encode("utf-8")
    url = delivery.channel.url
    if delivery.channel.secret:
        url = dingtalk_signed_url(url, delivery.channel.secret)
    return _robot_reply_ok(delivery, url, body)


def webhook_body(delivery: Delivery) -> bytes:
    document = {"id": str(delivery.uuid), "test": delivery.is_test, "event": delivery.payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


def send_webhook(delivery: Delivery) -> int:
    body = webhook_body(delivery)
    timestamp = str(int(time.time()))
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(delivery.channel.secret, timestamp, body),
    }
    return _http_post(delivery, delivery.channel.url, body, headers)


def send_email(delivery: Delivery) -> int:
    payload = delivery.payload
    unsubscribe_url = ""
    if delivery.subscription_id:
        unsubscribe_url = settings.SITE_URL + reverse(
            "notices:notify-unsubscribe", args=[unsubscribe_token(delivery.subscription_id)]
        )
    context = {"payload": payload, "lines": _lines(payload), "unsubscribe_url": unsubscribe_url}
    subject = _("[Tax outage portal] %(title)s") % {"title": payload["title"]}
    headers = {DELIVERY_HEADER: str(delivery.uuid), EVENT_HEADER: delivery.event_key}
    if unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " "),
        body=render_to_string("notices/notify/email.txt", context),
        to=[delivery.email],
        headers=headers,
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    message.attach_alternative(render_to_string("notices/notify/email.html", context), "text/html")
    try:
        message.send()
    except OSError as exc:  # smtplib's errors, refused connections and timeouts are all OSErrors
        raise SendError(_("The mail server refused or could not be reached: %(reason)s") % {"reason": exc})
    return 250


SENDERS = {
    ChannelKind.EMAIL: send_email,
    ChannelKind.WECOM: send_wecom,
    ChannelKind.DINGTALK: send_dingtalk,
    ChannelKind.WEBHOOK: send_webhook,
}


def send(delivery: Delivery) -> int:
    """Send one delivery in the portal's default language; the receiver's status code, or SendError."""
    if delivery.channel_kind != ChannelKind.EMAIL and delivery.channel is None:
        raise SendError(_("The channel was deleted."), permanent=True)
    with translation.override(settings.LANGUAGE_CODE):
        return SENDERS[delivery.channel_kind](delivery)
