"""Writes for reconciliation: create and execute runs, and what people decide about gaps."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.models import Invoice, Order, TaxRecord
from outage_portal.jobs import lease_kept
from outage_portal.models import Company, Role
from outage_portal.roles import has_role

from . import engine, periods
from .models import (
    Alert,
    Decision,
    FailureKind,
    Gap,
    GapComment,
    GapKind,
    GapStatus,
    ReconciliationRun,
    RunState,
)

DEFAULT_PERIOD_DAYS = periods.DEFAULT_PERIOD_DAYS

# Who decides about gaps (acknowledge, dismiss, assign, accept a suggestion) and starts runs; finance
# staff and reviewers read.
GAP_DECIDERS = (Role.ACCOUNTANT, Role.COMPANY_ADMIN)
logger = logging.getLogger(__name__)


def can_decide(user, company: Company | int) -> bool:
    return has_role(user, company, *GAP_DECIDERS)


def _require_decider(user, company: Company | int, message: str) -> None:
    if not can_decide(user, company):
        raise PermissionDenied(message)


def _require_gap_decider(user, gap: Gap) -> None:
    _require_decider(user, gap.company_id, _("Only accountants and company admins of this company decide about gaps."))


@transaction.atomic
def reconciliation_run_create(
    *,
    company: Company,
    direction: str,
    period_start: date | None = None,
    period_end: date | None = None,
    trigger: str = "manual",
    user=None,
    enqueue: bool = True,
) -> ReconciliationRun:
    """Queue a run; the worker executes it after commit (unless `enqueue` is False).

    A person (`user`) must be an accountant or company admin of the company; runs the portal starts
    itself (imports, the schedule, the command line) pass no user. A side of the period not given is
    taken from the span of the company's records (see `periods.fill_period`)."""
    if user is not None:
        _require_decider(
            user, company, _("Only accountants and company admins of this company start reconciliation runs.")
        )
    period_start, period_end, from_records = periods.fill_period(
        company_id=company.pk, direction=direction, start=period_start, end=period_end
    )
    run = ReconciliationRun(
        company=company,
        direction=direction,
        period_start=period_start,
        period_end=period_end,
        period_from_records=from_records,
        trigger=trigger,
        created_by=user,
    )
    run.full_clean()
    run.save()
    if enqueue:
        reconciliation_run_enqueue(run.pk)
        run.refresh_from_db(fields=["enqueued_at"])
    return run


def reconciliation_run_enqueue(run_id: int) -> None:
    """Hand the run to the reconciliation queue (after commit) and note when, for the sweeper."""
    from .tasks import reconciliation_run_execute_task

    ReconciliationRun.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: reconciliation_run_execute_task.delay(run_id))


def _fail(run_id: int, reason: str, kind: str = FailureKind.ERROR, *, token: str) -> None:
    ReconciliationRun.objects.release(
        run_id,
        token,
        running=RunState.RUNNING,
        state=RunState.FAILED,
        failure_reason=reason,
        failure_kind=kind,
        finished_at=timezone.now(),
    )


def reconciliation_runs_sweep() -> dict[str, list[int]]:
    """Fail and retry the runs whose worker died (lease expired) and send again those whose queue
    message was lost; after JOB_MAX_ATTEMPTS claims a run fails for good. See `jobs_sweep`."""
    from outage_portal.jobs import jobs_sweep

    return jobs_sweep(
        ReconciliationRun,
        waiting=RunState.QUEUED,
        running=RunState.RUNNING,
        failed=RunState.FAILED,
        enqueue=reconciliation_run_enqueue,
        failure_reason=lambda: _("The run was interrupted too many times (its worker stopped each time)."),
    )


def _in_period(run: ReconciliationRun) -> dict:
    return {
        "company_id": run.company_id,
        "direction": run.direction,
        "issue_date__range": (run.period_start, run.period_end),
    }


def _tax_data_reaches(run: ReconciliationRun, newest_tax: date | None, newest_book: date | None) -> date:
    """The last day of the period worth comparing: the tax system often lags our books by a day or
    two; when its newest record is older than our newest invoice by more than the allowed lag, the
    days after it would all look "missing" — compare only up to it (the run is then partial)."""
    if newest_tax and newest_book and (newest_book - newest_tax).days > settings.RECONCILE_PARTIAL_LAG_DAYS:
        return newest_tax
    return run.period_end


