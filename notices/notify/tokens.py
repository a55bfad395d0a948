"""Signed links that work without signing in: unsubscribe (no expiry) and a visitor's email confirmation."""

from __future__ import annotations

from django.core import signing

_UNSUBSCRIBE_SALT = "notices.notify.unsubscribe"
_CONFIRM_SALT = "notices.notify.confirm"
CONFIRM_MAX_AGE = 3 * 24 * 3600


def unsubscribe_token(subscription_id: int) -> str:
    return signing.dumps({"s": subscription_id}, salt=_UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_subscription_id(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=_UNSUBSCRIBE_SALT)["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def confirm_token(subscription_id: int, email: str) -> str:
    return signing.dumps({"s": subscription_id, "e": email.lower()}, salt=_CONFIRM_SALT, compress=True)


def confirm_payload(token: str) -> tuple[int, str] | None:
    """(subscription id, email) of a confirmation link younger than three days, else None."""
    try:
        data = signing.loads(token, salt=_CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        return int(data["s"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
