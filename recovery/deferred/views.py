"""Pages for deferred-filing applications: list, edit, detail, workflow moves and the PDF.

Small function views: parse input, call a service, render or redirect. Every lookup goes through
`for_user`, so another company's id is a 404. Role and state rules are the services'.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from notices.models import FilingDeadline
from outage_portal.forms import row_id
from outage_portal.models import Company
from outage_portal.pages import filtered_page
from outage_portal.timefmt import local_text

from ..reissue.services import DRAFTERS, incident_timeline
from ..reissue.views import _form_add_refusal, _pdf_response, _transition_page, _workflow_roles
from . import pack, services
from .filters import DeferredFilingFilter
from .forms import DeferredFilingForm
from .models import DeferredFiling


@login_required
def deferred_list(request):
    queryset = DeferredFiling.objects.for_user(request.user).select_related("company", "incident", "created_by")
    filterset = DeferredFilingFilter(request.GET or None, queryset=queryset, request=request)
    page = filtered_page(request, filterset)
    can_draft = Company.objects.for_user(request.user, roles=DRAFTERS).exists()
    return render(
        request,
        "recovery/deferred/deferred_list.html",
        {"filter": filterset, "page": page, "can_draft": can_draft},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deferred_edit(request, pk: int | None = None):
    application = None
    initial: dict = {}
    if pk is not None:
        application = get_object_or_404(DeferredFiling.objects.for_user(request.user), pk=pk)
        if not application.is_editable:
            messages.error(request, _("%(number)s can no longer be changed.") % {"number": application.number})
            return redirect("recovery:deferred-filing-detail", pk=pk)
        initial = {f: getattr(application, f) for f in services.DEFERRED_UPDATABLE}
        initial["company"] = application.company_id
    else:
        initial = _deferred_initial(request)
    form = DeferredFilingForm(request.POST or None, user=request.user, application=application, initial=initial)
    if not form.fields["company"].queryset.exists():
        raise PermissionDenied(_("Only accountants prepare deferred-filing applications."))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        company = data.pop("company")
        try:
            with transaction.atomic():
                if application is None:
                    application = services.deferred_filing_create(company=company, user=request.user, **data)
                else:
                    application = services.deferred_filing_update(application=application, user=request.user, **data)
                if request.POST.get("intent") == "submit":
                    services.deferred_filing_submit(application=application, user=request.user)
        except (ValidationError, PermissionDenied) as exc:
            _form_add_refusal(form, exc)
        else:
            messages.success(request, _("%(number)s saved.") % {"number": application.number})
            return redirect("recovery:deferred-filing-detail", pk=application.pk)
    return render(request, "recovery/deferred/deferred_form.html", {"form": form, "application": application})


def _deferred_initial(request) -> dict:
    """Prefill from the dashboard reminder: ?incident=<id>&deadline=<FilingDeadline id>&company=<id>."""
    from notices.models import Incident

    initial: dict = {}
    if (company_id := row_id(request.GET.get("company", ""))) is not None:
        initial["company"] = company_id
    incident = None
    if (incident_id := row_id(request.GET.get("incident", ""))) is not None:
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is not None:
            initial["incident"] = incident.pk
    if (deadline_id := row_id(request.GET.get("deadline", ""))) is not None:
        deadline = FilingDeadline.objects.filter(pk=deadline_id).first()
        if deadline is not None:
            initial.update({"period": deadline.period, "tax_type": deadline.tax_type, "deadline": deadline.deadline})
    if incident is not None:
        initial["reason"] = _(
            "The tax system was unavailable (%(title)s, from %(start)s); we could not file before the deadline."
        ) % {"title": incident.title, "start": local_text(incident.started_at)}
    return initial


@login_required
def deferred_detail(request, pk: int):
    application = get_object_or_404(
        DeferredFiling.objects.for_user(request.user).select_related(
            "company", "incident", "created_by", "approved_by"
        ),
        pk=pk,
    )
    timeline = application.timeline_snapshot or incident_timeline(application.incident)
    return render(
        request,
        "recovery/deferred/deferred_detail.html",
        {
            "application": application,
            "timeline": timeline,
            "transitions": application.transitions.select_related("actor"),
            **_workflow_roles(request.user, application),
        },
    )


@login_required
@require_POST
def deferred_transition(request, pk: int, action: str):
    application = get_object_or_404(DeferredFiling.objects.for_user(request.user), pk=pk)
    return _transition_page(
        request,
        application,
        services.DEFERRED_FILING_MOVES[action],
        detail_url="recovery:deferred-filing-detail",
        refused_context={},
        application=application,
    )


@login_required
def deferred_pdf(request, pk: int):
    application = get_object_or_404(
        DeferredFiling.objects.for_user(request.user).select_related("company", "incident"), pk=pk
    )
    return _pdf_response(pack.deferred_filing_pdf(application), application.number)
