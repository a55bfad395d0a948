"""Pages: the finance dashboard (home page), the gap list with bulk actions, and gap export."""

from __future__ import annotations

import csv
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invoices.models import BatchState, ImportBatch, ImportKind
from notices.selectors import dashboard_panels
from outage_portal.forms import form_add_service_errors, row_ids
from outage_portal.models import Company
from outage_portal.pages import filtered_page
from outage_portal.spreadsheets import escape_cell

from . import selectors, services
from .filters import DiscrepancyFilter
from .forms import RunForm
from .models import Discrepancy, GapKind, GapStatus, ReconciliationRun
from .reissue.reminders import deferred_filing_reminders

OPEN = [GapStatus.OPEN, GapStatus.ACKNOWLEDGED]


def _trend_svg(points: list[tuple[str, int]]) -> dict:
    """Server-side SVG polyline of new gaps per day (no CDN)."""
    width, height = 600, 120
    top = max([n for _d, n in points] or [0]) or 1
    step = width / max(len(points) - 1, 1)
    coords = " ".join(f"{i * step:.1f},{height - (n / top) * (height - 10):.1f}" for i, (_d, n) in enumerate(points))
    return {"width": width, "height": height, "points": coords, "top": top, "days": points}


@login_required
def dashboard(request):
    companies = list(Company.objects.for_user(request.user).order_by("name"))
    gaps = Discrepancy.objects.for_user(request.user).filter(status__in=OPEN)
    labels = dict(GapKind.choices)
    by_kind = [
        {"kind": row["kind"], "label": labels.get(row["kind"], row["kind"]), "n": row["n"], "amount": row["amount"]}
        for row in gaps.values("kind").annotate(n=Count("id"), amount=Sum("amount_at_risk")).order_by("kind")
    ]
    by_incident = list(
        gaps.values("incident_kind", "incident_id", "incident_title", "incident_url")
        .annotate(n=Count("id"), amount=Sum("amount_at_risk"))
        .order_by("-n")[:20]
    )
    totals = gaps.aggregate(n=Count("id"), amount=Sum("amount_at_risk"))
    today = timezone.localdate()
    since = today - timedelta(days=29)
    per_day = dict(
        Discrepancy.objects.for_user(request.user)
        .filter(first_seen_at__date__gte=since)
        .annotate(day=TruncDate("first_seen_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    trend = _trend_svg([(str(since + timedelta(days=i)), per_day.get(since + timedelta(days=i), 0)) for i in range(30)])
    last_runs = {r.company_id: r for r in ReconciliationRun.objects.filter(company__in=companies).latest_per_company()}
    backups = dict(
        ImportBatch.objects.filter(company__in=companies, kind=ImportKind.BACKUP, state=BatchState.SUCCEEDED)
        .values("company")
        .annotate(last=Max("finished_at"))
        .values_list("company", "last")
    )
    stale_before = timezone.now() - timedelta(days=settings.STALE_BACKUP_DAYS)
    rows = [
        {
            "company": c,
            "run": last_runs.get(c.pk),
            "backup": backups.get(c.pk),
            "stale": backups.get(c.pk) is None or backups[c.pk] < stale_before,
        }
        for c in companies
    ]
    return render(
        request,
        "recovery/dashboard.html",
        {
            "status_panels": dashboard_panels(now=timezone.now()),
            "incident_suggestions": (
                selectors.incident_suggestions(now=timezone.now()) if request.user.is_notice_admin else []
            ),
            "by_kind": by_kind,
            "by_incident": by_incident,
            "totals": totals,
            "trend": trend,
            "company_rows": rows,
            "stale_days": settings.STALE_BACKUP_DAYS,
            "filing_reminders": deferred_filing_reminders(user=request.user),  # issue 7
        },
    )


def _filtered(request):
    qs = (
        Discrepancy.objects.for_user(request.user)
        .select_related("company", "assignee")
        .order_by("-last_seen_at", "-id")
    )
    return DiscrepancyFilter(request.GET or None, queryset=qs, request=request)


def _can_decide_any(user) -> bool:
    """Whether the person decides about gaps in any of their companies (bulk actions, run form)."""
    return Company.objects.for_user(user, roles=services.DECIDERS).exists()


@login_required
def gap_list(request):
    filterset = _filtered(request)
    return render(
        request,
        "recovery/gap_list.html",
        {"filter": filterset, "page": filtered_page(request, filterset), "can_decide": _can_decide_any(request.user)},
    )


@login_required
@require_POST
def gap_bulk(request):
    if not _can_decide_any(request.user):
        raise PermissionDenied(_("Only accountants and company admins of this company decide about gaps."))
    gaps = list(Discrepancy.objects.for_user(request.user).filter(pk__in=row_ids(request.POST.getlist("ids"))))
    user, reason = request.user, request.POST.get("reason", "")
    actions = {
        "acknowledge": lambda gap: services.discrepancy_acknowledge(discrepancy=gap, user=user),
        "dismiss": lambda gap: services.discrepancy_dismiss(discrepancy=gap, reason=reason, user=user),
        "assign_me": lambda gap: services.discrepancy_assign(discrepancy=gap, assignee=user, user=user),
    }
    apply = actions.get(request.POST.get("action", ""))
    if apply is None:
        messages.error(request, _("Choose what to do with the selected gaps."))
        return redirect("recovery-gap-list")
    try:
        with transaction.atomic():  # one refused gap leaves every selected gap as it was
            for gap in gaps:
                apply(gap)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:  # a company of the selection where this person only reads
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(n)s gaps updated.") % {"n": len(gaps)})
    return redirect("recovery-gap-list")


EXPORT_HEADER = [
    "company",
    "direction",
    "kind",
    "invoice_key",
    "issue_date",
    "amount_at_risk",
    "status",
    "window",
    "explanation",
]


def _export_rows(qs):
    for gap in qs.iterator(chunk_size=2000):
        yield [
            escape_cell(v)
            for v in (
                gap.company.credit_code,
                gap.direction,
                gap.kind,
                gap.invoice_key,
                gap.issue_date.isoformat(),
                str(gap.amount_at_risk),
                gap.status,
                gap.incident_title,
                gap.explanation,
            )
        ]


@login_required
def gap_export(request, fmt: str):
    qs = _filtered(request).qs
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="gaps.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(EXPORT_HEADER)
        writer.writerows(_export_rows(qs))
        return response
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("gaps")
    ws.append(EXPORT_HEADER)
    for row in _export_rows(qs):
        ws.append(row)
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="gaps.xlsx"'
    wb.save(response)
    return response


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
                return redirect("recovery-run-detail", pk=run.pk)
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
