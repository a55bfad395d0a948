"""Public pages (a page per system, notice and incident; no login needed) and the notice admins'
pages under /manage/ (post, revise, cancel and extend notices; incidents; catalogue; tax calendar;
text templates). Views parse input, call a service, render or redirect."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from notices import forms, selectors, services
from notices.conflicts import notice_warnings, window_warnings
from notices.filters import IncidentFilter, NoticeFilter
from notices.grid import Function, function_labels, functions_include_any
from notices.models import (
    FilingDeadline,
    Incident,
    IncidentState,
    MaintenanceNotice,
    NoticeState,
    TaxSystem,
    TextTemplate,
    TextTemplateKind,
)
from notices.rendering import checklist_items
from outage_portal.forms import form_add_service_errors, row_id
from outage_portal.pages import filtered_page
from outage_portal.timefmt import local_text
from outage_portal.validators import is_digits, moment_allowed


def _duration(start, end) -> tuple[int, int]:
    minutes = int((end - start).total_seconds() // 60)
    return minutes // 60, minutes % 60


# --- Public pages ---------------------------------------------------------------------------------


def system_detail(request, slug: str):
    system = get_object_or_404(TaxSystem, slug=slug)
    context = selectors.system_page(system, timezone.now())
    context.update(
        system=system,
        status_groups=[{"region": "", "rows": [context["status"]]}],
        notices=system.notices.not_cancelled().order_by("-window_start")[:20],
        incidents_recent=system.incidents.order_by("-started_at")[:20],
    )
    return render(request, "notices/system_detail.html", context)


def notice_detail(request, pk: int):
    notice = get_object_or_404(MaintenanceNotice.objects.select_related("system", "created_by"), pk=pk)
    revisions = notice.revisions.select_related("changed_by").order_by("-number")
    now = timezone.now()
    state = services.notice_state_at(notice, now)
    hours, minutes = _duration(notice.window_start, notice.window_end)
    return render(
        request,
        "notices/notice_detail.html",
        {
            "notice": notice,
            "state": state,
            "state_label": NoticeState(state).label,
            "revisions": revisions,
            "warnings": notice_warnings(notice),
            "functions": function_labels(notice.functions),
            "alternatives": checklist_items(notice.alternatives),
            "contacts": checklist_items(notice.contacts),
            "preparation": checklist_items(notice.preparation_checklist),
            "recovery": checklist_items(notice.recovery_checklist),
            "hours": hours,
            "minutes": minutes,
            "can_manage": request.user.is_authenticated and request.user.is_notice_admin,
            "can_extend": state in services.RUNNING,
            "can_cancel": state not in (NoticeState.CANCELLED, NoticeState.COMPLETED),
        },
    )


def incident_detail(request, pk: int):
    incident = get_object_or_404(Incident.objects.select_related("system"), pk=pk)
    updates = incident.updates.select_related("posted_by").order_by("-posted_at", "-pk")
    hours, minutes = _duration(incident.started_at, incident.ended_at or timezone.now())
    return render(
        request,
        "notices/incident_detail.html",
        {
            "incident": incident,
            "updates": updates,
            "functions": function_labels(incident.functions),
            "hours": hours,
            "minutes": minutes,
            "can_manage": request.user.is_authenticated and request.user.is_notice_admin,
        },
    )


# --- Notice admins' pages -------------------------------------------------------------------------


def notice_admin_required(view):
    """Signed-in notice admins only; anyone else signed in gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_notice_admin:
            raise PermissionDenied(_("Only notice admins may do this."))
        return view(request, *args, **kwargs)

    return wrapper


@notice_admin_required
def manage_notice_list(request):
    queryset = MaintenanceNotice.objects.select_related("system").order_by("-window_start", "-pk")
    filterset = NoticeFilter(request.GET or None, queryset=queryset, request=request)
    page = filtered_page(request, filterset)
    now = timezone.now()
    for notice in page:
        notice.clock_state = NoticeState(services.notice_state_at(notice, now)).label
    return render(request, "notices/manage/notice_list.html", {"filter": filterset, "page": page})


