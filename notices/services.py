"""Writes for the catalogue, maintenance notices, incidents, the tax calendar and text templates.

Pages, the API, the beat task and the demo all call these; no rule lives anywhere else. Events go
to subscribers only after the transaction commits (`transaction.on_commit`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from notices.events import Event, EventKind, event_publish
from notices.grid import function_labels
from notices.models import (
    FilingDeadline,
    Incident,
    IncidentState,
    IncidentUpdate,
    MaintenanceNotice,
    NoticeRevision,
    NoticeState,
    Severity,
    TaxSystem,
    TextTemplate,
)
from notices.regions import resolve_region
from notices.rendering import render_markdown
from outage_portal.timefmt import local_text

RUNNING = (NoticeState.IN_PROGRESS, NoticeState.EXTENDED)
# Fields of a notice an edit may change, in the order a revision lists them.
NOTICE_FIELDS = [
    "system",
    "title",
    "window_start",
    "window_end",
    "functions",
    "body_markdown",
    "alternatives",
    "contacts",
    "preparation_checklist",
    "recovery_checklist",
    "issuing_bureau",
    "document_number",
    "source_url",
    "original_text",
]


def _site_text(message: str, **params) -> str:
    """An event text. It goes to every subscriber at once, so it is written in the site's language
    (Chinese), whatever language the poster's request or the beat task runs in."""
    with translation.override(settings.LANGUAGE_CODE):
        return translation.gettext(message) % {
            name: ("、".join(function_labels(value)) if name == "functions" else str(value))
            for name, value in params.items()
        }


# --- Notices --------------------------------------------------------------------------------------


def notice_state_at(notice: MaintenanceNotice, now: datetime) -> str:
    """The state the clock gives a notice at `now` (pages use it, so they are never stale)."""
    if notice.state == NoticeState.CANCELLED:
        return NoticeState.CANCELLED
    if now >= notice.window_end:
        return NoticeState.COMPLETED
    if now >= notice.window_start:
        return NoticeState.EXTENDED if notice.announced_end else NoticeState.IN_PROGRESS
    return NoticeState.SCHEDULED


def _notice_event(notice: MaintenanceNotice, kind: EventKind, key: str, title: str, body: str = "") -> Event:
    system = notice.system
    window = f"{local_text(notice.window_start)} – {local_text(notice.window_end)}"
    return Event(
        kind=kind,
        key=key,
        subject=f"notice:{notice.pk}",
        title=title,
        body=body
        or _site_text(
            gettext_noop("%(system)s: %(title)s. Window %(window)s; affected: %(functions)s."),
            system=system,
            title=notice.title,
            window=window,
            functions=notice.functions,
        ),
        url=notice.get_absolute_url(),
        regions=(system.region,),
        system=system.slug,
        functions=tuple(notice.functions),
        window_start=notice.window_start,
        window_end=notice.window_end,
        occurred_at=timezone.now(),
    )


def _publish_after_commit(event: Event) -> None:
    transaction.on_commit(lambda: event_publish(event))


def _render_notice(notice: MaintenanceNotice) -> None:
    notice.body_html = render_markdown(notice.body_markdown)


@transaction.atomic
def notice_publish(
    *,
    system: TaxSystem,
    title: str,
    window_start: datetime,
    window_end: datetime,
    functions: list[str],
    user=None,
    body_markdown: str = "",
    alternatives: str = "",
    contacts: str = "",
    preparation_checklist: str = "",
    recovery_checklist: str = "",
    issuing_bureau: str = "",
    document_number: str = "",
    source_url: str = "",
    original_text: str = "",
) -> MaintenanceNotice:
    """Publish a maintenance notice (revision 1). The beat task moves its state by the clock."""
    notice = MaintenanceNotice(
        system=system,
        title=title,
        window_start=window_start,
        window_end=window_end,
        functions=list(functions),
        body_markdown=body_markdown,
        alternatives=alternatives,
        contacts=contacts,
        preparation_checklist=preparation_checklist,
        recovery_checklist=recovery_checklist,
        issuing_bureau=issuing_bureau,
        document_number=document_number,
        source_url=source_url,
        original_text=original_text,
        created_by=user,
        revision=1,
    )
    notice.full_clean()
    _render_notice(notice)
    notice.save()
    _publish_after_commit(
        _notice_event(
            notice,
            EventKind.NOTICE_PUBLISHED,
            f"notice:{notice.pk}:rev:1",
            _site_text(
                gettext_noop("Maintenance notice: %(system)s down from %(start)s"),
                system=system.spoken_name,
                start=local_text(window_start),
            ),
        )
    )
    return notice


