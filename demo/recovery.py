"""Demo scenario: reconciliation of the Beijing outage and reissue requests."""

from __future__ import annotations


def load(stdout) -> None:
    # --- reconciliation ---
    _load_reconciliation(stdout)
    # --- reissue requests ---
    from demo import reissue as reissue_demo

    reissue_demo.load(stdout)


def _load_reconciliation(stdout) -> None:
    """Reconcile the demo companies (after the invoices demo) so the dashboard shows the Beijing gaps.
    Idempotent: a period already reconciled successfully is not run again (gap rows are stable anyway)."""
    from demo.foundation import demo_company
    from invoices.models import Direction
    from recovery.models import ReconciliationRun, RunState, RunTrigger
    from recovery.periods import default_period
    from recovery.services import reconciliation_run_create, reconciliation_run_execute

    start, end = default_period()
    for key in ("bj", "xa"):
        company = demo_company(key)
        for direction in Direction.values:
            if ReconciliationRun.objects.filter(
                company=company, direction=direction, period_start=start, period_end=end, state=RunState.SUCCEEDED
            ).exists():
                continue
            run = reconciliation_run_create(
                company=company,
                direction=direction,
                period_start=start,
                period_end=end,
                trigger=RunTrigger.MANUAL,
                enqueue=False,
            )
            run = reconciliation_run_execute(run_id=run.pk)
            stdout.write(f"reconciliation {company.credit_code} {direction}: {run.state} {run.new_gaps} new gaps")
