"""Tax-system catalogue, maintenance notices, incidents (issue 3); subscriptions and deliveries (issue 4)."""

from __future__ import annotations

from django.db import models  # noqa: F401

# --- Catalogue, notices, incidents --------------------------------------------------------------


# --- Subscriptions, channels, deliveries --------------------------------------------------------
