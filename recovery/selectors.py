"""Reads for pages that look across companies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from notices.models import Incident
from outage_portal.models import Company, Membership, Role

from .models import (
    FailureKind,
    Gap,
    GapKind,
    GapSummary,
    MatchRule,
    ReconciliationRun,
    RunState,
)
from .reissue.models import ReissueItem, ReissueRequest


@dataclass(frozen=True)
class IncidentSuggestion:
    region: str
    companies: int
    since: datetime
    last_reason: str


def incident_suggestions(*, now: datetime) -> list[IncidentSuggestion]:
    """Regions where companies' tax-system sources are failing right now and no incident is open.

    A company counts when its latest run failed because of the source (or implausible data) within
    the last SOURCE_FAILURE_HOURS; a later successful run clears it. Notice admins see these on the
    dashboard with a link that opens an incident for the region. Three queries whatever the size.
    """
    since = now - timedelta(hours=settings.SOURCE_FAILURE_HOURS)
    failing = (
        ReconciliationRun.objects.latest_per_company()
        .filter(
            state=RunState.FAILED,
            failure_kind__in=[FailureKind.SOURCE, FailureKind.IMPLAUSIBLE],
            finished_at__gte=since,
        )
        .select_related("company")
        .order_by("finished_at")
    )
    by_region: dict[str, list[ReconciliationRun]] = {}
    for run in failing:
        by_region.setdefault(run.company.region, []).append(run)
    if not by_region:
        return []
    covered = set()
    for system_region, impact_regions in (
        Incident.objects.active()
        .filter(Q(system__region__in=list(by_region)) | ~Q(impact_regions=[]))
        .values_list("system__region", "impact_regions")
    ):
        covered.add(system_region)
        covered.update(impact_regions or [])
    return [
        IncidentSuggestion(
            region=region,
            companies=len({run.company_id for run in runs}),
            since=runs[0].finished_at,
            last_reason=runs[-1].failure_reason,
        )
        for region, runs in sorted(by_region.items())
        if region not in covered
    ]


# --- Gaps: one gap's page, and what the gap list marks -----------------------------------------


def gap_roles(user, company_ids) -> dict[int, set[str]]:
    """The user's roles per company among `company_ids` (one query for a whole page of gaps)."""
    roles: dict[int, set[str]] = {}
    for company_id, role in Membership.objects.filter(user=user, company_id__in=set(company_ids)).values_list(
        "company_id", "role"
    ):
        roles.setdefault(company_id, set()).add(role)
    return roles


def member_roles(user) -> dict[int, set[str]]:
    """The user's roles in each of their companies, in one query."""
    roles: dict[int, set[str]] = {}
    if user.is_authenticated:
        for company_id, role in Membership.objects.filter(user=user).values_list("company_id", "role"):
            roles.setdefault(company_id, set()).add(role)
    return roles


def gaps_of(company_ids):
    """The gaps of these companies (the user's, from `member_roles`): the same rows as
    `Gap.objects.for_user`, but by company id, so that for someone in one company the list's
    order is read from the `gap_list` index instead of sorting the company's every gap."""
    return Gap.objects.filter(company_id__in=sorted(company_ids))


def open_requests_by_gap(gap_ids) -> dict[int, list[ReissueRequest]]:
    """The live reissue requests (draft to approved) holding each of these gaps, in one query."""
    from .reissue.services import ACTIVE_STATES

    held: dict[int, list[ReissueRequest]] = {}
    items = (
        ReissueItem.objects.filter(gap_id__in=list(gap_ids), request__state__in=ACTIVE_STATES)
        .select_related("request")
        .order_by("request_id")
    )
    for item in items:
        held.setdefault(item.gap_id, []).append(item.request)
    return held


