"""Pages of the foundation: companies and members, health."""

from __future__ import annotations

from functools import wraps

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from outage_portal import services
from outage_portal.forms import CompanyForm
from outage_portal.models import Company, Membership, Role, WorkerHeartbeat
from outage_portal.roles import has_role


@login_required
def company_list(request):
    companies = Company.objects.for_user(request.user).prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(user=request.user),
            to_attr="my_memberships",
        )
    )
    return render(request, "outage_portal/company_list.html", {"companies": companies})


@login_required
@require_http_methods(["GET", "POST"])
def company_detail(request, pk: int):
    company = get_object_or_404(Company.objects.for_user(request.user), pk=pk)
    can_edit = has_role(request.user, company, Role.COMPANY_ADMIN)
    form = CompanyForm(instance=company)
    if request.method == "POST":
        if not can_edit:
            messages.error(request, _("Only a company admin can change the company."))
            return redirect("portal:company-page-detail", pk=company.pk)
        form = CompanyForm(request.POST, instance=Company.objects.get(pk=company.pk))
        if form.is_valid():
            try:
                services.company_update(
                    company=company,
                    name=form.cleaned_data["name"],
                    region=form.cleaned_data["region"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Company saved."))
                return redirect("portal:company-page-detail", pk=company.pk)
    members = company.memberships.select_related("user").order_by("user__username", "role")
    return render(
        request,
        "outage_portal/company_detail.html",
        {"company": company, "members": members, "form": form, "can_edit": can_edit},
    )


def health(request):
    """Liveness for load balancers and compose health checks: database reachable, worker heartbeat age."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = WorkerHeartbeat.objects.filter(name="beat").first()
    age = (timezone.now() - beat.seen_at).total_seconds() if beat else None
    return JsonResponse({"database": "ok", "worker_heartbeat_age_seconds": age})


# Swagger UI with its set-up script served from a URL of its own (?script), not inline, for the CSP.
# No OPTIONS: its metadata would go through the page's HTML template renderer, which has no template
# for it (a 500); answered 405 instead.
_swagger = SpectacularSwaggerSplitView.as_view(url_name="portal:api-schema", metadata_class=None)


def _api_docs_page(view):
    """The API's documentation pages, like the schema they read: signed-in users only unless API_DOCS_PUBLIC."""

    @wraps(view)
    def page(request, *args, **kwargs):
        if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return page


api_docs = _api_docs_page(_swagger)


# Our template: the package's own preconnects to Google Fonts and starts ReDoc inline.
_redoc = SpectacularRedocView.as_view(url_name="portal:api-schema", template_name="api/redoc.html", metadata_class=None)


# ReDoc renders with styled-components, which writes its styles inline: allowed on this page alone,
# for styles only (scripts stay 'self').
api_redoc = csp_update({"style-src": ["'unsafe-inline'"]})(_api_docs_page(_redoc))


def too_many_files_message() -> str:
    return _("At most %(count)d files can be sent at once; send the others in another upload.") % {
        "count": settings.DATA_UPLOAD_MAX_NUMBER_FILES
    }


def bad_request(request, exception):
    """The 400 page; a form with more files than a request may carry says so, and how to go on."""
    from django.core.exceptions import TooManyFilesSent
    from django.views import defaults

    if isinstance(exception, TooManyFilesSent):
        return render(request, "400.html", {"message": too_many_files_message()}, status=400)
    return defaults.bad_request(request, exception)
