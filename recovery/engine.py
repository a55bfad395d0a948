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


def _suggestion(outer: str, other_table: str, own_table: str, fuzzy_days: int) -> str:
    """Correlated subquery: the unmatched record on the other side a person might accept (fuzzy rule)."""
    return f"""(SELECT MIN(o.id) FROM {other_table} o
        WHERE o.company_id = {outer}.company_id AND o.direction = {outer}.direction
          AND o.seller_tax_id = {outer}.seller_tax_id AND o.buyer_tax_id = {outer}.buyer_tax_id
          AND o.total = {outer}.total AND {_day_diff("o.issue_date", f"{outer}.issue_date")} <= {int(fuzzy_days)}
          AND NOT EXISTS (SELECT 1 FROM {own_table} m WHERE m.company_id = o.company_id
                          AND m.direction = o.direction AND m.invoice_key = o.invoice_key))"""


def compare(*, run, now) -> None:
    """Upsert every gap of `run`'s company/direction/period; mark the rest of the period resolved."""
    ops = connection.ops
    tol = Decimal(getattr(settings, "RECONCILE_AMOUNT_TOLERANCE", Decimal("0")) or 0)
    fuzzy_days = int(getattr(settings, "RECONCILE_FUZZY_DAYS", 3))
    fuzzy_on = MatchRule.objects.filter(method=MatchRule.Method.FUZZY, enabled=True).exists()
    now_db = ops.adapt_datetimefield_value(now)
    start: date = run.period_start
    end: date = run.period_end
    base = [run.company_id, run.direction, ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    stamp = [run.pk, run.pk, now_db, now_db]
    tol_db = ops.adapt_decimalfield_value(tol, 16, 2)

    suggest_for_books = _suggestion("i", TAX, INV, fuzzy_days) if fuzzy_on else "NULL"
    suggest_for_tax = _suggestion("t", INV, TAX, fuzzy_days) if fuzzy_on else "NULL"
    period_i = "i.company_id = %s AND i.direction = %s AND i.issue_date BETWEEN %s AND %s"
    period_t = "t.company_id = %s AND t.direction = %s AND t.issue_date BETWEEN %s AND %s"
    tail = "'', '', '', '', '', %s, %s, %s, %s"

    statements: list[tuple[str, list]] = []
    # 1. Only in our books: anti-join on the normalised key.
    statements.append(
        (
            f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
            SELECT i.company_id, i.direction, '{GapKind.ONLY_IN_BOOKS}', i.invoice_key, i.invoice_key, i.id, NULL,
                   {suggest_for_books}, NULL, i.issue_date, i.issued_at, i.total, 'normalised', %s, '{GapStatus.OPEN}',
                   {tail}
            FROM {INV} i
            WHERE {period_i} AND NOT EXISTS (SELECT 1 FROM {TAX} t WHERE t.company_id = i.company_id
                  AND t.direction = i.direction AND t.invoice_key = i.invoice_key)
            {ON_CONFLICT}""",
            [EXPLAIN_ONLY_IN_BOOKS, *stamp, *base],
        )
    )
    # 2. Only in the tax system: the other anti-join.
    statements.append(
        (
            f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
            SELECT t.company_id, t.direction, '{GapKind.ONLY_IN_TAX_SYSTEM}', t.invoice_key, t.invoice_key, NULL, t.id,
                   NULL, {suggest_for_tax}, t.issue_date, t.issued_at, t.total, 'normalised', %s, '{GapStatus.OPEN}',
                   {tail}
            FROM {TAX} t
            WHERE {period_t} AND NOT EXISTS (SELECT 1 FROM {INV} i WHERE i.company_id = t.company_id
                  AND i.direction = t.direction AND i.invoice_key = t.invoice_key)
            {ON_CONFLICT}""",
            [EXPLAIN_ONLY_IN_TAX, *stamp, *base],
        )
    )
    join = f"""FROM {INV} i JOIN {TAX} t ON t.company_id = i.company_id AND t.direction = i.direction
               AND t.invoice_key = i.invoice_key WHERE {period_i}"""
    # 3-5. Matched pairs that differ: one join each.
    over = "> CAST(%s AS NUMERIC)"  # a text parameter never compares as a number on SQLite
    differs = (
        f"({_round2('abs(i.amount - t.amount)')} {over} OR {_round2('abs(i.tax - t.tax)')} {over} "
        f"OR {_round2('abs(i.total - t.total)')} {over})"
    )
    statements.append(
        (
            f"""INSERT INTO {GAP} ({INSERT_COLUMNS})
            SELECT i.company_id, i.direction, '{GapKind.AMOUNT_MISMATCH}', i.invoice_key, i.invoice_key, i.id, t.id,
                   NULL, NULL, i.issue_date, i.issued_at, {_round2("abs(i.total - t.total)")}, 'normalised', %s,
                   '{GapStatus.OPEN}', {tail}
            {join} AND {differs}
            {ON_CONFLICT}""",
            [EXPLAIN_AMOUNT, *stamp, *base, tol_db, tol_db, tol_db],
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
                {join} AND {cond}
                {ON_CONFLICT}""",
                [explain, *stamp, *base],
            )
        )
    # 6. Possible duplicates in our books: same parties, date and total under another key.
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
            WHERE {period_i}
            {ON_CONFLICT}""",
            [EXPLAIN_DUPLICATE, *stamp, *base, *base],
        )
    )
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
        # Gaps of this period not found again: the tax system (or our books) caught up.
        cursor.execute(
            f"""UPDATE {GAP} SET status = '{GapStatus.RESOLVED}', resolved_by_run_id = %s, resolved_at = %s
            WHERE company_id = %s AND direction = %s AND issue_date BETWEEN %s AND %s
              AND last_seen_run_id <> %s AND status IN ('{GapStatus.OPEN}', '{GapStatus.ACKNOWLEDGED}')""",
            [run.pk, now_db, *base, run.pk],
        )