def gap_for_page(user, pk: int) -> Gap:
    """One gap with everything its page shows beside it; another company's gap does not exist."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        Gap.objects.for_user(user).select_related(
            "company",
            "invoice",
            "tax_record",
            "suggested_tax_record",
            "suggested_invoice",
            "decided_by",
            "assignee",
            "first_seen_run",
            "last_seen_run",
            "resolved_by_run",
        ),
        pk=pk,
    )


def gap_runs(gap: Gap) -> list[ReconciliationRun]:
    """Every run that saw the gap: the company's runs of its direction whose period covers its issue
    date, from the run that first found it to the last that saw it, and the one that resolved it."""
    seen = Q(
        company_id=gap.company_id,
        direction=gap.direction,
        period_start__lte=gap.issue_date,
        period_end__gte=gap.issue_date,
        pk__gte=gap.first_seen_run_id,
        pk__lte=gap.last_seen_run_id,
        state__in=[RunState.SUCCEEDED, RunState.PARTIAL],
    )
    if gap.resolved_by_run_id:
        seen |= Q(pk=gap.resolved_by_run_id)
    return list(ReconciliationRun.objects.filter(seen).select_related("created_by").order_by("created_at", "id"))


def gap_requests(gap: Gap) -> list[ReissueItem]:
    """Every reissue request that holds the gap, live or not, newest first."""
    return list(ReissueItem.objects.filter(gap=gap).select_related("request").order_by("-request__created_at"))


@dataclass(frozen=True)
class RuleOutcome:
    position: int
    name: str
    matched: bool
    why: str


def gap_rule_outcomes(gap: Gap, rules: list[MatchRule]) -> list[RuleOutcome]:
    """Why each matching rule, in the order the engine tries them, did or did not pair the gap."""
    kind = gap.kind
    one_sided = kind in (GapKind.ONLY_IN_BOOKS, GapKind.ONLY_IN_TAX_SYSTEM)
    other_side = _("the tax system") if kind == GapKind.ONLY_IN_BOOKS else _("our books")
    suggestion = gap.suggested_tax_record_id or gap.suggested_invoice_id
    field = {
        GapKind.AMOUNT_MISMATCH: _("the amount, tax or total differs by more than the tolerance"),
        GapKind.STATUS_MISMATCH: _("the status (normal, voided, red-letter) differs"),
        GapKind.COUNTERPARTY_MISMATCH: _("the seller or buyer tax ID differs"),
    }.get(kind, "")
    outcomes = []
    for rule in rules:
        if kind == GapKind.POSSIBLE_DUPLICATE:
            matched = rule.method == MatchRule.Method.FUZZY
            why = (
                _("Another invoice has the same seller, buyer, date and total under a different number.")
                if matched
                else _("Not a question of this rule: the invoice is in our books more than once.")
            )
        elif rule.method == MatchRule.Method.EXACT:
            matched = not one_sided
            why = (
                _("No record in %(side)s has this invoice code and number.") % {"side": other_side}
                if one_sided
                else _("Found the same invoice number, but %(what)s.") % {"what": field}
            )
        elif rule.method == MatchRule.Method.NORMALISED:
            matched = not one_sided
            why = (
                _("No record in %(side)s has this normalised key (数电 number, or code and number).")
                % {"side": other_side}
                if one_sided
                else _("Paired by the normalised key, but %(what)s.") % {"what": field}
            )
        else:
            matched = bool(suggestion)
            if not one_sided:
                why = _("Not needed: the invoice was already paired by its number.")
            elif suggestion:
                why = _(
                    "Suggests a record with the same seller, buyer and total within %(days)s days, "
                    "for a person to accept."
                ) % {"days": settings.RECONCILE_FUZZY_DAYS}
            else:
                why = _("No unmatched record with the same seller, buyer and total within %(days)s days.") % {
                    "days": settings.RECONCILE_FUZZY_DAYS
                }
        if not rule.enabled:
            matched, why = False, _("This rule is switched off.")
        outcomes.append(RuleOutcome(rule.position, rule.get_method_display(), matched, why))
    return outcomes


@dataclass(frozen=True)
class SideBySideRow:
    label: str
    ours: object
    theirs: object
    differs: bool


def gap_sides(gap: Gap) -> dict:
    """Our record and the tax system's, field by field. A side the gap lacks shows the fuzzy rule's
    suggestion when there is one (marked as such), else nothing."""
    ours, ours_suggested = gap.invoice, False
    theirs, theirs_suggested = gap.tax_record, False
    if ours is None and gap.suggested_invoice is not None:
        ours, ours_suggested = gap.suggested_invoice, True
    if theirs is None and gap.suggested_tax_record is not None:
        theirs, theirs_suggested = gap.suggested_tax_record, True
    fields = [
        ("invoice_key", _("Invoice number")),
        ("issue_date", _("Issue date")),
        ("issued_at", _("Issue time")),
        ("seller_name", _("Seller")),
        ("seller_tax_id", _("Seller tax ID")),
        ("buyer_name", _("Buyer")),
        ("buyer_tax_id", _("Buyer tax ID")),
        ("amount", _("Amount")),
        ("tax", _("Tax")),
        ("total", _("Total")),
        ("status", _("Invoice status")),
    ]
    rows = []
    for name, label in fields:
        a = _shown(ours, name)
        b = _shown(theirs, name)
        rows.append(SideBySideRow(label, a, b, ours is not None and theirs is not None and a != b))
    return {
        "rows": rows,
        "ours": ours,
        "theirs": theirs,
        "ours_suggested": ours_suggested,
        "theirs_suggested": theirs_suggested,
    }


def _shown(record, name: str) -> str | None:
    """The value as the page shows it (so two sides compare as a reader compares them)."""
    if record is None:
        return None
    if name == "status":
        return str(record.get_status_display())
    value = getattr(record, name)
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


# --- The home page: each role's own work ------------------------------------------------------

TREND_DAYS = 30


def gap_figures(user, *, today: date) -> dict:
    """Open gaps, amount at risk, and how many gaps were open at the end of each of the last 30 days:
    one query over the user's gap summary (`GapSummary`), whatever the number of gaps.

    The summary groups gaps by the day each was found and the day it closed (resolved, or dismissed;
    whichever came first); the 30 counts are sums over those groups. Groups closed before the 30 days
    began count on none of them and are left out."""
    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    groups = (
        GapSummary.objects.for_user(user)
        .filter(Q(is_open=True) | Q(is_open=False, closed_on__gt=days[0], found_on__lte=days[-1]))
        .values("found_on", "closed_on", "is_open")
        .annotate(n=Sum("gaps"), amount=Sum("amount_at_risk"))
        .order_by()
    )
    n, amount, trend = 0, Decimal("0"), [0] * TREND_DAYS
    for group in groups:
        if group["is_open"]:
            n += group["n"]
            amount += group["amount"] or Decimal("0")
        found, closed = group["found_on"], group["closed_on"]  # closed: date.max while not closed
        for i, day in enumerate(days):  # open at the end of `day`: found by then, not closed by then
            if found <= day < closed:
                trend[i] += group["n"]
    return {"open": n, "amount": amount, "trend": list(zip(days, trend, strict=True))}


def gaps_by_kind(user) -> list[dict]:
    """Open gaps and their amount at risk per kind (from the summary)."""
    labels = dict(GapKind.choices)
    return [
        {"kind": r["kind"], "label": labels.get(r["kind"], r["kind"]), "n": r["n"], "amount": r["amount"]}
        for r in GapSummary.objects.for_user(user)
        .filter(is_open=True)
        .values("kind")
        .annotate(n=Sum("gaps"), amount=Sum("amount_at_risk"))
        .order_by("kind")
    ]


def gaps_by_incident(user, limit: int = 20) -> list[dict]:
    """Open gaps and their amount at risk per window that explains them, most gaps first (from the
    summary; gaps no window explains are one row, its incident_id None)."""
    rows = list(
        GapSummary.objects.for_user(user)
        .filter(is_open=True)
        .values("incident_kind", "incident_id", "incident_title", "incident_url")
        .annotate(n=Sum("gaps"), amount=Sum("amount_at_risk"))
        .order_by("-n", "incident_kind", "incident_id", "incident_title", "incident_url")[:limit]
    )
    for row in rows:
        row["incident_id"] = row["incident_id"] or None  # the summary's 0: no window
    return rows


def waiting_for_review(user) -> list[ReissueRequest]:
    """Submitted reissue requests of the companies the user reviews, oldest first."""
    from .reissue.models import ReviewState

    return list(
        ReissueRequest.objects.for_user(user, roles=[Role.REVIEWER])
        .filter(state=ReviewState.SUBMITTED)
        .select_related("company", "created_by")
        .order_by("submitted_at", "id")[:20]
    )


def waiting_count(user) -> int:
    from .reissue.models import ReviewState

    return ReissueRequest.objects.for_user(user).filter(state=ReviewState.SUBMITTED).count()


def company_rows(user, *, now: datetime) -> list[dict]:
    """Per company: its last run, last backup import and last tax-system fetch (four queries)."""
    from invoices.models import BatchState, ImportBatch, ImportKind, TaxSource

    companies = list(Company.objects.for_user(user).order_by("name"))
    last_runs = {r.company_id: r for r in ReconciliationRun.objects.filter(company__in=companies).latest_per_company()}
    backups = dict(
        ImportBatch.objects.filter(company__in=companies, kind=ImportKind.BACKUP, state=BatchState.SUCCEEDED)
        .values("company")
        .annotate(last=Max("finished_at"))
        .values_list("company", "last")
    )
    fetches = dict(TaxSource.objects.filter(company__in=companies).values_list("company", "last_fetch_at"))
    stale_before = now - timedelta(days=settings.STALE_BACKUP_DAYS)
    return [
        {
            "company": c,
            "run": last_runs.get(c.pk),
            "backup": backups.get(c.pk),
            "fetch": fetches.get(c.pk),
            "stale": backups.get(c.pk) is None or backups[c.pk] < stale_before,
        }
        for c in companies
    ]


def newest(rows: list[dict], key: str) -> datetime | None:
    moments = [row[key] for row in rows if row[key] is not None]
    return max(moments) if moments else None


def notices_to_confirm(*, now: datetime) -> list:
    """Maintenance notices whose window has passed but which still read as scheduled or under way:
    a notice admin confirms they ended (or were extended)."""
    from notices.models import MaintenanceNotice, NoticeState

    return list(
        MaintenanceNotice.objects.filter(
            state__in=[NoticeState.SCHEDULED, NoticeState.IN_PROGRESS, NoticeState.EXTENDED], window_end__lt=now
        )
        .select_related("system")
        .order_by("window_end")[:50]
    )


def open_incidents() -> list[Incident]:
    return list(Incident.objects.active().select_related("system").order_by("-started_at")[:50])


def failing_sources() -> list:
    """Companies whose tax-system source failed on its last fetch (site-wide, for notice admins)."""
    from invoices.models import TaxSource

    return list(
        TaxSource.objects.exclude(last_fetch_error="")
        .select_related("company")
        .order_by("company__region", "company__name")[:50]
    )


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: int
    points: str
    dots: list
    y_ticks: list
    x_ticks: list


def trend_chart(series: list[tuple[date, int]]) -> Chart:
    """An SVG line of open gaps per day, drawn on the server: dated x axis, counted y axis, a <title>
    on each point for its value on hover (no script, nothing fetched)."""
    width, height, left, right, top_pad, bottom = 900, 240, 48, 16, 14, 32
    top = max([n for _day, n in series] or [0])
    step = _nice_step(top)
    y_max = max(step * ((top + step - 1) // step), step)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    x_step = plot_w / max(len(series) - 1, 1)

    def y(n: int) -> float:
        return top_pad + plot_h - (n / y_max) * plot_h

    dots = [
        {"x": f"{left + i * x_step:.1f}", "y": f"{y(n):.1f}", "day": day, "n": n} for i, (day, n) in enumerate(series)
    ]
    y_ticks = [{"y": f"{y(v):.1f}", "value": v} for v in range(0, y_max + 1, step)]
    x_ticks = [
        {"x": f"{left + i * x_step:.1f}", "day": day}
        for i, (day, _n) in enumerate(series)
        if i % 7 == (len(series) - 1) % 7
    ]
    return Chart(
        width,
        height,
        left,
        height - bottom,
        " ".join(f"{d['x']},{d['y']}" for d in dots),
        dots,
        y_ticks,
        x_ticks,
    )


def _nice_step(top: int) -> int:
    """A round gridline step giving at most five lines up to `top`."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000):
        if top <= step * 4:
            return step
    return 10 ** len(str(top))
