"""A PostgreSQL database a benchmark may fill and empty freely, created when missing."""

from __future__ import annotations

import os

LOCAL_SERVER = "postgres://root@127.0.0.1:5432"


def scratch_database_url(name: str, *, server: str = LOCAL_SERVER) -> str:
    """`server/name`, creating the database first if it does not exist yet."""
    import psycopg2

    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if not cur.fetchone():
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return f"{server}/{name}"


def bench_database_url(name: str) -> str:
    """DATABASE_URL when it names a PostgreSQL database, else the scratch database `name` on the local
    server; either way DATABASE_URL names it from now on, for the Django setup that follows."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ["DATABASE_URL"] = scratch_database_url(name)
    return os.environ["DATABASE_URL"]


def engine_session(cursor) -> None:
    """Inside a transaction: the settings recovery.engine runs its statements with, under which the
    benchmarks' floors (and the orders benchmark, which calls one step of the engine alone) run too."""
    from outage_portal.sql import transaction_settings
    from recovery.engine import RUN_SETTINGS

    transaction_settings(cursor, RUN_SETTINGS)


def bench_company(credit_code: str = "91110108MA01B2C3D0", name: str = "bench"):
    """The company a benchmark's rows belong to (Django must be set up), created when missing."""
    from outage_portal.models import Company

    company, _ = Company.objects.get_or_create(credit_code=credit_code, defaults={"name": name, "region": "北京"})
    return company