def reconciliation_run_execute(*, run_id: int) -> ReconciliationRun:
    """Execute a run. Idempotent and race-safe: a run another worker holds (its lease not expired) is
    left alone, and the gap writes and the final state commit together under a row lock, by the
    holder of the claim only, so a killed worker leaves nothing partial and a retry gives the same gaps.
    An unexpected error fails the run (it never stays "running") and is raised for the logs."""
    token = ReconciliationRun.objects.claim(
        run_id, waiting=(RunState.QUEUED,), running=RunState.RUNNING, started_at=timezone.now()
    )
    if token is None:
        return ReconciliationRun.objects.select_related("company").get(pk=run_id)
    with lease_kept(ReconciliationRun, run_id, token, running=RunState.RUNNING):
        try:
            return _run_claimed(run_id, token)
        except DatabaseError:
            raise  # the database went away: the lease runs out and the sweeper retries the run
        except Exception:
            reason = _("The run stopped on an unexpected error; the operators can see it in the logs.")
            _fail(run_id, reason, token=token)
            raise


def _run_claimed(run_id: int, token: str) -> ReconciliationRun:
    """Refresh the tax side, then, under the run's row lock, judge whether there is anything (plausible)
    to compare, compare it and record the outcome; the gaps and the run's state commit together."""
    run = ReconciliationRun.objects.select_related("company").get(pk=run_id)
    if not _tax_side_refreshed(run, token):
        return run
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().select_related("company").get(pk=run_id)
        if run.state != RunState.RUNNING or run.claim_token != token:
            return run  # another worker took it over (our lease expired) or finished it meanwhile
        run.lease_expires_at = None
        tax_side, book_side = _count_sides(run)
        if book_side["n"] == 0 and tax_side["n"] == 0 and not _orders_in_period(run).exists():
            return _finish_with_nothing(run)
        if tax_side["n"] == 0 and _had_tax_records_before(run):
            return _finish_implausible(run)
        compare_until = _tax_data_reaches(run, tax_side["newest"], book_side["newest"])
        engine.compare(run=run, now=timezone.now(), end=compare_until)
        _attribute(run=run)
        new_counts = _finish_compared(run, tax_count=tax_side["n"], compare_until=compare_until)
        _follow_up(run, new_counts)
    return run


# What every finished run stores besides what its outcome sets (`_finish`).
RUN_FINISHED_FIELDS = ("state", "finished_at", "invoices_compared", "tax_records_compared", "lease_expires_at")


def _finish(run: ReconciliationRun, state: str, **outcome) -> ReconciliationRun:
    """Store the run's final state and `outcome` (the fields its kind of ending sets)."""
    run.state = state
    for name, value in outcome.items():
        setattr(run, name, value)
    run.finished_at = timezone.now()
    run.save(update_fields=[*outcome, *RUN_FINISHED_FIELDS])
    return run


def _tax_side_refreshed(run: ReconciliationRun, token: str) -> bool:
    """Fetch the period's tax records from the source; a source failure fails the run (False)."""
    from invoices import sources

    try:
        sources.refresh_tax_records(
            company=run.company, direction=run.direction, start=run.period_start, end=run.period_end
        )
    except sources.SourceError as exc:
        reason = _("The tax-system source failed: %(reason)s") % {"reason": exc.reason}
        _fail(run.pk, reason, FailureKind.SOURCE, token=token)
        run.refresh_from_db()
        return False
    return True


def _count_sides(run: ReconciliationRun) -> tuple[dict, dict]:
    """How many tax records and invoices the period holds on each side, and each side's newest date;
    the counts are stored on the run."""
    tax_side = TaxRecord.objects.filter(**_in_period(run)).aggregate(n=Count("id"), newest=Max("issue_date"))
    book_side = Invoice.objects.filter(**_in_period(run)).aggregate(n=Count("id"), newest=Max("issue_date"))
    run.invoices_compared, run.tax_records_compared = book_side["n"], tax_side["n"]
    return tax_side, book_side


