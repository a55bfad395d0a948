"""Set-based reconciliation engine: a few SQL statements over the period, results upserted in bulk.

Each statement is INSERT ... SELECT ... ON CONFLICT DO UPDATE over `recovery_discrepancy` (both
SQLite ≥ 3.24 and PostgreSQL), so a gap found again keeps its row and only `last_seen_*` moves.
Explanations are fixed English msgids (translated when shown); numbers are shown from the joined rows.
"""

# ruff: noqa: S608 -- only module constants and ints are interpolated; values go as parameters.
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_noop

from .models import GapKind, GapStatus, MatchRule

# English msgids stored on each gap, translated when shown ({% translate gap.explanation %}).
EXPLAIN_ONLY_IN_BOOKS = gettext_noop(
    "Rules exact and normalised found no tax-system record with this invoice number or key: the tax system lacks it."
)
EXPLAIN_ONLY_IN_TAX = gettext_noop(
    "Rules exact and normalised found no invoice in our books with this invoice number or key: our books lack it."
)
EXPLAIN_AMOUNT = gettext_noop("Matched by key, but the amount, tax or total differs by more than the tolerance.")
EXPLAIN_STATUS = gettext_noop("Matched by key, but the status (normal, voided, red-letter) differs.")
EXPLAIN_COUNTERPARTY = gettext_noop("Matched by key, but the seller or buyer tax ID differs.")
EXPLAIN_DUPLICATE = gettext_noop("Another invoice has the same seller, buyer, date and total under a different number.")

INV = "invoices_invoice"
TAX = "invoices_taxrecord"
GAP = "recovery_discrepancy"

INSERT_COLUMNS = (
    "company_id, direction, kind, gap_key, invoice_key, invoice_id, tax_record_id, suggested_tax_record_id, "
    "suggested_invoice_id, "
    "issue_date, issued_at, amount_at_risk, rule, explanation, status, decision, decision_reason, "
    "incident_kind, incident_title, incident_url, first_seen_run_id, last_seen_run_id, first_seen_at, last_seen_at"
)

ON_CONFLICT = f"""
ON CONFLICT (company_id, direction, kind, gap_key) DO UPDATE SET
    last_seen_run_id = excluded.last_seen_run_id,
    last_seen_at = excluded.last_seen_at,
    invoice_id = excluded.invoice_id,
    tax_record_id = excluded.tax_record_id,
    suggested_tax_record_id = excluded.suggested_tax_record_id,
    suggested_invoice_id = excluded.suggested_invoice_id,
    issue_date = excluded.issue_date,
    issued_at = excluded.issued_at,
    amount_at_risk = excluded.amount_at_risk,
    rule = excluded.rule,
    explanation = excluded.explanation,
    status = CASE WHEN {GAP}.status = '{GapStatus.RESOLVED}' THEN '{GapStatus.OPEN}' ELSE {GAP}.status END,
    resolved_by_run_id = NULL,
    resolved_at = NULL
"""


def _day_diff(a: str, b: str) -> str:
    """SQL for |a - b| in days between two date columns, per backend (same result)."""
    if connection.vendor == "postgresql":
        return f"abs({a} - {b})"
    return f"abs(julianday({a}) - julianday({b}))"


