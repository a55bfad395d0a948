"""Set-based reconciliation engine: a few SQL statements over the period, results upserted in bulk.

One statement reads the period's million-row tables: a UNION ALL of the full outer join (a merge join
in key order, into a small scratch table of pairs) and the duplicate check (an ordered, index-only
pass). On PostgreSQL its branches run at the same time in parallel worker processes, the join cut
into slices of the invoice key (see `_parallel_passes`); on SQLite, and on PostgreSQL without free
workers, one after another. Gaps are written by one INSERT ... SELECT ... ON CONFLICT DO UPDATE over
`recovery_gap` (both SQLite ≥ 3.33 and PostgreSQL), so a gap found again keeps its row and
only `last_seen_*` moves; a period holding no gap yet gets a plain INSERT (`_insert_gaps`). A rerun
over unchanged data writes no more than a first run: no index holds what it changes, so on PostgreSQL
each gap's new version stays on its page with no new index entry (see `_write_rerun_gaps`).
Explanations are fixed English msgids (translated when shown); numbers are shown from the compared
rows.
"""

# ruff: noqa: S608 -- only module constants and ints are interpolated; values go as parameters.
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_noop

from outage_portal.sql import statement_settings, transaction_settings

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
EXPLAIN_ONLY_IN_ORDERS = gettext_noop(
    "No invoice in our books or in the tax system covers this order (by its invoice number, or the same "
    "counterparty and total within the allowed days): the invoice it implies is missing on both sides."
)
EXPLANATIONS = {
    "only_in_books": EXPLAIN_ONLY_IN_BOOKS,
    "only_in_tax_system": EXPLAIN_ONLY_IN_TAX,
    "amount": EXPLAIN_AMOUNT,
    "status": EXPLAIN_STATUS,
    "counterparty": EXPLAIN_COUNTERPARTY,
    "duplicate": EXPLAIN_DUPLICATE,
    "only_in_orders": EXPLAIN_ONLY_IN_ORDERS,
}

INV = "invoices_invoice"
TAX = "invoices_taxrecord"
GAP = "recovery_gap"

INSERT_COLUMNS = (
    "company_id, direction, kind, gap_key, invoice_key, invoice_id, tax_record_id, suggested_tax_record_id, "
    "suggested_invoice_id, "
    "issue_date, issued_at, amount_at_risk, rule, explanation, status, decision, decision_reason, "
    "incident_kind, incident_title, incident_url, first_seen_run_id, last_seen_run_id, first_seen_at, last_seen_at"
)

# What a gap found again takes from this run (the rest of its row, people's decisions included, stays).
FOUND_AGAIN_COLUMNS = (
    "last_seen_run_id",
    "last_seen_at",
    "invoice_id",
    "tax_record_id",
    "suggested_tax_record_id",
    "suggested_invoice_id",
    "issue_date",
    "issued_at",
    "amount_at_risk",
    "rule",
    "explanation",
)
# A resolved gap found again is open again; a gap people acknowledged stays acknowledged.
REOPEN = f"CASE WHEN {GAP}.status = '{GapStatus.RESOLVED}' THEN '{GapStatus.OPEN}' ELSE {GAP}.status END"


def _found_again(source: str, extra: tuple[str, ...] = ()) -> str:
    """SET list of a gap found again, its new values read from `source` ("excluded" in an upsert)."""
    taken = [f"{c} = {source}.{c}" for c in (*FOUND_AGAIN_COLUMNS, *extra)]
    return ",\n    ".join([*taken, f"status = {REOPEN}", "resolved_by_run_id = NULL", "resolved_at = NULL"])


ON_CONFLICT = f"""
ON CONFLICT (company_id, direction, kind, gap_key) DO UPDATE SET
    {_found_again("excluded")}
"""


def _day_diff(a: str, b: str) -> str:
    """SQL for |a - b| in days between two date columns, per backend (same result)."""
    if connection.vendor == "postgresql":
        return f"abs({a} - {b})"
    return f"abs(julianday({a}) - julianday({b}))"