def _shown(field: str, value) -> object:
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, TaxSystem):
        return str(value)
    return value


@transaction.atomic
def notice_revise(*, notice: MaintenanceNotice, user=None, reason: str = "", **changes) -> MaintenanceNotice:
    """Edit a published notice. Every edit that changes something is kept as a revision (who, when,
    what changed, the window before and after); an unchanged submission changes nothing."""
    unknown = set(changes) - set(NOTICE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown notice field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    notice = MaintenanceNotice.objects.select_for_update().select_related("system").get(pk=notice.pk)
    if notice.state == NoticeState.CANCELLED:
        raise ValidationError(_("A cancelled notice cannot be edited."), code="cancelled")
    old = {name: getattr(notice, name) for name in NOTICE_FIELDS}
    for name, value in changes.items():
        setattr(notice, name, list(value) if name == "functions" else value)
    diff = {
        name: [_shown(name, old[name]), _shown(name, getattr(notice, name))]
        for name in NOTICE_FIELDS
        if old[name] != getattr(notice, name)
    }
    if not diff:
        return notice
    notice.full_clean()
    _render_notice(notice)
    notice.revision += 1
    now = timezone.now()
    # A window moved later goes back to waiting (the beat announces its new start once it comes);
    # a finished window whose end moved past now is running again.
    if notice.window_start > now:
        notice.state = NoticeState.SCHEDULED
    elif notice.state == NoticeState.COMPLETED and notice.window_end > now:
        notice.state = NoticeState.IN_PROGRESS
    notice.save()
    NoticeRevision.objects.create(
        notice=notice,
        number=notice.revision,
        changed_by=user,
        reason=reason,
        changes=diff,
        old_window_start=old["window_start"],
        old_window_end=old["window_end"],
        new_window_start=notice.window_start,
        new_window_end=notice.window_end,
    )
    moved = (old["window_start"], old["window_end"]) != (notice.window_start, notice.window_end)
    title = (
        _site_text(
            gettext_noop("Window moved: %(system)s from %(old_start)s – %(old_end)s to %(new_start)s – %(new_end)s"),
            system=notice.system.spoken_name,
            old_start=local_text(old["window_start"]),
            old_end=local_text(old["window_end"]),
            new_start=local_text(notice.window_start),
            new_end=local_text(notice.window_end),
        )
        if moved
        else _site_text(gettext_noop("Notice updated: %(title)s"), title=notice.title)
    )
    event = _notice_event(notice, EventKind.NOTICE_CHANGED, f"notice:{notice.pk}:rev:{notice.revision}", title)
    _publish_after_commit(
        replace(event, extra={"revision": notice.revision, "changed": sorted(diff), "reason": reason})
    )
    return notice


@transaction.atomic
def notice_cancel(*, notice: MaintenanceNotice, user=None, reason: str) -> MaintenanceNotice:
    """Cancel a notice that has not finished. The reason is shown on its page."""
    notice = MaintenanceNotice.objects.select_for_update().select_related("system").get(pk=notice.pk)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the notice is cancelled.")})
    if notice.state == NoticeState.CANCELLED:
        raise ValidationError(_("This notice is already cancelled."), code="cancelled")
    if notice_state_at(notice, timezone.now()) == NoticeState.COMPLETED:
        raise ValidationError(_("This window is already over; it cannot be cancelled."), code="completed")
    old_state = notice.state
    notice.state = NoticeState.CANCELLED
    notice.cancel_reason = reason.strip()
    notice.revision += 1
    notice.save(update_fields=["state", "cancel_reason", "revision", "updated_at"])
    NoticeRevision.objects.create(
        notice=notice,
        number=notice.revision,
        changed_by=user,
        reason=notice.cancel_reason,
        changes={"state": [old_state, NoticeState.CANCELLED]},
        old_window_start=notice.window_start,
        old_window_end=notice.window_end,
        new_window_start=notice.window_start,
        new_window_end=notice.window_end,
    )
    _publish_after_commit(
        _notice_event(
            notice,
            EventKind.NOTICE_CANCELLED,
            f"notice:{notice.pk}:cancelled",
            _site_text(
                gettext_noop("Maintenance cancelled: %(system)s, the downtime from %(start)s will not happen"),
                system=notice.system.spoken_name,
                start=local_text(notice.window_start),
            ),
            _site_text(
                gettext_noop("%(title)s: cancelled. Reason: %(reason)s"),
                title=notice.title,
                reason=notice.cancel_reason,
            ),
        )
    )
    return notice


@transaction.atomic
def notice_extend(
    *, notice: MaintenanceNotice, new_end: datetime, user=None, reason: str = "", now: datetime | None = None
) -> MaintenanceNotice:
    """Extend a running window: the end moves later, the first announced end is kept."""
    now = now or timezone.now()
    notice = MaintenanceNotice.objects.select_for_update().select_related("system").get(pk=notice.pk)
    if notice_state_at(notice, now) not in RUNNING:
        raise ValidationError(_("Only a window in progress can be extended."), code="not_running")
    if new_end <= notice.window_end:
        message = _("The new end must be later than the current end (%(end)s).") % {
            "end": local_text(notice.window_end)
        }
        raise ValidationError({"new_end": message})
    old_end = notice.window_end
    notice.announced_end = notice.announced_end or old_end
    notice.window_end = new_end
    notice.state = NoticeState.EXTENDED
    notice.revision += 1
    notice.full_clean()
    notice.save(update_fields=["announced_end", "window_end", "state", "revision", "updated_at"])
    NoticeRevision.objects.create(
        notice=notice,
        number=notice.revision,
        changed_by=user,
        reason=reason,
        changes={"window_end": [_shown("window_end", old_end), _shown("window_end", new_end)]},
        old_window_start=notice.window_start,
        old_window_end=old_end,
        new_window_start=notice.window_start,
        new_window_end=new_end,
    )
    event = _notice_event(
        notice,
        EventKind.NOTICE_CHANGED,
        f"notice:{notice.pk}:rev:{notice.revision}",
        _site_text(
            gettext_noop("Maintenance extended: %(system)s expected back at %(new_end)s instead of %(old_end)s"),
            system=notice.system.spoken_name,
            old_end=local_text(old_end),
            new_end=local_text(new_end),
        ),
    )
    _publish_after_commit(replace(event, extra={"revision": notice.revision, "extended": True}))
    return notice


def notice_states_advance(*, now: datetime | None = None) -> dict[str, int]:
    """Move notices along scheduled → in progress → completed by the clock (beat, every minute).

    Each move is a conditional UPDATE that only one caller can win, so running it twice (or two beats
    at once) announces window_started / window_ended exactly once per window.
    """
    now = now or timezone.now()
    started = ended = 0
    due_to_start = MaintenanceNotice.objects.filter(state=NoticeState.SCHEDULED, window_start__lte=now)
    for notice in due_to_start.select_related("system"):
        with transaction.atomic():
            target = NoticeState.COMPLETED if notice.window_end <= now else NoticeState.IN_PROGRESS
            if MaintenanceNotice.objects.filter(pk=notice.pk, state=NoticeState.SCHEDULED).update(state=target):
                started += 1
                _publish_after_commit(_window_event(notice, EventKind.WINDOW_STARTED))
                if target == NoticeState.COMPLETED:
                    ended += 1
                    _publish_after_commit(_window_event(notice, EventKind.WINDOW_ENDED))
    due_to_end = MaintenanceNotice.objects.filter(state__in=RUNNING, window_end__lte=now)
    for notice in due_to_end.select_related("system"):
        with transaction.atomic():
            if MaintenanceNotice.objects.filter(pk=notice.pk, state__in=RUNNING).update(state=NoticeState.COMPLETED):
                ended += 1
                _publish_after_commit(_window_event(notice, EventKind.WINDOW_ENDED))
    # A window moved later after it had finished (or started) goes back to waiting for its start.
    MaintenanceNotice.objects.filter(state__in=[NoticeState.COMPLETED, *RUNNING], window_start__gt=now).update(
        state=NoticeState.SCHEDULED
    )
    return {"started": started, "ended": ended}


def _window_event(notice: MaintenanceNotice, kind: EventKind) -> Event:
    system = notice.system.spoken_name
    if kind == EventKind.WINDOW_STARTED:
        key = f"notice:{notice.pk}:started:{int(notice.window_start.timestamp())}"
        title = _site_text(
            gettext_noop("Maintenance started: %(system)s is down now, expected back at %(end)s"),
            system=system,
            end=local_text(notice.window_end),
        )
    else:
        key = f"notice:{notice.pk}:ended:{int(notice.window_end.timestamp())}"
        title = _site_text(
            gettext_noop("Maintenance ended: %(system)s is back (%(end)s)"),
            system=system,
            end=local_text(notice.window_end),
        )
    return _notice_event(notice, kind, key, title)


# --- Incidents ------------------------------------------------------------------------------------


def _incident_event(incident: Incident, kind: EventKind, key: str, title: str, body: str) -> Event:
    system = incident.system
    return Event(
        kind=kind,
        key=key,
        subject=f"incident:{incident.pk}",
        title=title,
        body=body,
        url=incident.get_absolute_url(),
        regions=tuple(dict.fromkeys([system.region, *incident.impact_regions])),
        system=system.slug,
        functions=tuple(incident.functions),
        window_start=incident.started_at,
        window_end=incident.ended_at,
        occurred_at=timezone.now(),
        extra={"state": incident.state, "severity": incident.severity},
    )


def _check_regions(regions: list[str]) -> list[str]:
    regions = [resolve_region(r) or r.strip() for r in regions if r and r.strip()]  # 西安 → 陕西
    known = set(TaxSystem.objects.regions())
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise ValidationError(
            {"impact_regions": _("Unknown region(s): %(regions)s.") % {"regions": "、".join(unknown)}}
        )
    return list(dict.fromkeys(regions))


@transaction.atomic
def incident_open(
    *,
    system: TaxSystem,
    title: str,
    functions: list[str],
    started_at: datetime,
    message: str,
    severity: str = Severity.MAJOR,
    state: str = IncidentState.INVESTIGATING,
    impact_invoice_types: list[str] | None = None,
    impact_regions: list[str] | None = None,
    impact_summary: str = "",
    user=None,
    posted_at: datetime | None = None,
) -> Incident:
    """Open an incident with its first public update."""
    if not message.strip():
        raise ValidationError({"message": _("Write the first public update.")})
    if state == IncidentState.RESOLVED:
        raise ValidationError({"state": _("Open the incident first, then resolve it.")})
    if started_at > timezone.now():
        raise ValidationError({"started_at": _("An incident cannot start in the future.")})
    incident = Incident(
        system=system,
        title=title,
        functions=list(functions),
        severity=severity,
        state=state,
        started_at=started_at,
        impact_invoice_types=[t.strip() for t in (impact_invoice_types or []) if t.strip()],
        impact_regions=_check_regions(impact_regions or []),
        impact_summary=impact_summary,
        created_by=user,
    )
    incident.full_clean()
    incident.save()
    update = _add_update(incident, state=state, message=message, user=user, posted_at=posted_at)
    _publish_after_commit(
        _incident_event(
            incident,
            EventKind.INCIDENT_OPENED,
            f"incident:{incident.pk}:update:{update.pk}",
            _site_text(gettext_noop("Incident: %(title)s (%(system)s)"), title=title, system=system),
            message,
        )
    )
    return incident


def _add_update(incident: Incident, *, state: str, message: str, user, posted_at: datetime | None) -> IncidentUpdate:
    update = IncidentUpdate(
        incident=incident,
        state=state,
        body_markdown=message,
        body_html=render_markdown(message),
        posted_at=posted_at or timezone.now(),
        posted_by=user,
    )
    update.full_clean()
    update.save()
    return update


INCIDENT_FIELDS = [
    "system",
    "title",
    "functions",
    "severity",
    "started_at",
    "impact_invoice_types",
    "impact_regions",
    "impact_summary",
]


@transaction.atomic
def incident_edit(*, incident: Incident, **changes) -> Incident:
    """Correct an incident's facts (title, scope, start). State moves only through updates."""
    unknown = set(changes) - set(INCIDENT_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown incident field(s): %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if "impact_regions" in changes:
        changes["impact_regions"] = _check_regions(changes["impact_regions"])
    for name, value in changes.items():
        setattr(incident, name, value)
    incident.full_clean()
    incident.save()
    return incident


@transaction.atomic
def incident_post_update(
    *, incident: Incident, state: str, message: str, user=None, posted_at: datetime | None = None
) -> IncidentUpdate:
    """A timestamped public update; the incident moves to `state`. Resolving goes through incident_resolve."""
    incident = Incident.objects.select_for_update().select_related("system").get(pk=incident.pk)
    if incident.state == IncidentState.RESOLVED:
        raise ValidationError(_("This incident is resolved; write the post-mortem instead."), code="resolved")
    if state == IncidentState.RESOLVED:
        raise ValidationError({"state": _("Use “Resolve” to close an incident (it needs an end time).")})
    if state not in IncidentState.values:
        raise ValidationError({"state": _("Unknown incident state.")})
    if not message.strip():
        raise ValidationError({"message": _("An update needs a message.")})
    if posted_at and posted_at < incident.started_at:
        raise ValidationError({"posted_at": _("An update cannot be earlier than the incident's start.")})
    incident.state = state
    incident.save(update_fields=["state", "updated_at"])
    update = _add_update(incident, state=state, message=message, user=user, posted_at=posted_at)
    _publish_after_commit(
        _incident_event(
            incident,
            EventKind.INCIDENT_UPDATED,
            f"incident:{incident.pk}:update:{update.pk}",
            _site_text(
                gettext_noop("Incident update (%(state)s): %(title)s (%(system)s)"),
                state=IncidentState(state).label,
                title=incident.title,
                system=incident.system,
            ),
            message,
        )
    )
    return update


@transaction.atomic
def incident_resolve(
    *, incident: Incident, ended_at: datetime, message: str, user=None, posted_at: datetime | None = None
) -> Incident:
    """Close an incident: its end time and a last public update."""
    incident = Incident.objects.select_for_update().select_related("system").get(pk=incident.pk)
    if incident.state == IncidentState.RESOLVED:
        raise ValidationError(_("This incident is already resolved."), code="resolved")
    if ended_at <= incident.started_at:
        raise ValidationError({"ended_at": _("An incident must end after it started.")})
    if ended_at > timezone.now():
        raise ValidationError({"ended_at": _("The end cannot be in the future.")})
    if not message.strip():
        raise ValidationError({"message": _("An update needs a message.")})
    incident.state = IncidentState.RESOLVED
    incident.ended_at = ended_at
    incident.full_clean()
    incident.save(update_fields=["state", "ended_at", "updated_at"])
    update = _add_update(incident, state=IncidentState.RESOLVED, message=message, user=user, posted_at=posted_at)
    _publish_after_commit(
        _incident_event(
            incident,
            EventKind.INCIDENT_RESOLVED,
            f"incident:{incident.pk}:update:{update.pk}",
            _site_text(
                gettext_noop("Incident resolved: %(title)s (%(system)s)"), title=incident.title, system=incident.system
            ),
            message,
        )
    )
    return incident


def _postmortem_markdown(cause: str, lost: str, actions: str) -> str:
    # Rendered once and stored: headings in the site's language (Chinese), like the text under them.
    with translation.override(settings.LANGUAGE_CODE):
        return _postmortem_sections(cause, lost, actions)


def _postmortem_sections(cause: str, lost: str, actions: str) -> str:
    parts = [
        (_("Cause"), cause),
        (_("What was lost"), lost),
        (_("What was done"), actions),
    ]
    return "\n\n".join(f"### {heading}\n\n{text.strip()}" for heading, text in parts if text.strip())


@transaction.atomic
def incident_postmortem(*, incident: Incident, cause: str, lost: str, actions: str, user=None) -> Incident:
    """The closing post-mortem of a resolved incident: cause, what was lost, what was done."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.state != IncidentState.RESOLVED:
        raise ValidationError(_("Resolve the incident before writing its post-mortem."), code="not_resolved")
    if not cause.strip():
        raise ValidationError({"cause": _("State the cause.")})
    incident.postmortem_cause = cause.strip()
    incident.postmortem_lost = lost.strip()
    incident.postmortem_actions = actions.strip()
    incident.postmortem_html = render_markdown(_postmortem_markdown(cause, lost, actions))
    incident.save(
        update_fields=["postmortem_cause", "postmortem_lost", "postmortem_actions", "postmortem_html", "updated_at"]
    )
    return incident


# --- Catalogue, tax calendar, templates -------------------------------------------------------------


@transaction.atomic
def tax_system_save(*, system: TaxSystem | None = None, **fields) -> TaxSystem:
    """Create a tax system or change one (notice admins keep the catalogue)."""
    system = system or TaxSystem()
    if fields.get("region"):
        fields["region"] = resolve_region(fields["region"]) or fields["region"].strip()  # 西安 → 陕西
    for name, value in fields.items():
        setattr(system, name, value)
    system.full_clean()
    system.save()
    return system


@transaction.atomic
def filing_deadline_save(*, filing_deadline: FilingDeadline | None = None, **fields) -> FilingDeadline:
    """Add a deadline to the tax calendar or change one. `period` is stored as the month's first day."""
    row = filing_deadline or FilingDeadline()
    for name, value in fields.items():
        setattr(row, name, value)
    if row.period and row.period.day != 1:
        row.period = row.period.replace(day=1)
    if row.period and row.deadline and row.deadline < row.period:
        raise ValidationError({"deadline": _("The deadline cannot be before the period it files.")})
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def filing_deadline_delete(*, filing_deadline: FilingDeadline) -> None:
    filing_deadline.delete()


@transaction.atomic
def text_template_save(*, template: TextTemplate | None = None, **fields) -> TextTemplate:
    template = template or TextTemplate()
    for name, value in fields.items():
        setattr(template, name, value)
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def text_template_delete(*, template: TextTemplate) -> None:
    template.delete()