def _orders_in_period(run: ReconciliationRun):
    return Order.objects.filter(
        company_id=run.company_id, direction=run.direction, order_date__range=(run.period_start, run.period_end)
    )


def _finish_with_nothing(run: ReconciliationRun) -> ReconciliationRun:
    # Nothing on either side: say so rather than report "no gaps" as if something agreed.
    return _finish(
        run,
        RunState.NOTHING,
        counts={**{k: 0 for k in GapKind.values}, "tax_records": 0},
        failure_reason=_("Neither our books nor the tax system hold an invoice in this period."),
    )


def _had_tax_records_before(run: ReconciliationRun) -> bool:
    """Whether an earlier run over an overlapping period saw tax records (so none now is implausible)."""
    return (
        ReconciliationRun.objects.filter(
            company_id=run.company_id,
            direction=run.direction,
            state__in=[RunState.SUCCEEDED, RunState.PARTIAL],
            period_start__lte=run.period_end,
            period_end__gte=run.period_start,
            counts__tax_records__gt=0,
        )
        .exclude(pk=run.pk)
        .exists()
    )


def _finish_implausible(run: ReconciliationRun) -> ReconciliationRun:
    return _finish(
        run,
        RunState.FAILED,
        failure_reason=_(
            "The tax system returned nothing for a period that had records before; "
            "no gaps were recorded until it returns data again."
        ),
        failure_kind=FailureKind.IMPLAUSIBLE,
    )


def _gap_counts(run: ReconciliationRun, **run_filter) -> dict[str, int]:
    """Gaps per kind of the run's period matching `run_filter` (e.g. last_seen_run=run)."""
    rows = Gap.objects.in_run_period(run).filter(**run_filter).values("kind").annotate(n=Count("id")).order_by()
    return {row["kind"]: row["n"] for row in rows}


def _finish_compared(run: ReconciliationRun, *, tax_count: int, compare_until: date) -> dict[str, int]:
    """Record what the comparison found (partial when the tax data stops early); returns the new gaps
    per kind."""
    counts = {**{k: 0 for k in GapKind.values}, **_gap_counts(run, last_seen_run=run), "tax_records": tax_count}
    new_counts = _gap_counts(run, first_seen_run=run)
    outcome = {
        "counts": counts,
        "new_gaps": sum(new_counts.values()),
        "resolved_gaps": Gap.objects.in_run_period(run).filter(resolved_by_run=run).count(),
        "failure_reason": run.failure_reason,
    }
    state = RunState.SUCCEEDED
    if compare_until < run.period_end:
        state = RunState.PARTIAL
        outcome["failure_reason"] = _(
            "The tax system shows records only up to %(date)s; invoices after that day were not compared "
            "yet, so they are not reported as missing."
        ) % {"date": compare_until.isoformat()}
    _finish(run, state, **outcome)
    return new_counts


def _follow_up(run: ReconciliationRun, new_counts: dict[str, int]) -> None:
    """What a compared run sets off: reissue requests closed or flagged, alerts published after commit."""
    from .reissue.services import reissue_requests_close_seen, reissue_requests_flag_originals_seen

    reissue_requests_close_seen(company_id=run.company_id)
    # The loop closes: requests to reissue invoices the tax system now shows are flagged (and
    # withdrawn when nothing is left to reissue), and whoever follows gap alerts hears of it.
    reissue_requests_flag_originals_seen(company_id=run.company_id, now=run.finished_at)
    if run.new_gaps:
        # The outbox: the alert row (published_at empty) commits with the gaps. It is published
        # after commit, and by `alerts_publish_pending` if this process dies before it could.
        alert, _created = Alert.objects.get_or_create(run=run, defaults={"company": run.company, "counts": new_counts})
        transaction.on_commit(lambda: _publish_quietly(alert.pk))
    if run.resolved_gaps:
        transaction.on_commit(lambda: resolved_publish(run_id=run.pk))


def _publish_quietly(alert_id: int) -> None:
    """Publish after commit; a failure here is left to the sweeper, never to the run's result."""
    try:
        alert_publish(alert_id=alert_id)
    except Exception:
        logger.exception("alert %s: publishing failed; the sweeper will publish it", alert_id)