def _gap(a: str, b: str) -> str:
    """SQL for |a - b| of two money columns, to the cent.

    PostgreSQL's numeric(16, 2) subtracts exactly; SQLite keeps decimals as floats, so there the
    difference is rounded to the cent before it meets the tolerance.
    """
    if connection.vendor == "postgresql":
        return f"abs({a} - {b})"
    return f"round(abs({a} - {b}), 2)"


def _comparisons(i: str, t: str) -> dict[str, str]:
    """SQL comparing books row `i` with tax row `t`, per column of the scratch table."""
    over = "> CAST(%(tol)s AS NUMERIC)"  # a text parameter never compares as a number on SQLite
    return {
        "total_gap": _gap(f"{i}.total", f"{t}.total"),
        "amount_differs": (
            f"({_gap(f'{i}.amount', f'{t}.amount')} {over} OR {_gap(f'{i}.tax', f'{t}.tax')} {over} "
            f"OR {_gap(f'{i}.total', f'{t}.total')} {over})"
        ),
        "status_differs": f"{i}.status <> {t}.status",
        "parties_differ": f"({i}.seller_tax_id <> {t}.seller_tax_id OR {i}.buyer_tax_id <> {t}.buyer_tax_id)",
    }


# The join names the whole unique key, not only `invoice_key`: then the planner sees that the key
# index hands each side over in the merge join's order (under a full join it does not carry the
# period's fixed company and direction over, and would sort both sides again).
KEY_COLUMNS = "company_id, direction, invoice_key"
PAIRS = "recon_pairs"  # per-connection scratch table: the period's unmatched or differing pairs

# The pair's own side (our books when we hold the invoice, else the tax system), copied in the one
# pass so that nothing after it reads the million-row tables again.
OWN_COLUMNS = ("issue_date", "issued_at", "amount", "tax", "total", "status", "seller_tax_id", "buyer_tax_id")


DUPLICATES = "recon_duplicate_groups"  # per-connection scratch table: (parties, date, total) held twice or more


