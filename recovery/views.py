"""Pages: the finance dashboard (home page), the gap list with bulk actions, and gap export."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from invoices.models import Direction
from notices.selectors import dashboard_panels
from outage_portal.forms import form_add_service_errors, row_ids
from outage_portal.models import Company
from outage_portal.pages import filtered_page
from outage_portal.spreadsheets import Column, csv_response, xlsx_response

from . import selectors, services
from .deferred.reminders import deferred_filing_reminders
from .filters import GapFilter
from .forms import RunForm
from .models import GAP_LIST_ORDER, OPEN_GAP_STATES, Gap, GapKind, GapStatus, MatchRule, ReconciliationRun
from .reissue.services import ACTIVE_STATES, DRAFTERS


@login_required
def dashboard(request):
    """Each role's own work: figures and gaps for company members, the review queue for reviewers,
    notices to confirm, open incidents and failing sources for notice admins."""
    user, now = request.user, timezone.now()
    member = Company.objects.for_user(user).exists()
    context: dict = {"member": member, "is_notice_admin": user.is_notice_admin}
    if member:
        figures = selectors.gap_figures(user, today=timezone.localdate())
        rows = selectors.company_rows(user, now=now)
        context.update(
            figures=figures,
            trend=selectors.trend_chart(figures["trend"]),
            waiting=selectors.waiting_count(user),
            review_queue=selectors.waiting_for_review(user),
            last_backup=selectors.newest(rows, "backup"),
            last_fetch=selectors.newest(rows, "fetch"),
            by_kind=selectors.gaps_by_kind(user),
            by_incident=selectors.gaps_by_incident(user),
            company_rows=rows,
            stale_days=settings.STALE_BACKUP_DAYS,
            filing_reminders=deferred_filing_reminders(user=user),
            status_panels=dashboard_panels(now=now),
        )
    if user.is_notice_admin:
        context.update(
            incident_suggestions=selectors.incident_suggestions(now=now),
            notices_to_confirm=selectors.notices_to_confirm(now=now),
            open_incidents=selectors.open_incidents(),
            failing_sources=selectors.failing_sources(),
        )
    return render(request, "recovery/dashboard.html", context)


def _filtered(request, roles: dict[int, set[str]] | None = None):
    gaps = Gap.objects.for_user(request.user) if roles is None else selectors.gaps_of(roles)
    qs = gaps.select_related("company", "assignee").order_by(*GAP_LIST_ORDER)
    return GapFilter(request.GET or None, queryset=qs, request=request)


def _can_decide_any(user) -> bool:
    """Whether the person decides about gaps in any of their companies (bulk actions, run form)."""
    return Company.objects.for_user(user, roles=services.GAP_DECIDERS).exists()


@login_required
def gap_list(request):
    roles = selectors.member_roles(request.user)  # one query for the scope and both "may" checks
    filterset = _filtered(request, roles)
    page = filtered_page(request, filterset, deferred=True)
    may_decide = any(held & set(services.GAP_DECIDERS) for held in roles.values())
    may_draft = any(held & set(DRAFTERS) for held in roles.values())
    held = selectors.open_requests_by_gap(gap.pk for gap in page)
    for gap in page:
        gap.open_requests = held.get(gap.pk, [])
    return render(
        request,
        "recovery/gap_list.html",
        {"filter": filterset, "page": page, "may_decide": may_decide, "may_draft": may_draft},
    )


@login_required
def gap_detail(request, pk: int):
    gap = selectors.gap_for_page(request.user, pk)
    roles = selectors.gap_roles(request.user, [gap.company_id]).get(gap.company_id, set())
    items = selectors.gap_requests(gap)
    return render(
        request,
        "recovery/gap_detail.html",
        {
            "gap": gap,
            "may_decide": bool(roles & set(services.GAP_DECIDERS)),
            "may_draft": bool(roles & set(DRAFTERS)),
            "rules": selectors.gap_rule_outcomes(gap, list(MatchRule.objects.order_by("position"))),
            "runs": selectors.gap_runs(gap),
            "items": items,
            "open_items": [i for i in items if i.request.state in ACTIVE_STATES],
            "comments": gap.comments.select_related("author"),
            "sides": selectors.gap_sides(gap),
            "is_open": gap.status in OPEN_GAP_STATES,
        },
    )


def _gap_actions(user, reason: str) -> dict:
    return {
        "acknowledge": lambda gap: services.gap_acknowledge(gap=gap, user=user),
        "dismiss": lambda gap: services.gap_dismiss(gap=gap, reason=reason, user=user),
        "assign_me": lambda gap: services.gap_assign(gap=gap, assignee=user, user=user),
        "accept_suggestion": lambda gap: services.gap_accept_suggestion(gap=gap, user=user),
    }


def _apply(request, gaps: list[Gap], action: str) -> bool:
    """Apply one decision to every gap, all or none; say what happened. True when applied."""
    apply = _gap_actions(request.user, request.POST.get("reason", "")).get(action)
    if apply is None:
        messages.error(request, _("Choose what to do with the selected gaps."))
        return False
    try:
        with transaction.atomic():  # one refused gap leaves every selected gap as it was
            for gap in gaps:
                apply(gap)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Only accountants and company admins decide about gaps."))
        return False
    return True


def _start_reissue(request, gap_ids: list[int]):
    """The reissue form opens with these gaps ticked; the ids travel in the session, not in a URL."""
    request.session["reissue_gaps"] = gap_ids
    return redirect("recovery:reissue-request-new")


@login_required
@require_POST
def gap_bulk(request):
    ids = row_ids(request.POST.getlist("ids"))
    action = request.POST.get("action", "")
    if not ids:
        messages.error(request, _("Tick at least one gap first."))
        return redirect(request.POST.get("next") if _safe_next(request) else "recovery:recovery-gap-list")
    if request.POST.get("reissue"):
        mine = list(Gap.objects.for_user(request.user, roles=DRAFTERS).filter(pk__in=ids).values_list("pk", flat=True))
        if not mine:
            messages.error(request, _("Only accountants prepare reissue requests."))
            return redirect("recovery:recovery-gap-list")
        return _start_reissue(request, mine)
    if not _can_decide_any(request.user):
        # The page offers no decision to this person; a crafted POST is refused outright.
        raise PermissionDenied(_("Only accountants and company admins decide about gaps."))
    visible = Gap.objects.for_user(request.user).filter(pk__in=ids)
    gaps = list(Gap.objects.for_user(request.user, roles=services.GAP_DECIDERS).filter(pk__in=ids))
    if len(gaps) < visible.count():
        messages.error(request, _("Only accountants and company admins decide about gaps."))
    elif _apply(request, gaps, action):
        messages.success(
            request,
            ngettext("%(n)s gap updated.", "%(n)s gaps updated.", len(gaps)) % {"n": len(gaps)},
        )
    return redirect(request.POST.get("next") if _safe_next(request) else "recovery:recovery-gap-list")


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


@login_required
@require_POST
def gap_act(request, pk: int):
    """One gap's page: a decision, a comment, or a reissue request started from it."""
    gap = selectors.gap_for_page(request.user, pk)
    action = request.POST.get("action", "")
    if action == "comment":
        try:
            services.gap_comment(gap=gap, body=request.POST.get("body", ""), user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Comment added."))
        return redirect("recovery:recovery-gap-detail", pk=gap.pk)
    if action == "reissue":
        if not Gap.objects.for_user(request.user, roles=DRAFTERS).filter(pk=gap.pk).exists():
            messages.error(request, _("Only accountants prepare reissue requests."))
            return redirect("recovery:recovery-gap-detail", pk=gap.pk)
        return _start_reissue(request, [gap.pk])
    if not Gap.objects.for_user(request.user, roles=services.GAP_DECIDERS).filter(pk=gap.pk).exists():
        messages.error(request, _("Only accountants and company admins decide about gaps."))
    elif _apply(request, [gap], action):
        messages.success(request, _("Gap updated."))
    return redirect("recovery:recovery-gap-detail", pk=gap.pk)


def export_columns() -> list[Column]:
    """The gap export's columns, headed in the reader's language."""
    return [
        Column(_("Company"), width=28),
        Column(_("Direction"), width=8),
        Column(_("Kind"), width=16),
        Column(_("Invoice number"), width=24),
        Column(_("Issue date"), "date", width=12),
        Column(_("Amount at risk"), "money", width=14, total=True),
        Column(_("Status"), width=10),
        Column(_("Assignee"), width=12),
        Column(_("Incident or maintenance"), width=30),
        Column(_("First seen"), "datetime", width=17),
        Column(_("Why"), width=60),
    ]


def _export_rows(qs):
    """Each gap as a reader says it: names, not codes; the explanation in the reader's language."""
    kinds, statuses, directions = dict(GapKind.choices), dict(GapStatus.choices), dict(Direction.choices)
    for gap in qs.iterator(chunk_size=2000):
        yield [
            gap.company.name,
            str(directions.get(gap.direction, gap.direction)),
            str(kinds.get(gap.kind, gap.kind)),
            gap.invoice_key,
            gap.issue_date,
            gap.amount_at_risk,
            str(statuses.get(gap.status, gap.status)),
            str(gap.assignee) if gap.assignee else "",
            gap.incident_title,
            gap.first_seen_at,
            _(gap.explanation) if gap.explanation else "",
        ]


@login_required
def gap_export(request, fmt: str):
    qs = _filtered(request).qs
    stamp = timezone.localdate().strftime("%Y%m%d")
    if fmt == "csv":
        return csv_response(f"gaps-{stamp}.csv", export_columns(), _export_rows(qs))
    return xlsx_response(f"gaps-{stamp}.xlsx", _("Reconciliation gaps"), export_columns(), _export_rows(qs))


# --- Reconciliation runs -------------------------------------------------------------------------


@login_required
def run_list(request):
    """Runs of the person's companies, newest first, and the form to start one (deciders only)."""
    can_start = _can_decide_any(request.user)
    form = RunForm(request.POST or None, user=request.user) if can_start else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Only accountants and company admins of this company start reconciliation runs."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = services.reconciliation_run_create(
                    company=data["company"],
                    direction=data["direction"],
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    user=request.user,
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Reconciliation run queued."))
                return redirect("recovery:recovery-run-detail", pk=run.pk)
    runs = ReconciliationRun.objects.for_user(request.user).select_related("company").order_by("-created_at", "-id")
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return render(request, "recovery/run_list.html", {"page": page, "form": form})


@login_required
def run_detail(request, pk: int):
    run = get_object_or_404(
        ReconciliationRun.objects.for_user(request.user).select_related("company", "created_by"), pk=pk
    )
    labels = dict(GapKind.choices)
    counts = [(labels[kind], run.counts.get(kind, 0)) for kind in GapKind.values]
    return render(request, "recovery/run_detail.html", {"run": run, "counts": counts})
