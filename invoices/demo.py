"""Demo scenario: invoice backups for the demo companies and their tax-system source (issue 5)."""

from __future__ import annotations


def load(stdout) -> None:
    return None