def _drop_scratch_tables(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {PAIRS}")
    cursor.execute(f"DROP TABLE IF EXISTS {DUPLICATES}")


# For the rest of the run's transaction, from its first statement on: compiling the big join costs
# more than running it; one hash table fits in memory.
RUN_SETTINGS = {"jit": "off", "work_mem": "256MB"}

# For the first statement only (undone after it; the run's transaction goes on).
PARALLEL_SETTINGS = {
    "random_page_cost": "1.1",  # see the duplicate check in _find_pairs()
    "parallel_tuple_cost": "0",
    "min_parallel_table_scan_size": "1TB",
    "min_parallel_index_scan_size": "1TB",
    "enable_hashjoin": "off",
    "enable_hashagg": "off",  # see the duplicate check in _find_pairs()
}


def _parallel_passes(cursor) -> int:
    """Let PostgreSQL spread the first statement over its worker processes; return the join's slices.

    PostgreSQL 15 runs a FULL hash join in one process only. So the join is cut into slices of the
    invoice key (`_slice_conditions`; a pair's two rows share the key, so they always meet in the same
    slice, and the slices together are exactly the whole join), and the slices and the duplicate check
    are the branches of one UNION ALL, which PostgreSQL runs as a Parallel Append: each branch whole,
    in its own process, at the same time. This pays only with a core per slice: one slice per worker
    the planner may start (the leader runs the duplicate check).
    The planner needs two nudges to choose that plan:
    - it estimates that the join hands over the whole period (it cannot know that nearly all pairs
      agree), so moving rows between processes looks costly; the rows really handed over are the few
      thousand gaps, hence parallel_tuple_cost 0;
    - left to itself it would rather split each branch's scans between processes, which a full join
      cannot use and which makes the duplicate check hand a million partial groups between processes
      (measured slower than one process); hence no parallel scans: each branch stays whole.
    And one choice it gets wrong: it costs a hash join below a merge join, but building a hash table of
    half a million wide rows costs more than walking both tables in key order, as the key index delivers
    them (about 0.7 s against 0.85 s per slice of a million-row period on the benchmark's machine), and
    even sorting both sides first was faster than hashing one; hence no hash joins in this statement.
    With no worker free the leader runs the branches one after another: the same result, slower.
    """
    cursor.execute("SHOW max_parallel_workers_per_gather")
    return max(1, int(cursor.fetchone()[0]))


SAMPLE_PERCENT = 1  # of the invoice table's pages read to place the slices' bounds
SAMPLE_ENOUGH = 200  # sampled keys below which the bounds would be guesses: slice by hash instead


def _slice_conditions(cursor, slices: int, values: dict, *, period: str) -> list[str]:
    """One SQL condition on `invoice_key` per slice of the join; together they take every key once.

    Ranges of keys where a sample of the period's invoices can place the bounds: each slice then
    reads only its own rows (through the key index, where the table lies in key order, as imports
    leave it) instead of every row of the period. A period too small for the sample (where the time
    hardly matters) is sliced by a hash of the key, which is balanced whatever the keys look like
    but makes every slice read the whole period. The bounds go into `values` as parameters.
    """
    if slices == 1:
        return [""]
    cursor.execute(
        f"SELECT invoice_key FROM {INV} TABLESAMPLE SYSTEM ({SAMPLE_PERCENT}) REPEATABLE (0) WHERE {period}",
        values,
    )
    sample = sorted(key for (key,) in cursor.fetchall())
    if len(sample) < SAMPLE_ENOUGH:
        return [f" AND (hashtext(invoice_key) & 2147483647) %% {slices} = {n}" for n in range(slices)]
    bounds = [sample[len(sample) * n // slices] for n in range(1, slices)]
    for n, bound in enumerate(bounds):
        values[f"slice_bound_{n}"] = bound
    conditions = []
    for n in range(slices):
        above = f" AND invoice_key >= %(slice_bound_{n - 1})s" if n > 0 else ""
        below = f" AND invoice_key < %(slice_bound_{n})s" if n < slices - 1 else ""
        conditions.append(above + below)
    return conditions


def _insert_gaps(cursor, found: str, values: dict) -> None:
    """Write the gaps `found` selects (in INSERT_COLUMNS order): plainly where this period holds no gap
    yet, else as a rerun (`_write_rerun_gaps`).

    A period never compared before (the big first run after an import) has nothing to collide with.
    Should a gap of another period collide after all (a key whose invoice moved to this period), the
    plain INSERT fails and, back at its savepoint, the upsert runs: the same rows either way.
    """
    insert = f"INSERT INTO {GAP} ({INSERT_COLUMNS}) {found}"
    # In the period index's order, so that only the index answers (as in Staging._holds_keys_between).
    cursor.execute(
        f"SELECT 1 FROM {GAP} WHERE company_id = %(company)s AND direction = %(direction)s "
        "AND issue_date BETWEEN %(start)s AND %(end)s ORDER BY company_id, direction, issue_date LIMIT 1",
        values,
    )
    if cursor.fetchone() is not None:
        _write_rerun_gaps(cursor, found, values)
        return
    try:
        with transaction.atomic():
            cursor.execute(insert, values)
    except IntegrityError:
        cursor.execute(f"{insert} {ON_CONFLICT}", values)


def _write_rerun_gaps(cursor, found: str, values: dict) -> None:
    """A rerun: the gaps new to the period inserted, then the gaps found again updated in one join.

    The same rows as one upsert of them all, for less: an upsert probes the unique index and locks
    each row before updating it, one row at a time (measured about a third of its time), where one
    pass over the company's gaps finds the few new ones and one hash join the rest. New rows go first,
    before the update leaves a second version of every gap for the search to step over, and they
    already carry this run, so the update passes them by. Their ON CONFLICT catches a gap that another
    period's run recorded meanwhile.
    Every gap found again still gets a new row version, but on PostgreSQL a cheap one: no index of
    `recovery_gap` holds a column the update changes over unchanged data (`last_seen_*`; the others
    are set to what they were), and the table keeps half of each page free (fillfactor 50), so the new
    version stays on the gap's page with no new index entry (a HOT update). Over unchanged data that
    costs less than the first run's inserts (which write every index). The room comes back when a page
    is next read, once no transaction still sees the old versions: a long transaction open elsewhere
    on the server can hold it, and then a rerun writes index entries again, as every rerun once did.
    """
    named = f"WITH found ({INSERT_COLUMNS}) AS ({found})"
    same_gap = (
        f"{GAP}.company_id = %(company)s AND {GAP}.direction = %(direction)s "
        f"AND {GAP}.kind = found.kind AND {GAP}.gap_key = found.gap_key"
    )
    # Right after a first run the planner may not know yet of the gaps it added (autovacuum analyzes
    # them within a minute or so): taking the company's gaps for a handful, it would compare every gap
    # found with every gap held, 25 s for 25,000 gaps instead of one pass.
    with statement_settings(cursor, {"enable_nestloop": "off"}):
        cursor.execute(
            f"""{named} INSERT INTO {GAP} ({INSERT_COLUMNS}) SELECT * FROM found
            WHERE NOT EXISTS (SELECT 1 FROM {GAP} WHERE {same_gap}) {ON_CONFLICT}""",
            values,
        )
        cursor.execute(
            f"""{named} UPDATE {GAP} SET {_found_again("found")} FROM found
            WHERE {same_gap} AND {GAP}.last_seen_run_id <> %(run)s""",
            values,
        )


OWNER = "company_id = %(company)s AND direction = %(direction)s"
PERIOD = f"{OWNER} AND issue_date BETWEEN %(start)s AND %(end)s"
OUTSIDE_PERIOD = "NOT BETWEEN %(start)s AND %(end)s"


def compare(*, run, now, end: date | None = None) -> None:
    """Upsert every gap of `run`'s company/direction/period; mark the rest of the period resolved.

    One statement copies every pair that is unmatched or differs, and every duplicate group, into a
    small scratch table (the only statement reading all of the period's rows); everything after works
    on that table, and one INSERT writes every gap kind.
    """
    fuzzy_on = MatchRule.objects.filter(method=MatchRule.Method.FUZZY, enabled=True).exists()
    end = end or run.period_end  # a partial run compares only up to where the tax system's data reaches
    values = _parameters(run, now=now, end=end)
    with connection.cursor() as cursor:
        _find_pairs(cursor, values)
        _meet_twins_outside_period(cursor, values)
        if fuzzy_on:
            _suggest_fuzzy_matches(cursor, days=int(getattr(settings, "RECONCILE_FUZZY_DAYS", 3)))
        _insert_gaps(cursor, _found_gaps(), values)
        _drop_scratch_tables(cursor)
        # Orders in an outage window that no invoice on either side covers (before the next step, which
        # would take their gaps from earlier runs as resolved).
        order_gaps(cursor, run=run, values=values, end=end)
        _resolve_not_found(cursor, values)


def _parameters(run, *, now, end: date) -> dict:
    """The statements' parameters: the run's company, direction and period, the tolerance, the run and
    its time, and the explanations' msgids."""
    ops = connection.ops
    tol = Decimal(getattr(settings, "RECONCILE_AMOUNT_TOLERANCE", Decimal("0")) or 0)
    return {
        "company": run.company_id,
        "direction": run.direction,
        "start": ops.adapt_datefield_value(run.period_start),
        "end": ops.adapt_datefield_value(end),
        "tol": ops.adapt_decimalfield_value(tol, 16, 2),
        "run": run.pk,
        "now": ops.adapt_datetimefield_value(now),
        **EXPLANATIONS,
    }


def _find_pairs(cursor, values: dict) -> None:
    """Step 1, the only statement reading all of the period's rows, two passes in one UNION ALL into
    PAIRS, then the duplicate groups moved to DUPLICATES:
    a. pairs missing on a side, or matched by key but differing in anything compared. The filter is
       plain inequality, cheap on every row; the tolerance is judged on the few it lets through (a pair
       differing only within the tolerance is kept but flags nothing);
    b. possible duplicates in our books: (parties, date, total) held under two keys or more.
    On PostgreSQL the join's slices and the duplicate check run at the same time in parallel worker
    processes (see _parallel_passes); CREATE TABLE ... AS may use a parallel plan where INSERT ... SELECT
    may not.
    """
    postgresql = connection.vendor == "postgresql"
    transaction_settings(cursor, RUN_SETTINGS)
    if postgresql:
        # The duplicate check reads the `invoice_period` index alone (index-only once vacuum has
        # marked the pages all-visible, as autovacuum does after an import), which delivers the rows
        # in date order: sorting each day's few thousand rows by total, then parties, costs 0.7 s a
        # million rows where hashing a million groups, the planner's choice, costs 1.1 s (hence no
        # hash aggregate). The default random_page_cost (4, for spinning disks) hides the index from
        # the planner; at the SSD/cached value (PARALLEL_SETTINGS) it reads the index when the
        # visibility map allows and the table when it does not (right after a large import).
        slices = _parallel_passes(cursor)
    else:
        slices = 1
    _drop_scratch_tables(cursor)
    join_slices = [_pairs_in_slice(in_slice) for in_slice in _slice_conditions(cursor, slices, values, period=PERIOD)]
    branches = " UNION ALL ".join((*join_slices, _duplicate_groups()))  # the first branch names the columns
    with statement_settings(cursor, PARALLEL_SETTINGS):
        cursor.execute(f"CREATE TEMPORARY TABLE {PAIRS} AS SELECT * FROM ({branches}) AS found", values)
    cursor.execute(
        f"""CREATE TEMPORARY TABLE {DUPLICATES} AS
        SELECT seller_tax_id, buyer_tax_id, issue_date, total FROM {PAIRS} WHERE grouped"""
    )
    cursor.execute(f"DELETE FROM {PAIRS} WHERE grouped")
    if postgresql:
        # What the planner needs to know of the scratch tables (autovacuum never analyzes them):
        # DUPLICATES is usually empty (look its members up by index); PAIRS holds thousands of pairs,
        # so step 2 probes the key index for each only where the other table holds many rows outside
        # the period, else hashes those few rows, and step 3 hashes on the total.
        cursor.execute(f"ANALYZE {DUPLICATES}, {PAIRS} (iid, tid, total)")


def _pair_columns() -> dict[str, str]:
    """PAIRS' columns and the SQL filling each from books row `i` and tax row `t` of the join."""
    return {
        "iid": "i.id",
        "tid": "t.id",
        "invoice_key": "COALESCE(i.invoice_key, t.invoice_key)",
        **{c: f"CASE WHEN i.id IS NULL THEN t.{c} ELSE i.{c} END" for c in OWN_COLUMNS},
        **_comparisons("i", "t"),
        "suggested_tid": "CAST(NULL AS bigint)",
        "suggested_iid": "CAST(NULL AS bigint)",
        "grouped": "FALSE",
    }


def _pairs_in_slice(in_slice: str) -> str:
    """Step 1a for one slice of the invoice key: the full outer join's unmatched or differing pairs."""
    own_names = ", ".join(OWN_COLUMNS)
    return f"""SELECT {", ".join(f"{sql} AS {c}" for c, sql in _pair_columns().items())}
                FROM (SELECT id, {KEY_COLUMNS}, {own_names} FROM {INV} WHERE {PERIOD}{in_slice}) i
                FULL OUTER JOIN (SELECT id, {KEY_COLUMNS}, {own_names} FROM {TAX} WHERE {PERIOD}{in_slice}) t
                  ON t.company_id = i.company_id AND t.direction = i.direction AND t.invoice_key = i.invoice_key
                WHERE i.id IS NULL OR t.id IS NULL OR i.amount <> t.amount OR i.tax <> t.tax OR i.total <> t.total
                   OR i.status <> t.status OR i.seller_tax_id <> t.seller_tax_id
                   OR i.buyer_tax_id <> t.buyer_tax_id"""


def _duplicate_groups() -> str:
    """Step 1b: the (parties, date, total) groups our books hold twice or more, in PAIRS' columns."""
    group_has = {c: c for c in ("issue_date", "total", "seller_tax_id", "buyer_tax_id")}
    group = ", ".join(group_has.get(c, "NULL") for c in _pair_columns() if c != "grouped")
    return f"""SELECT {group}, TRUE FROM {INV} WHERE {PERIOD}
            GROUP BY issue_date, total, seller_tax_id, buyer_tax_id HAVING COUNT(*) > 1"""


def _meet_twins_outside_period(cursor, values: dict) -> None:
    """Step 2. A twin dated outside the period is still a twin: our invoice's twin joins the pair (and is
    compared with it); a tax record whose invoice lies in another period belongs to that run. A twin
    inside the period met its pair in the join (same key, same slice): only look outside."""
    twin = _comparisons(PAIRS, "t")
    cursor.execute(
        f"""UPDATE {PAIRS} SET tid = t.id, {", ".join(f"{c} = {sql}" for c, sql in twin.items())}
        FROM {TAX} t
        WHERE {PAIRS}.tid IS NULL AND t.company_id = %(company)s AND t.direction = %(direction)s
          AND t.invoice_key = {PAIRS}.invoice_key AND t.issue_date {OUTSIDE_PERIOD}""",
        values,
    )
    cursor.execute(
        f"""DELETE FROM {PAIRS} WHERE iid IS NULL AND EXISTS (SELECT 1 FROM {INV} i
            WHERE i.company_id = %(company)s AND i.direction = %(direction)s
              AND i.invoice_key = {PAIRS}.invoice_key AND i.issue_date {OUTSIDE_PERIOD})""",
        values,
    )


def _suggest_fuzzy_matches(cursor, *, days: int) -> None:
    """Step 3, the fuzzy rule: suggest an unmatched record on the other side with the same parties and
    total within `days`, for a person to accept. A join between the two small unmatched sets."""
    for own_col, other_col, target in (("iid", "tid", "suggested_tid"), ("tid", "iid", "suggested_iid")):
        cursor.execute(
            f"""UPDATE {PAIRS} SET {target} = s.candidate
            FROM (SELECT a.{own_col} AS owner_id, MIN(b.{other_col}) AS candidate
                  FROM {PAIRS} a JOIN {PAIRS} b ON b.{own_col} IS NULL AND b.{other_col} IS NOT NULL
                   AND b.seller_tax_id = a.seller_tax_id AND b.buyer_tax_id = a.buyer_tax_id
                   AND b.total = a.total AND {_day_diff("b.issue_date", "a.issue_date")} <= {days}
                  WHERE a.{other_col} IS NULL
                  GROUP BY a.{own_col}) s
            WHERE {PAIRS}.{own_col} = s.owner_id AND {PAIRS}.{other_col} IS NULL"""
        )


# Step 4's pair kinds: kind, the four ids (invoice, tax record, suggested tax record, suggested
# invoice), amount at risk, explanation, which pairs.
_MATCHED = "p.iid IS NOT NULL AND p.tid IS NOT NULL AND"
_BOTH = "p.iid, p.tid, NULL, NULL"
PAIR_KINDS = (
    (GapKind.ONLY_IN_BOOKS, "p.iid, NULL, p.suggested_tid, NULL", "p.total", "only_in_books", "p.tid IS NULL"),
    (
        GapKind.ONLY_IN_TAX_SYSTEM,
        "NULL, p.tid, NULL, p.suggested_iid",
        "p.total",
        "only_in_tax_system",
        "p.iid IS NULL",
    ),
    (GapKind.AMOUNT_MISMATCH, _BOTH, "p.total_gap", "amount", f"{_MATCHED} p.amount_differs"),
    (GapKind.STATUS_MISMATCH, _BOTH, "p.total", "status", f"{_MATCHED} p.status_differs"),
    (GapKind.COUNTERPARTY_MISMATCH, _BOTH, "p.total", "counterparty", f"{_MATCHED} p.parties_differ"),
)
# The columns every gap a run writes ends with (INSERT_COLUMNS from incident_kind on).
STAMP = "'', '', '', '', '', %(run)s, %(run)s, %(now)s, %(now)s"


def _found_gaps() -> str:
    """Step 4: every gap kind in one UNION ALL, in INSERT_COLUMNS order: the pair kinds from the scratch
    table, then the duplicates (every member of a group but the one with the smallest key)."""
    selects = [
        f"""SELECT %(company)s, %(direction)s, '{kind}', p.invoice_key, p.invoice_key, {ids}, p.issue_date,
                   p.issued_at, {at_risk}, 'normalised', %({explain})s, '{GapStatus.OPEN}', {STAMP}
            FROM {PAIRS} p WHERE {where}"""
        for kind, ids, at_risk, explain, where in PAIR_KINDS
    ]
    selects.append(
        f"""SELECT %(company)s, %(direction)s, '{GapKind.POSSIBLE_DUPLICATE}', i.invoice_key, i.invoice_key, i.id,
                   NULL, NULL, NULL, i.issue_date, i.issued_at, i.total, 'fuzzy', %(duplicate)s, '{GapStatus.OPEN}',
                   {STAMP}
            FROM (SELECT i.id, i.invoice_key, i.issue_date, i.issued_at, i.total,
                         MIN(i.invoice_key) OVER (PARTITION BY i.seller_tax_id, i.buyer_tax_id, i.issue_date, i.total)
                           AS first_key
                  FROM {DUPLICATES} g JOIN {INV} i
                    ON i.company_id = %(company)s AND i.seller_tax_id = g.seller_tax_id
                   AND i.buyer_tax_id = g.buyer_tax_id AND i.issue_date = g.issue_date AND i.total = g.total
                  WHERE i.direction = %(direction)s AND i.issue_date BETWEEN %(start)s AND %(end)s) i
            WHERE i.invoice_key > i.first_key"""
    )
    return " UNION ALL ".join(selects)


def _resolve_not_found(cursor, values: dict) -> None:
    """Gaps of this period not found again: the tax system (or our books) caught up."""
    cursor.execute(
        f"""UPDATE {GAP} SET status = '{GapStatus.RESOLVED}', resolved_by_run_id = %(run)s, resolved_at = %(now)s
        WHERE {PERIOD} AND last_seen_run_id <> %(run)s
          AND status IN ('{GapStatus.OPEN}', '{GapStatus.ACKNOWLEDGED}')""",
        values,
    )


# --- Orders and contracts: invoices lost from both sides --------------------------------------------
ORD = "invoices_order"
CANDIDATES = "recon_order_candidates"  # per-connection scratch table: the orders no invoice covers by party
ORDER_ON_CONFLICT = f"""
ON CONFLICT (company_id, direction, kind, gap_key) DO UPDATE SET
    {_found_again("excluded", ("order_id",))}
"""


def _shift(column: str, days: str) -> str:
    """SQL for a date column moved by a number of days given as a parameter name, per backend."""
    if connection.vendor == "postgresql":
        return f"{column} + CAST(%({days})s AS integer)"
    return f"date({column}, CAST(%({days})s AS text) || ' days')"


def order_windows(*, run, end: date) -> list[tuple[date, date]]:
    """The local days of the outage windows touching the run's company and period that stop invoices
    from reaching the tax system: only an order dated in one may have lost its invoice to the outage
    (elsewhere an order without an invoice is usually just not invoiced yet)."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from notices import windows

    from .services import INVOICE_FLOW_FUNCTIONS

    tz = timezone.get_current_timezone()
    start = datetime.combine(run.period_start, time.min, tzinfo=tz)
    stop = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    days = []
    for w in windows.outage_windows(regions=[run.company.region], start=start, end=stop):
        stops_invoices = not w.functions or set(w.functions) & INVOICE_FLOW_FUNCTIONS
        if not stops_invoices or (w.region and w.region != run.company.region):
            continue
        first = max(timezone.localtime(w.start, tz).date(), run.period_start)
        last = min(timezone.localtime(w.end, tz).date() if w.end else end, end)
        if first <= last:
            days.append((first, last))
    return days


def order_gaps(cursor, *, run, values: dict, end: date) -> None:
    """Upsert an `only_in_orders` gap for each order of the period's outage windows that no invoice
    covers, in our books or in the tax system.

    First the orders no invoice of the same counterparty and total covers within
    `RECONCILE_ORDER_DAYS` of the order date, on either side: two anti-joins each PostgreSQL runs as a
    hash join over the period (a counterparty known only by name is matched by name, in a branch of
    its own so that both keep a hashable key, run only when the period holds such an order), copied
    into a scratch table. Only those few candidates are then looked up by the invoice number their
    order names, through the invoice key index. The gap's amount at risk is the order's total; the
    proposed invoice is read from the order (`Gap.order`).
    """
    spans = order_windows(run=run, end=end)
    if not spans:
        return
    ops = connection.ops
    params = dict(values)
    params["order_days"] = settings.RECONCILE_ORDER_DAYS
    params["minus_order_days"] = -params["order_days"]
    in_window = []
    for n, (first, last) in enumerate(spans):
        params[f"w{n}_first"], params[f"w{n}_last"] = ops.adapt_datefield_value(first), ops.adapt_datefield_value(last)
        in_window.append(f"o.order_date BETWEEN %(w{n}_first)s AND %(w{n}_last)s")
    # Our sales invoices name the customer as buyer; purchase invoices name the supplier as seller.
    party = "buyer" if run.direction == "issued" else "seller"
    earliest, latest = _shift("o.order_date", "minus_order_days"), _shift("o.order_date", "order_days")
    orders = (
        f"SELECT o.id, o.order_number, o.order_date, o.total, o.invoice_key FROM {ORD} o "
        "WHERE o.company_id = %(company)s AND o.direction = %(direction)s "
        f"AND o.order_date BETWEEN %(start)s AND %(end)s AND ({' OR '.join(in_window)})"
    )

    def side(table: str) -> str:
        return f"SELECT 1 FROM {table} x WHERE x.company_id = %(company)s AND x.direction = %(direction)s"

    def uncovered(party_column: str, order_column: str) -> str:
        return " AND ".join(
            f"NOT EXISTS ({side(t)} AND x.{party}_{party_column} = o.{order_column} AND x.total = o.total "
            f"AND x.issue_date BETWEEN {earliest} AND {latest})"
            for t in (INV, TAX)
        )

    branches = [f"{orders} AND o.counterparty_tax_id <> '' AND {uncovered('tax_id', 'counterparty_tax_id')}"]
    # Orders naming their counterparty only by name are rare; their branch hashes both invoice tables
    # again (by name), so it runs only when the period holds such an order.
    cursor.execute(f"{orders} AND o.counterparty_tax_id = '' LIMIT 1", params)
    if cursor.fetchone() is not None:
        branches.append(f"{orders} AND o.counterparty_tax_id = '' AND {uncovered('name', 'counterparty_name')}")
    by_number = " AND ".join(
        f"NOT EXISTS ({side(t)} AND c.invoice_key <> '' AND x.invoice_key = c.invoice_key)" for t in (INV, TAX)
    )
    cursor.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
    # As in _find_pairs(): CREATE TABLE ... AS may run its hash joins in parallel worker processes where
    # INSERT ... SELECT may not; the planner expects most orders to come through (it cannot know
    # nearly all are covered), hence no cost for handing rows between processes.
    with statement_settings(cursor, {"parallel_tuple_cost": "0"}):
        cursor.execute(f"CREATE TEMPORARY TABLE {CANDIDATES} AS {' UNION ALL '.join(branches)}", params)
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {CANDIDATES}")  # a few rows: look their invoice numbers up by index
    cursor.execute(
        f"""INSERT INTO {GAP} ({INSERT_COLUMNS}, order_id)
        SELECT %(company)s, %(direction)s, '{GapKind.ONLY_IN_ORDERS}', 'order:' || c.order_number,
               CASE WHEN c.invoice_key <> '' THEN c.invoice_key ELSE substr(c.order_number, 1, 32) END,
               NULL, NULL, NULL, NULL, c.order_date, NULL, c.total, 'orders', %(only_in_orders)s,
               '{GapStatus.OPEN}', {STAMP}, c.id
        FROM {CANDIDATES} c
        WHERE {by_number}
        {ORDER_ON_CONFLICT}""",
        params,
    )
    cursor.execute(f"DROP TABLE {CANDIDATES}")
