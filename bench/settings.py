"""Settings for servers the benchmarks start: the portal's, with the bench's URLconf (bench/urls.py)."""

from outage_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
