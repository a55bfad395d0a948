"""Demo scenario: reconciliation of the Beijing outage (issue 6) and reissue requests (issue 7)."""

from __future__ import annotations


def load(stdout) -> None:
    # --- reconciliation ---
    # --- reissue requests ---
    return None