def _round2(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"round(({expr})::numeric, 2)"
    return f"round({expr}, 2)"


PAIRS = "recon_pairs"  # per-connection scratch table: the period's unmatched or differing pairs


def _scratch_table(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {PAIRS}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {PAIRS} (iid bigint NULL, tid bigint NULL, invoice_key varchar(40) NOT NULL, "
        "suggested_tid bigint NULL, suggested_iid bigint NULL)"
    )


def compare(*, run, now, end: date | None = None) -> None:
    """Upsert every gap of `run`'s company/direction/period; mark the rest of the period resolved.

    One full outer join over the period finds every pair that is unmatched or differs (the only pass
    over all rows besides the duplicate check); everything after works on that small scratch table.
    """
    ops = connection.ops
    tol = Decimal(getattr(settings, "RECONCILE_AMOUNT_TOLERANCE", Decimal("0")) or 0)
    fuzzy_days = int(getattr(settings, "RECONCILE_FUZZY_DAYS", 3))
    fuzzy_on = MatchRule.objects.filter(method=MatchRule.Method.FUZZY, enabled=True).exists()
    now_db = ops.adapt_datetimefield_value(now)
    start: date = run.period_start
    end = end or run.period_end  # a partial run compares only up to where the tax system's data reaches
    base = [run.company_id, run.direction, ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    owner = [run.company_id, run.direction]
    stamp = [run.pk, run.pk, now_db, now_db]
    tol_db = ops.adapt_decimalfield_value(tol, 16, 2)
    over = "> CAST(%s AS NUMERIC)"  # a text parameter never compares as a number on SQLite
    differs = (
        f"({_round2('abs(i.amount - t.amount)')} {over} OR {_round2('abs(i.tax - t.tax)')} {over} "
        f"OR {_round2('abs(i.total - t.total)')} {over})"
    )
    columns = "id, invoice_key, amount, tax, total, status, seller_tax_id, buyer_tax_id"
    period = "company_id = %s AND direction = %s AND issue_date BETWEEN %s AND %s"
    tail = "'', '', '', '', '', %s, %s, %s, %s"

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling this one big join costs more than running it; one hash table fits in memory.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        _scratch_table(cursor)
        # 1. The one pass: pairs missing on a side, or matched by key but differing in anything compared.
        cursor.execute(
            f"""INSERT INTO {PAIRS} (iid, tid, invoice_key)
            SELECT i.id, t.id, COALESCE(i.invoice_key, t.invoice_key)
            FROM (SELECT {columns} FROM {INV} WHERE {period}) i
            FULL OUTER JOIN (SELECT {columns} FROM {TAX} WHERE {period}) t ON t.invoice_key = i.invoice_key
            WHERE i.id IS NULL OR t.id IS NULL OR {differs} OR i.status <> t.status
               OR i.seller_tax_id <> t.seller_tax_id OR i.buyer_tax_id <> t.buyer_tax_id""",
            [*base, *base, tol_db, tol_db, tol_db],
        )
        # 2. A twin dated outside the period is still a twin: our invoice's twin joins the pair; a tax
        #    record whose invoice lies in another period belongs to that period's run.
        cursor.execute(
            f"""UPDATE {PAIRS} SET tid = (SELECT t.id FROM {TAX} t WHERE t.company_id = %s AND t.direction = %s
                                          AND t.invoice_key = {PAIRS}.invoice_key)
            WHERE tid IS NULL""",
            owner,
        )
        cursor.execute(
            f"""DELETE FROM {PAIRS} WHERE iid IS NULL AND EXISTS (SELECT 1 FROM {INV} i
                WHERE i.company_id = %s AND i.direction = %s AND i.invoice_key = {PAIRS}.invoice_key)""",
            owner,
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {PAIRS}")  # so the joins below look pairs up by primary key
        if fuzzy_on:
            # 3. Fuzzy rule: suggest an unmatched record on the other side with the same parties and total
            #    within N days, for a person to accept. A join between the two small unmatched sets.
            for own, other, own_col, other_col, target in (
                (INV, TAX, "iid", "tid", "suggested_tid"),
                (TAX, INV, "tid", "iid", "suggested_iid"),
            ):
                cursor.execute(
                    f"""UPDATE {PAIRS} SET {target} = s.candidate
                    FROM (SELECT a.{own_col} AS owner_id, MIN(b.{other_col}) AS candidate
                          FROM {PAIRS} a JOIN {own} x ON x.id = a.{own_col}
                          JOIN {PAIRS} b ON b.{own_col} IS NULL AND b.{other_col} IS NOT NULL
                          JOIN {other} y ON y.id = b.{other_col}
                          WHERE a.{other_col} IS NULL AND y.seller_tax_id = x.seller_tax_id
                            AND y.buyer_tax_id = x.buyer_tax_id AND y.total = x.total
                            AND {_day_diff("y.issue_date", "x.issue_date")} <= {int(fuzzy_days)}
                          GROUP BY a.{own_col}) s
                    WHERE {PAIRS}.{own_col} = s.owner_id AND {PAIRS}.{other_col} IS NULL"""
                )

        statements: list[tuple[str, list]] = [
            # Only in our books.
            (
                f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
                SELECT i.company_id, i.direction, '{GapKind.ONLY_IN_BOOKS}', i.invoice_key, i.invoice_key, i.id, NULL,
                       p.suggested_tid, NULL, i.issue_date, i.issued_at, i.total, 'normalised', %s, '{GapStatus.OPEN}',
                       {tail}
                FROM {PAIRS} p JOIN {INV} i ON i.id = p.iid WHERE p.tid IS NULL
                {ON_CONFLICT}""",
                [EXPLAIN_ONLY_IN_BOOKS, *stamp],
            ),
            # Only in the tax system.
            (
                f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
                SELECT t.company_id, t.direction, '{GapKind.ONLY_IN_TAX_SYSTEM}', t.invoice_key, t.invoice_key, NULL,
                       t.id, NULL, p.suggested_iid, t.issue_date, t.issued_at, t.total, 'normalised', %s,
                       '{GapStatus.OPEN}', {tail}
                FROM {PAIRS} p JOIN {TAX} t ON t.id = p.tid WHERE p.iid IS NULL
                {ON_CONFLICT}""",
                [EXPLAIN_ONLY_IN_TAX, *stamp],
            ),
        ]
        pair = f"FROM {PAIRS} p JOIN {INV} i ON i.id = p.iid JOIN {TAX} t ON t.id = p.tid WHERE"
        statements.append(
            (
                f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
                SELECT i.company_id, i.direction, '{GapKind.AMOUNT_MISMATCH}', i.invoice_key, i.invoice_key, i.id,
                       t.id, NULL, NULL, i.issue_date, i.issued_at, {_round2("abs(i.total - t.total)")}, 'normalised',
                       %s, '{GapStatus.OPEN}', {tail}
                {pair} {differs}
                {ON_CONFLICT}""",
                [EXPLAIN_AMOUNT, *stamp, tol_db, tol_db, tol_db],
            )
        )
        for kind, cond, explain in (
            (GapKind.STATUS_MISMATCH, "i.status <> t.status", EXPLAIN_STATUS),
            (
                GapKind.COUNTERPARTY_MISMATCH,
                "(i.seller_tax_id <> t.seller_tax_id OR i.buyer_tax_id <> t.buyer_tax_id)",
                EXPLAIN_COUNTERPARTY,
            ),
        ):
            statements.append(
                (
                    f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
                    SELECT i.company_id, i.direction, '{kind}', i.invoice_key, i.invoice_key, i.id, t.id,
                           NULL, NULL, i.issue_date, i.issued_at, i.total, 'normalised', %s, '{GapStatus.OPEN}', {tail}
                    {pair} {cond}
                    {ON_CONFLICT}""",
                    [explain, *stamp],
                )
            )
        # Possible duplicates in our books: same parties, date and total under another key.
        statements.append(
            (
                f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
                SELECT i.company_id, i.direction, '{GapKind.POSSIBLE_DUPLICATE}', i.invoice_key, i.invoice_key, i.id,
                       NULL, NULL, NULL, i.issue_date, i.issued_at, i.total, 'fuzzy', %s, '{GapStatus.OPEN}', {tail}
                FROM {INV} i
                JOIN (SELECT d.seller_tax_id, d.buyer_tax_id, d.issue_date, d.total, MIN(d.invoice_key) AS first_key
                      FROM {INV} d WHERE d.company_id = %s AND d.direction = %s AND d.issue_date BETWEEN %s AND %s
                      GROUP BY d.seller_tax_id, d.buyer_tax_id, d.issue_date, d.total HAVING COUNT(*) > 1) g
                  ON g.seller_tax_id = i.seller_tax_id AND g.buyer_tax_id = i.buyer_tax_id
                 AND g.issue_date = i.issue_date AND g.total = i.total AND i.invoice_key > g.first_key
                WHERE i.company_id = %s AND i.direction = %s AND i.issue_date BETWEEN %s AND %s
                {ON_CONFLICT}""",
                [EXPLAIN_DUPLICATE, *stamp, *base, *base],
            )
        )
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute(f"DROP TABLE {PAIRS}")
        # Gaps of this period not found again: the tax system (or our books) caught up.
        cursor.execute(
            f"""UPDATE {GAP} SET status = '{GapStatus.RESOLVED}', resolved_by_run_id = %s, resolved_at = %s
            WHERE company_id = %s AND direction = %s AND issue_date BETWEEN %s AND %s
              AND last_seen_run_id <> %s AND status IN ('{GapStatus.OPEN}', '{GapStatus.ACKNOWLEDGED}')""",
            [run.pk, now_db, *base, run.pk],
        )
