"""Reads for pages that look across companies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notices.models import Incident
from outage_portal.models import Company, Membership, Role

from .models import (
    Discrepancy,
    FailureKind,
    GapKind,
    MatchRule,
    ReconciliationRun,
    ReissueItem,
    ReissueRequest,
    RunState,
)


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

# Who may decide about a gap (acknowledge, dismiss, assign, accept a suggestion) and who starts
# reissue requests; finance staff and reviewers read.
GAP_DECIDERS = (Role.ACCOUNTANT, Role.COMPANY_ADMIN)


def gap_roles(user, company_ids) -> dict[int, set[str]]:
    """The user's roles per company among `company_ids` (one query for a whole page of gaps)."""
    roles: dict[int, set[str]] = {}
    for company_id, role in Membership.objects.filter(user=user, company_id__in=set(company_ids)).values_list(
        "company_id", "role"
    ):
        roles.setdefault(company_id, set()).add(role)
    return roles


def user_may_decide(user) -> bool:
    return Company.objects.for_user(user, roles=GAP_DECIDERS).exists()


def user_may_draft_reissue(user) -> bool:
    from .reissue.services import DRAFTERS

    return Company.objects.for_user(user, roles=DRAFTERS).exists()


def open_requests_by_gap(gap_ids) -> dict[int, list[ReissueRequest]]:
    """The live reissue requests (draft to approved) holding each of these gaps, in one query."""
    from .reissue.services import ACTIVE_STATES

    held: dict[int, list[ReissueRequest]] = {}
    items = (
        ReissueItem.objects.filter(discrepancy_id__in=list(gap_ids), request__state__in=ACTIVE_STATES)
        .select_related("request")
        .order_by("request_id")
    )
    for item in items:
        held.setdefault(item.discrepancy_id, []).append(item.request)
    return held


def gap_for_page(user, pk: int) -> Discrepancy:
    """One gap with everything its page shows beside it; another company's gap does not exist."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        Discrepancy.objects.for_user(user).select_related(
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


def gap_runs(gap: Discrepancy) -> list[ReconciliationRun]:
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


def gap_requests(gap: Discrepancy) -> list[ReissueItem]:
    """Every reissue request that holds the gap, live or not, newest first."""
    return list(ReissueItem.objects.filter(discrepancy=gap).select_related("request").order_by("-request__created_at"))


@dataclass(frozen=True)
class RuleOutcome:
    position: int
    name: str
    matched: bool
    why: str


def gap_rule_outcomes(gap: Discrepancy, rules: list[MatchRule]) -> list[RuleOutcome]:
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


def gap_sides(gap: Discrepancy) -> dict:
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
