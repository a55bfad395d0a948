"""Secrets at rest: a text field stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the
`cryptography` library), with the keys from `FIELD_ENCRYPTION_KEYS`.

The first key encrypts; every listed key decrypts (MultiFernet), so rotating is: put a new key in
front, restart, run `manage.py rotate_secrets`, then drop the old key. Without the setting a key is
derived from SECRET_KEY, fine for development; production sets its own keys (a deploy check warns).
An empty value stays empty, so "no secret" is still visible to constraints and queries.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.checks import Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import MaxLengthValidator
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(b"outage-portal field encryption\x00" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS (a key was dropped "
            "before `manage.py rotate_secrets` ran, or SECRET_KEY changed while no keys were set)."
        ) from exc


def rotate(token: str) -> str:
    """The same secret, encrypted with the first key."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


def is_encrypted(value: str) -> bool:
    try:
        fernet().decrypt(value.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


class EncryptedTextField(models.TextField):
    """A secret: plain text in Python, a Fernet token in the database. `max_length` limits the plain text."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length:
            self.validators.append(MaxLengthValidator(self.max_length))

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


@register(deploy=True)
def check_encryption_keys(app_configs, **kwargs):
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [
        Warning(
            "FIELD_ENCRYPTION_KEYS is not set: secrets are encrypted with a key derived from SECRET_KEY.",
            hint="Set FIELD_ENCRYPTION_KEYS to a key from Fernet.generate_key() (see docs/security.md).",
            id="outage_portal.W010",
        )
    ]
