"""Printable documents: the letter asking a counterparty for copies (PDF, in Chinese), and the
incident-response section of the evidence pack and the deferred-filing application."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from invoices.models import InvoiceType
from outage_portal.timefmt import local_text
from recovery.reissue.pack import _build, _p, _styles, _table

from .models import CounterpartyRequest, IncidentResponse


def request_pdf(request: CounterpartyRequest) -> bytes:
    """The letter as a PDF with the invoices in a table (the counterparty reads Chinese)."""
    items = list(request.items.all())
    with translation.override("zh-hans"):
        font, body, title, _heading, cell = _styles()
        paragraphs = [line for line in request.letter.split("\n\n") if line.strip()]

        def story():
            flow = [_p(_("Request for copies of invoices") + f" {request.number}", title)]
            flow += [_p(text, body) for text in paragraphs]
            rows = [[_("Invoice number"), _("Order or contract"), _("Date"), _("Amount"), _("Tax"), _("Total")]]
            for item in items:
                rows.append(
                    [
                        item.invoice_key or "—",
                        item.order_number,
                        item.issue_date.isoformat(),
                        f"{item.amount:,.2f}",
                        f"{item.tax:,.2f}",
                        f"{item.total:,.2f}",
                    ]
                )
            flow.append(_table([[_p(c, cell) for c in row] for row in rows], font, [120, 100, 70, 70, 60, 70]))
            return flow

        return _build(story)


def response_sections(response: IncidentResponse) -> list[tuple[str, list[str], list[list[str]] | None]]:
    """The response, its scope and its timeline, for the pack (in the active language)."""
    types = dict(InvoiceType.choices)
    scope = [
        f"{_('Fault started')}: {local_text(response.fault_started_at) or '—'}",
        f"{_('What it touched')}: {response.impact or '—'}",
        f"{_('Invoice types')}: {'、'.join(str(types.get(t, t)) for t in response.scope_invoice_types) or '—'}",
        f"{_('Customers and suppliers')}: {'、'.join(response.scope_customers.split()) or '—'}",
        f"{_('Departments')}: {response.scope_departments or '—'}",
        f"{_('Hours')}: {local_text(response.scope_from) or '—'} → {local_text(response.scope_to) or '—'}",
    ]
    steps = [[_("Step"), _("Done"), _("By"), _("Note")]]
    for step in response.steps.select_related("done_by"):
        steps.append(
            [
                step.get_step_display(),
                local_text(step.done_at) if step.done else "—",
                str(step.done_by or ""),
                step.note,
            ]
        )
    timeline = [[_("Time"), _("What"), _("By"), _("Details")]]
    for event in response.events.select_related("actor"):
        timeline.append([local_text(event.at), event.get_kind_display(), str(event.actor or ""), event.text])
    return [
        (_("The company's incident response") + f": {response.title}", scope, steps),
        (_("Response timeline"), [], timeline),
    ]


def pack_sections(*, company, incident) -> list:
    """Registered with the evidence pack: the company's response to the pack's incident, if any."""
    if incident is None:
        return []
    response = IncidentResponse.objects.filter(company=company, incident=incident).first()
    return response_sections(response) if response is not None else []
