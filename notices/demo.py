"""Demo scenario: the Xi'an maintenance notices and the Beijing outage (issue 3), subscriptions (issue 4)."""

from __future__ import annotations


def load(stdout) -> None:
    # --- notices and incidents ---
    # --- subscriptions ---
    from notices.notify.demo import load as load_subscriptions

    load_subscriptions(stdout)
    return None
