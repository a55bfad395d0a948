"""The printable deferred-filing application: the evidence pack's PDF pieces (CJK font embedded,
recovery/reissue/pack.py) with the incident timeline as evidence."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..reissue.pack import _build, _extra_flowables, _p, _styles, _timeline_flowables
from ..reissue.services import incident_timeline
from .models import DeferredFiling


def deferred_filing_pdf(application: DeferredFiling) -> bytes:
    """The printable deferred-filing application with the incident timeline as evidence."""
    font, body, title, heading, cell = _styles()
    timeline = application.timeline_snapshot or incident_timeline(application.incident)

    def story():
        company = application.company
        flow = [
            _p(_("Deferred filing application") + f" {application.number}", title),
            _p(f"{_('Company')}: {company.name}  ({company.credit_code})", body),
            _p(f"{_('Period')}: {application.period:%Y-%m}  {_('Tax type')}: {application.tax_type}", body),
            _p(f"{_('Deadline')}: {application.deadline.isoformat()}", body),
        ]
        if application.requested_deadline:
            flow.append(_p(f"{_('Requested new deadline')}: {application.requested_deadline.isoformat()}", body))
        flow.append(_p(_("Reason"), heading))
        flow.append(_p(application.reason, body))
        if application.incident is not None:
            flow.append(_p(f"{_('Incident')}: {application.incident.title}", body))
        flow += _timeline_flowables(timeline, font, cell, heading)
        flow += _extra_flowables(company, application.incident, font, body, heading, cell)
        return flow

    return _build(story)