def alerts_publish_pending() -> list[int]:
    """Publish the alerts whose publication never happened (the process died between commit and
    publish, or publishing failed), recorded at least JOB_SWEEP_SECONDS ago. Each is published once:
    `alert_publish` locks the row and checks `published_at`."""
    before = timezone.now() - timedelta(seconds=settings.JOB_SWEEP_SECONDS)
    published = []
    for pk in (
        Alert.objects.filter(published_at__isnull=True, created_at__lt=before)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    ):
        if alert_publish(alert_id=pk):
            logger.warning("alert %s: published by the sweeper (its publication had not happened)", pk)
            published.append(pk)
    return published


# Functions whose loss makes invoices go missing from (or unseen in) the tax system.
INVOICE_FLOW_FUNCTIONS = {"issue", "query", "download", "red_letter"}


def _attribute(*, run: ReconciliationRun) -> None:
    """Attribute this run's unattributed gaps to the window covering their issue time (one UPDATE per window)."""
    from datetime import datetime, time

    from notices import windows

    tz = timezone.get_current_timezone()
    start = datetime.combine(run.period_start, time.min, tzinfo=tz)
    end = datetime.combine(run.period_end + timedelta(days=1), time.min, tzinfo=tz)
    found = windows.outage_windows(regions=[run.company.region], start=start, end=end)
    base = Gap.objects.in_run_period(run).filter(last_seen_run=run, incident_id__isnull=True)
    # Only windows that stop invoices from reaching the tax system explain a gap (a filing-only
    # window does not); an incident explains better than a maintenance window at the same time.
    relevant = [w for w in found if not w.functions or set(w.functions) & INVOICE_FLOW_FUNCTIONS]
    for w in sorted(relevant, key=lambda w: (w.kind != "incident", w.start)):
        if w.region and w.region != run.company.region:
            continue
        by_time = base.filter(issued_at__gte=w.start)
        by_date = base.filter(issued_at__isnull=True, issue_date__gte=timezone.localtime(w.start, tz).date())
        if w.end is not None:
            by_time = by_time.filter(issued_at__lt=w.end)
            by_date = by_date.filter(issue_date__lte=timezone.localtime(w.end, tz).date())
        values = {"incident_kind": w.kind, "incident_id": w.id, "incident_title": w.title[:200], "incident_url": w.url}
        by_time.update(**values)
        by_date.update(**values)


def alert_publish(*, alert_id: int) -> bool:
    """Publish the alert once (key `alert:<id>`; `published_at`, set in the same transaction as the
    deliveries are written, guards against a second publish). True if this call published it."""
    from notices.events import Event, EventKind, event_publish

    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("company", "run").filter(pk=alert_id).first()
        if alert is None or alert.published_at is not None:
            return False
        total = sum(alert.counts.values())
        labels = dict(GapKind.choices)
        body = "; ".join(f"{labels.get(k, k)}: {n}" for k, n in sorted(alert.counts.items()))
        event_publish(
            Event(
                kind=EventKind.RECONCILIATION_GAPS,
                key=f"alert:{alert.pk}",
                subject=f"reconciliation:{alert.company_id}",
                title=_("%(company)s: %(n)s new reconciliation gaps") % {"company": alert.company.name, "n": total},
                body=body,
                url="/recovery/gaps/",
                regions=(alert.company.region,),
                company_id=alert.company_id,
                occurred_at=alert.created_at,
                extra={"counts": alert.counts, "run_id": alert.run_id},
            )
        )
        alert.published_at = timezone.now()
        alert.save(update_fields=["published_at"])
    return True