def _proposal_initial(post, *, window_index: int) -> tuple[dict, object]:
    """Form values proposed from the pasted text, over what the admin already typed."""
    proposal, system = selectors.notice_text_proposal(text=post.get("original_text", ""))
    proposal.catalogue_system = system
    initial = {name: post.get(name, "") for name in post if name not in ("functions", "csrfmiddlewaretoken")}
    initial["functions"] = post.getlist("functions")
    if system:
        initial["system"] = system.pk
    if proposal.title and not initial.get("title"):
        initial["title"] = proposal.title
    if proposal.bureau and not initial.get("issuing_bureau"):
        initial["issuing_bureau"] = proposal.bureau
    if proposal.windows:
        window = proposal.windows[min(window_index, len(proposal.windows) - 1)]
        initial["window_start"] = window.start  # the field shows it in Beijing time
        initial["window_end"] = window.end
    if proposal.functions:
        initial["functions"] = proposal.functions
    initial.pop("confirm_warnings", None)
    return initial, proposal


def _proposal_notes(form, proposal, *, window_index: int = 0) -> None:
    """Beside each field, what the text gave for it or why it gave nothing (never a silent blank)."""
    missing = proposal.missing_messages
    system = getattr(proposal, "catalogue_system", None)
    notes: dict[str, tuple[bool, str]] = {}
    if system:
        notes["system"] = (True, _("Found in the text: %(value)s") % {"value": f"{system.region} · {system.name}"})
    elif "region" in missing:
        notes["system"] = (False, missing["region"])
    elif "system" in missing:
        notes["system"] = (False, missing["system"])
    else:
        notes["system"] = (
            False,
            _("The text names %(region)s · %(system)s, which the catalogue does not have: choose the system by hand.")
            % {"region": proposal.region, "system": proposal.system_name},
        )
    notes["title"] = (True, _("Proposed from the heading.")) if proposal.title else (False, missing["title"])
    notes["issuing_bureau"] = (
        (True, _("Found in the text: %(value)s") % {"value": proposal.bureau})
        if proposal.bureau
        else (False, missing["bureau"])
    )
    if proposal.windows:
        window = proposal.windows[min(window_index, len(proposal.windows) - 1)]
        notes["window_start"] = (True, _("Read from “%(words)s”.") % {"words": window.text})
    else:
        notes["window_start"] = (False, missing["windows"])
        notes["window_end"] = (False, missing["windows"])
    notes["functions"] = (
        (True, _("Found in the text: %(value)s") % {"value": "、".join(function_labels(proposal.functions))})
        if proposal.functions
        else (False, missing["functions"])
    )
    for name, (found, text) in notes.items():
        if name in form.fields:
            form.fields[name].proposal_note = {"found": found, "text": text, "part": name}


def _template_initial(request, kind: str) -> dict:
    template_id = row_id(request.GET.get("template", ""))
    if template_id is None:
        return {}
    template = get_object_or_404(TextTemplate, pk=template_id, kind=kind)
    initial = {"title": template.title, "body_markdown": template.body_markdown}
    if kind == TextTemplateKind.NOTICE:
        initial.update(
            alternatives=template.alternatives,
            contacts=template.contacts,
            preparation_checklist=template.preparation_checklist,
            recovery_checklist=template.recovery_checklist,
        )
    else:
        initial["message"] = template.body_markdown
    return initial


def _notice_form_page(request, notice: MaintenanceNotice | None):
    editing = notice is not None
    proposal = None
    warnings: list = []
    chosen_window = 0
    if request.method == "POST" and ("parse" in request.POST or "use_window" in request.POST):
        chosen = request.POST.get("use_window", "0")
        chosen_window = int(chosen) if is_digits(chosen) and len(chosen) < 4 else 0  # the windows of one text
        initial, proposal = _proposal_initial(request.POST, window_index=chosen_window)
        form = forms.NoticeForm(initial=initial, editing=editing)
        _proposal_notes(form, proposal, window_index=chosen_window)
    elif request.method == "POST":
        form = forms.NoticeForm(request.POST, editing=editing)
        if form.is_valid():
            data = form.cleaned_data
            warnings = window_warnings(
                system=data["system"],
                start=data["window_start"],
                end=data["window_end"],
                document_number=data["document_number"],
                exclude_pk=notice.pk if editing else None,
            )
            if not warnings or data["confirm_warnings"]:
                try:
                    if editing:
                        saved = services.notice_revise(
                            notice=notice, user=request.user, reason=data["reason"], **form.service_kwargs()
                        )
                        messages.success(request, _("Notice revised (revision %(n)s).") % {"n": saved.revision})
                    else:
                        saved = services.notice_publish(user=request.user, **form.service_kwargs())
                        messages.success(request, _("Notice published."))
                except ValidationError as exc:
                    form_add_service_errors(form, exc)
                else:
                    return redirect(saved)
    else:
        if editing:
            initial = {name: getattr(notice, name) for name in forms.NoticeForm.SERVICE_FIELDS}
            initial["system"] = notice.system_id
            warnings = notice_warnings(notice)
        else:
            initial = _template_initial(request, TextTemplateKind.NOTICE)
        form = forms.NoticeForm(initial=initial, editing=editing)
    return render(
        request,
        "notices/manage/notice_form.html",
        {
            "form": form,
            "notice": notice,
            "proposal": proposal,
            "chosen_window": chosen_window,
            "warnings": warnings,
            "templates": TextTemplate.objects.filter(kind=TextTemplateKind.NOTICE),
        },
    )


@notice_admin_required
def manage_notice_new(request):
    return _notice_form_page(request, None)


@notice_admin_required
def manage_notice_edit(request, pk: int):
    notice = get_object_or_404(MaintenanceNotice.objects.select_related("system"), pk=pk)
    if notice.state == NoticeState.CANCELLED:
        messages.error(request, _("A cancelled notice cannot be edited."))
        return redirect(notice)
    return _notice_form_page(request, notice)