def resolved_publish(*, run_id: int) -> None:
    """Tell whoever follows the company's gap alerts that a run resolved gaps, and what became of the
    reissue requests holding those invoices. Key `resolved:<run id>`: publishing twice adds nothing."""
    from notices.events import Event, EventKind, event_publish

    from .reissue.models import ReissueItem, ReviewState
    from .reissue.services import ORIGINAL_SEEN_WARNING

    run = ReconciliationRun.objects.select_related("company").filter(pk=run_id).first()
    if run is None:
        return
    resolved = Gap.objects.filter(resolved_by_run=run)
    total = resolved.count()
    if not total:
        return
    labels = dict(GapKind.choices)
    counts = {row["kind"]: row["n"] for row in resolved.values("kind").annotate(n=Count("id")).order_by("kind")}
    lines = [f"{labels.get(k, k)}: {n}" for k, n in counts.items()]
    requests = {}
    for item in (
        ReissueItem.objects.filter(request__company_id=run.company_id, original_seen_at__gte=run.started_at)
        .select_related("request")
        .order_by("request_id")
    ):
        requests[item.request.pk] = item.request
    for req in requests.values():
        if req.state == ReviewState.WITHDRAWN:
            lines.append(
                _("%(number)s was withdrawn: the tax system now shows every invoice it held.") % {"number": req.number}
            )
        else:
            lines.append(f"{req.number} ({req.get_state_display()}): {_(ORIGINAL_SEEN_WARNING)}")
    event_publish(
        Event(
            kind=EventKind.RECONCILIATION_RESOLVED,
            key=f"resolved:{run.pk}",
            subject=f"reconciliation:{run.company_id}",
            title=_("%(company)s: %(n)s reconciliation gaps resolved") % {"company": run.company.name, "n": total},
            body="\n".join(lines),
            url="/recovery/gaps/?status=resolved",
            regions=(run.company.region,),
            company_id=run.company_id,
            occurred_at=run.finished_at,
            extra={"counts": counts, "run_id": run.pk, "requests": sorted(requests)},
        )
    )


# --- People's actions on gaps -------------------------------------------------------------------


@transaction.atomic
def gap_acknowledge(*, gap: Gap, user) -> Gap:
    _require_gap_decider(user, gap)
    if gap.status == GapStatus.OPEN:
        gap.status = GapStatus.ACKNOWLEDGED
        gap.full_clean()
        gap.save(update_fields=["status"])
    return gap


@transaction.atomic
def gap_assign(*, gap: Gap, assignee, user) -> Gap:
    _require_gap_decider(user, gap)
    if assignee is not None and not assignee.memberships.filter(company_id=gap.company_id).exists():
        raise ValidationError({"assignee": _("The assignee must be a member of this company.")})
    gap.assignee = assignee
    gap.save(update_fields=["assignee"])
    return gap


@transaction.atomic
def gap_comment(*, gap: Gap, body: str, user) -> GapComment:
    """Any member may comment (finance staff often know why an invoice is missing); comments decide nothing."""
    if not has_role(user, gap.company_id, *Role.values):
        raise PermissionDenied(_("Only members of this company comment on its gaps."))
    comment = GapComment(gap=gap, author=user, body=(body or "").strip())
    comment.full_clean()
    comment.save()
    return comment


def _decide(gap: Gap, *, decision: str, reason: str, user, status: str) -> Gap:
    gap.decision = decision
    gap.decision_reason = reason
    gap.decided_by = user
    gap.decided_at = timezone.now()
    gap.status = status
    gap.full_clean()
    gap.save()
    return gap


@transaction.atomic
def gap_dismiss(*, gap: Gap, reason: str, user) -> Gap:
    _require_gap_decider(user, gap)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this gap is dismissed.")})
    return _decide(gap, decision=Decision.IGNORED, reason=reason, user=user, status=GapStatus.DISMISSED)


@transaction.atomic
def gap_accept_suggestion(*, gap: Gap, user) -> Gap:
    _require_gap_decider(user, gap)
    if gap.suggested_tax_record_id is None and gap.suggested_invoice_id is None:
        raise ValidationError(_("This gap has no suggested match to accept."))
    return _decide(gap, decision=Decision.ACCEPTED_SUGGESTION, reason="", user=user, status=GapStatus.DISMISSED)


@transaction.atomic
def gap_link(*, gap: Gap, tax_record: TaxRecord, reason: str, user) -> Gap:
    _require_gap_decider(user, gap)
    if tax_record.company_id != gap.company_id or tax_record.direction != gap.direction:
        raise ValidationError({"tax_record": _("The record must belong to the same company and direction.")})
    gap.suggested_tax_record = tax_record
    return _decide(gap, decision=Decision.LINKED, reason=reason or "", user=user, status=GapStatus.DISMISSED)