def _notice_action_page(request, notice: MaintenanceNotice, form, *, act, done: str, page: dict):
    """One form on a notice (cancel, extend): run `act(**cleaned_data)`, back to the notice, or the form
    again with the service's refusal in place."""
    if request.method == "POST" and form.is_valid():
        try:
            act(notice=notice, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(notice)
    return render(request, "notices/manage/form.html", {"form": form, "back": notice.get_absolute_url(), **page})


@notice_admin_required
def manage_notice_cancel(request, pk: int):
    notice = get_object_or_404(MaintenanceNotice.objects.select_related("system"), pk=pk)
    return _notice_action_page(
        request,
        notice,
        forms.CancelForm(request.POST or None),
        act=services.notice_cancel,
        done=_("Notice cancelled."),
        page={
            "heading": _("Cancel “%(title)s”") % {"title": notice.title},
            "submit": _("Cancel the notice"),
            "danger": True,
        },
    )


@notice_admin_required
def manage_notice_extend(request, pk: int):
    notice = get_object_or_404(MaintenanceNotice.objects.select_related("system"), pk=pk)
    return _notice_action_page(
        request,
        notice,
        forms.ExtendForm(request.POST or None, initial={"new_end": notice.window_end}),
        act=services.notice_extend,
        done=_("Window extended."),
        page={
            "heading": _("Extend “%(title)s”") % {"title": notice.title},
            "intro": _("The window now ends %(end)s.") % {"end": local_text(notice.window_end)},
            "submit": _("Extend the window"),
        },
    )


@notice_admin_required
def manage_incident_list(request):
    queryset = (
        Incident.objects.select_related("system").annotate(update_count=Count("updates")).order_by("-started_at", "-pk")
    )
    filterset = IncidentFilter(request.GET or None, queryset=queryset, request=request)
    return render(
        request, "notices/manage/incident_list.html", {"filter": filterset, "page": filtered_page(request, filterset)}
    )


def _suggested_incident_initial(request) -> dict:
    """`?region=北京&since=<ISO time>`: what the dashboard knows when sources fail in a region (no
    incident open there yet). Proposes that region's invoice-issuing system, the time failures began
    and "issue/query" as the functions; the admin corrects what the tax authority says."""
    region = request.GET.get("region", "").strip()
    if not region or "\x00" in region:  # no region names NUL, and PostgreSQL refuses to compare one
        return {}
    initial: dict = {"functions": [Function.ISSUE, Function.QUERY]}
    system = (
        TaxSystem.objects.active()
        .filter(functions_include_any([Function.ISSUE]), region=region)
        .order_by("sort_order", "pk")
        .first()
    )
    if system is not None:
        initial["system"] = system.pk
    try:
        since = parse_datetime(request.GET.get("since", ""))
    except ValueError:  # well formed but impossible (a 13th month): propose no start rather than fail
        since = None
    if since is not None and moment_allowed(since):  # else turning it into Beijing time may overflow
        # A time without an offset, as a hand-edited link may have it, is Beijing time like every other.
        initial["started_at"] = since if timezone.is_aware(since) else timezone.make_aware(since)
    return initial


@notice_admin_required
def manage_incident_new(request):
    proposal = None
    if request.method == "POST" and "parse" in request.POST:
        initial, proposal = _proposal_initial(request.POST, window_index=0)
        for name in ("window_start", "window_end", "issuing_bureau"):
            initial.pop(name, None)
        form = forms.IncidentForm(initial=initial)
        _proposal_notes(form, proposal)
    elif request.method == "POST":
        form = forms.IncidentForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("original_text")
            try:
                incident = services.incident_open(user=request.user, **data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Incident opened."))
                return redirect("notices:manage-incident-detail", pk=incident.pk)
    else:
        initial = {"started_at": timezone.now()}
        initial.update(_template_initial(request, TextTemplateKind.INCIDENT))
        initial.update(_suggested_incident_initial(request))
        form = forms.IncidentForm(initial=initial)
    return render(
        request,
        "notices/manage/incident_form.html",
        {
            "form": form,
            "proposal": proposal,
            "templates": TextTemplate.objects.filter(kind=TextTemplateKind.INCIDENT),
        },
    )


@notice_admin_required
def manage_incident_edit(request, pk: int):
    incident = get_object_or_404(Incident.objects.select_related("system"), pk=pk)
    if request.method == "POST":
        form = forms.IncidentForm(request.POST, editing=True)
        if form.is_valid():
            try:
                services.incident_edit(incident=incident, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Incident saved."))
                return redirect("notices:manage-incident-detail", pk=incident.pk)
    else:
        initial = {name: getattr(incident, name) for name in forms.IncidentForm.EDIT_FIELDS}
        initial["system"] = incident.system_id
        initial["impact_invoice_types"] = ", ".join(incident.impact_invoice_types)
        initial["impact_regions"] = ", ".join(incident.impact_regions)
        form = forms.IncidentForm(initial=initial, editing=True)
    return render(
        request,
        "notices/manage/form.html",
        {
            "form": form,
            "heading": _("Edit “%(title)s”") % {"title": incident.title},
            "submit": _("Save"),
            "back": incident.get_absolute_url(),
        },
    )


def _incident_manage_page(request, incident: Incident, **bound_forms):
    """The incident's admin page: update and resolve forms while it is open, the post-mortem once
    resolved. A form posted with errors comes in `bound_forms` and is shown instead of a fresh one."""
    forms_shown = {"update_form": None, "resolve_form": None, "postmortem_form": None}
    if incident.state == IncidentState.RESOLVED:
        forms_shown["postmortem_form"] = bound_forms.get("postmortem_form") or forms.PostmortemForm(
            initial={
                "cause": incident.postmortem_cause,
                "lost": incident.postmortem_lost,
                "actions": incident.postmortem_actions,
            }
        )
    else:
        update_initial = {"state": incident.state}
        template_id = row_id(request.GET.get("template", ""))
        if template_id is not None:
            template = TextTemplate.objects.filter(pk=template_id, kind=TextTemplateKind.INCIDENT_UPDATE).first()
            if template:
                update_initial["message"] = template.body_markdown
        forms_shown["update_form"] = bound_forms.get("update_form") or forms.IncidentUpdateForm(initial=update_initial)
        forms_shown["resolve_form"] = bound_forms.get("resolve_form") or forms.IncidentResolveForm(
            initial={"ended_at": timezone.now()}
        )
    context = {
        "incident": incident,
        "updates": incident.updates.select_related("posted_by").order_by("-posted_at", "-pk"),
        **forms_shown,
        "update_templates": TextTemplate.objects.filter(kind=TextTemplateKind.INCIDENT_UPDATE),
        "functions": function_labels(incident.functions),
    }
    return render(request, "notices/manage/incident_detail.html", context, status=400 if bound_forms else 200)


@notice_admin_required
def manage_incident_detail(request, pk: int):
    incident = get_object_or_404(Incident.objects.select_related("system"), pk=pk)
    return _incident_manage_page(request, incident)


def _incident_form_view(*, form_class, service, done, form_name: str):
    """A view posting one of the incident page's forms to its service; back to the page, errors in place."""

    @notice_admin_required
    @require_POST
    def view(request, pk: int):
        incident = get_object_or_404(Incident.objects.select_related("system"), pk=pk)
        form = form_class(request.POST)
        if form.is_valid():
            try:
                service(incident=incident, user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, done)
                return redirect("notices:manage-incident-detail", pk=incident.pk)
        return _incident_manage_page(request, incident, **{form_name: form})

    return view


manage_incident_update = _incident_form_view(
    form_class=forms.IncidentUpdateForm,
    service=services.incident_post_update,
    done=gettext_lazy("Update posted."),
    form_name="update_form",
)
manage_incident_resolve = _incident_form_view(
    form_class=forms.IncidentResolveForm,
    service=services.incident_resolve,
    done=gettext_lazy("Incident resolved."),
    form_name="resolve_form",
)
manage_incident_postmortem = _incident_form_view(
    form_class=forms.PostmortemForm,
    service=services.incident_postmortem,
    done=gettext_lazy("Post-mortem saved."),
    form_name="postmortem_form",
)


# --- Catalogue, calendar, templates: list + one form each -------------------------------------------


def _model_form_page(request, *, form_class, instance, save, heading: str, list_url: str):
    """A catalogue, calendar or template form: save through `save(cleaned_data)`, then back to the list."""
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(list_url)
    return render(
        request,
        "notices/manage/form.html",
        {"form": form, "heading": heading, "submit": _("Save"), "back": reverse(list_url)},
    )


@notice_admin_required
def manage_system_list(request):
    systems = TaxSystem.objects.annotate(notice_count=Count("notices", distinct=True)).order_by("sort_order", "region")
    return render(request, "notices/manage/system_list.html", {"systems": systems})


@notice_admin_required
def manage_system_form(request, pk: int | None = None):
    system = get_object_or_404(TaxSystem, pk=pk) if pk else None
    return _model_form_page(
        request,
        form_class=forms.TaxSystemForm,
        instance=system,
        save=lambda data: services.tax_system_save(system=system, **data),
        heading=str(system) if system else _("New tax system"),
        list_url="notices:manage-system-list",
    )


@notice_admin_required
def manage_calendar(request):
    deadlines = FilingDeadline.objects.order_by("deadline", "region")
    return render(request, "notices/manage/calendar.html", {"deadlines": deadlines})


@notice_admin_required
def manage_deadline_form(request, pk: int | None = None):
    deadline = get_object_or_404(FilingDeadline, pk=pk) if pk else None
    return _model_form_page(
        request,
        form_class=forms.FilingDeadlineForm,
        instance=deadline,
        save=lambda data: services.filing_deadline_save(filing_deadline=deadline, **data),
        heading=_("Filing deadline"),
        list_url="notices:manage-calendar",
    )


@notice_admin_required
@require_POST
def manage_deadline_delete(request, pk: int):
    services.filing_deadline_delete(filing_deadline=get_object_or_404(FilingDeadline, pk=pk))
    messages.success(request, _("Deadline removed."))
    return redirect("notices:manage-calendar")


@notice_admin_required
def manage_template_list(request):
    return render(
        request, "notices/manage/template_list.html", {"templates": TextTemplate.objects.order_by("kind", "name")}
    )


@notice_admin_required
def manage_template_form(request, pk: int | None = None):
    template = get_object_or_404(TextTemplate, pk=pk) if pk else None
    return _model_form_page(
        request,
        form_class=forms.TextTemplateForm,
        instance=template,
        save=lambda data: services.text_template_save(template=template, **data),
        heading=template.name if template else _("New text template"),
        list_url="notices:manage-template-list",
    )


@notice_admin_required
@require_POST
def manage_template_delete(request, pk: int):
    services.text_template_delete(template=get_object_or_404(TextTemplate, pk=pk))
    messages.success(request, _("Template removed."))
    return redirect("notices:manage-template-list")
