"""The evidence pack for the tax bureau: a printable PDF (CJK font embedded), an XLSX of the
invoices, and a ZIP bundling both with the evidence files under safe names."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
import zipfile
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from django.core.files.storage import storages
from django.utils import timezone
from django.utils.translation import gettext as _

from outage_portal.spreadsheets import Column, xlsx_bytes
from outage_portal.timefmt import local_text

from . import uploads
from .models import ReissueRequest

logger = logging.getLogger(__name__)
COPY_CHUNK = 1024 * 1024

KNOWN_CJK_FONTS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]
FONT_NAME = "PortalCJK"
FALLBACK_CID_FONT = "STSong-Light"


def _find_cjk_font_file() -> str | None:
    # fc-list, not fc-match: fc-match always names its nearest font, a Latin one where no font has
    # Chinese glyphs, and the pack would print empty boxes; fc-list lists only fonts covering Chinese.
    try:
        listed = subprocess.run(
            ["fc-list", "-f", "%{file}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        listed = []
    candidates = sorted(line.strip() for line in listed if line.strip().lower().endswith((".ttc", ".ttf")))
    for path in KNOWN_CJK_FONTS + candidates:
        if path and Path(path).is_file():
            return path
    return None


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register and return a font name that draws Chinese: an embedded TrueType font when one is
    installed (so every reader shows it), else reportlab's built-in STSong-Light CID font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    path = _find_cjk_font_file()
    if path:
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
            return FONT_NAME
        except Exception as exc:  # a broken font file must not stop the pack
            logger.warning("CJK font %s could not be loaded (%s); using %s", path, exc, FALLBACK_CID_FONT)
    else:
        logger.warning("No CJK TrueType font found (install fonts-wqy-microhei); using %s", FALLBACK_CID_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return FALLBACK_CID_FONT


def request_context(request: ReissueRequest) -> dict:
    """Everything the print view, PDF and XLSX show about a reissue request."""
    items = list(request.items.all())
    incident = request.incident
    from .services import incident_timeline

    return {
        "req": request,
        "items": items,
        "totals": {
            name: sum((getattr(i, name) for i in items), Decimal("0.00")) for name in ("amount", "tax", "total")
        },
        "incident": incident,
        "timeline": incident_timeline(incident),
        "transitions": list(request.transitions.select_related("actor")),
        "evidence": list(request.evidence.all()),
        "generated_at": timezone.now(),
    }


def _styles():
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    font = cjk_font()
    base = getSampleStyleSheet()
    body = ParagraphStyle("cjk", parent=base["BodyText"], fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    title = ParagraphStyle("cjk-title", parent=body, fontSize=16, leading=22, spaceAfter=8)
    heading = ParagraphStyle("cjk-h", parent=body, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    cell = ParagraphStyle("cjk-cell", parent=body, fontSize=8, leading=10)
    return font, body, title, heading, cell


def _p(text, style):
    from xml.sax.saxutils import escape

    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style)


def _table(rows, font, col_widths=None):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=col_widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 8),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _timeline_flowables(timeline, font, cell, heading):
    if not timeline:
        return []
    rows = [[_("Time"), _("State"), _("What happened")]]
    for row in timeline:
        from datetime import datetime

        at = datetime.fromisoformat(row["at"])
        rows.append([local_text(at), row.get("label", row["state"]), _p(row["text"], cell)])
    return [_p(_("Incident timeline"), heading), _table(rows, font, [110, 70, 300])]


# Sections other apps add about the company and incident (its own incident response): each is called
# with company= and incident= and returns [(heading, [line, ...], [[cell, ...], ...] or None), ...].
PACK_SECTIONS: list = []


def _extra_flowables(company, incident, font, body, heading, cell) -> list:
    flow = []
    for section in PACK_SECTIONS:
        for title, lines, rows in section(company=company, incident=incident):
            flow.append(_p(title, heading))
            flow += [_p(line, body) for line in lines]
            if rows:
                flow.append(_table([[_p(c, cell) for c in row] for row in rows], font))
    return flow


def _build(story_fn) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=40, rightMargin=40, topMargin=40, bottomMargin=40)
    doc.build(story_fn())
    return buffer.getvalue()


def request_pdf(request: ReissueRequest) -> bytes:
    """The printable application for a reissue request (Chinese text drawn with an embedded font)."""
    ctx = request_context(request)
    styles = _styles()
    font, body, _title, heading, cell = styles

    def story():
        return [
            *_request_header(request, styles),
            *_incident_section(ctx["incident"], ctx["timeline"], styles),
            *_extra_flowables(request.company, ctx["incident"], font, body, heading, cell),
            *_items_section(ctx["items"], ctx["totals"], styles),
            *_evidence_section(ctx["evidence"], styles),
            *_review_history(ctx["transitions"], styles),
            *_generated(ctx["generated_at"], styles),
        ]

    return _build(story)


def _request_header(request: ReissueRequest, styles) -> list:
    """Who asks for what and why, and where the request stands."""
    _font, body, title, _heading, _cell = styles
    company = request.company
    flow = [
        _p(_("Invoice reissue application") + f" {request.number}", title),
        _p(f"{_('Company')}: {company.name}  ({company.credit_code})", body),
        _p(f"{_('Region')}: {company.region}", body),
        _p(f"{_('Requested action')}: {request.get_action_display()}", body),
        _p(f"{_('Reason')}: {request.get_reason_display()}", body),
    ]
    if request.reason_detail:
        flow.append(_p(request.reason_detail, body))
    if request.counterparty_name or request.contact_name:
        flow.append(
            _p(
                f"{_('Customer / supplier')}: {request.counterparty_name}  {request.contact_name} "
                f"{request.contact_phone} {request.contact_email}",
                body,
            )
        )
    flow.append(_p(f"{_('State')}: {request.get_state_display()}", body))
    return flow


def _incident_section(incident, timeline, styles) -> list:
    """The incident the request cites: its title, span, impact and timeline (nothing without one)."""
    if incident is None:
        return []
    font, body, _title, heading, cell = styles
    flow = [
        _p(_("Incident"), heading),
        _p(
            f"{incident.title} — {local_text(incident.started_at)} → "
            f"{local_text(incident.ended_at) if incident.ended_at else _('ongoing')}",
            body,
        ),
    ]
    if incident.impact_summary:
        flow.append(_p(incident.impact_summary, body))
    return flow + _timeline_flowables(timeline, font, cell, heading)


def _items_section(items, totals, styles) -> list:
    """The affected invoices with a totals row."""
    font, _body, _title, heading, cell = styles
    header = [
        _("Invoice number"),
        _("Issue date"),
        _("Counterparty"),
        _("Amount"),
        _("Tax"),
        _("Total"),
        _("New number"),
    ]
    rows = [header]
    rows += [
        [
            item.invoice_key,
            item.issue_date.isoformat(),
            _p(item.counterparty_name, cell),
            f"{item.amount:,.2f}",
            f"{item.tax:,.2f}",
            f"{item.total:,.2f}",
            item.new_invoice_key,
        ]
        for item in items
    ]
    rows.append(
        [
            _("Total"),
            "",
            f"{len(items)}",
            f"{totals['amount']:,.2f}",
            f"{totals['tax']:,.2f}",
            f"{totals['total']:,.2f}",
            "",
        ]
    )
    return [_p(_("Affected invoices"), heading), _table(rows, font, [110, 60, 110, 60, 50, 60, 70])]


def _evidence_section(evidence, styles) -> list:
    """The supporting documents by kind and name (the files themselves go into the ZIP)."""
    if not evidence:
        return []
    _font, body, _title, heading, _cell = styles
    return [_p(_("Supporting documents"), heading)] + [
        _p(f"{index}. {file.get_kind_display()}: {file.original_name}", body)
        for index, file in enumerate(evidence, start=1)
    ]


def _review_history(transitions, styles) -> list:
    _font, body, _title, heading, _cell = styles
    flow = [_p(_("Review history"), heading)]
    for tr in transitions:
        who = str(tr.actor) if tr.actor else _("the portal")
        flow.append(_p(f"{local_text(tr.at)} · {tr.get_to_state_display()} · {who} {tr.comment}", body))
    return flow


def _generated(at, styles) -> list:
    from reportlab.platypus import Spacer

    _font, body, _title, _heading, _cell = styles
    return [Spacer(1, 12), _p(_("Generated %(at)s") % {"at": local_text(at)}, body)]


def request_xlsx(request: ReissueRequest) -> bytes:
    """The request's invoices as a sheet a reviewer can sum: headed in the reader's language."""
    columns = [
        Column(_("Invoice number"), width=24),
        Column(_("Invoice code"), width=14),
        Column(_("Invoice no."), width=12),
        Column(_("Issue date"), "date", width=12),
        Column(_("Counterparty"), width=28),
        Column(_("Counterparty tax ID"), width=22),
        Column(_("Amount"), "money", width=14, total=True),
        Column(_("Tax"), "money", width=12, total=True),
        Column(_("Total"), "money", width=14, total=True),
        Column(_("New invoice number"), width=24),
    ]
    rows = (
        [
            item.invoice_key,
            item.invoice_code,
            item.invoice_number,
            item.issue_date,
            item.counterparty_name,
            item.counterparty_tax_id,
            item.amount,
            item.tax,
            item.total,
            item.new_invoice_key,
        ]
        for item in request.items.all()
    )
    return xlsx_bytes(request.number, columns, rows)


def request_zip(request: ReissueRequest) -> BinaryIO:
    """PDF + XLSX + every evidence file, numbered and with safe names (no folders from users).

    Written to a temporary file, each evidence file copied in chunks: however many and large the files
    are, the pack never sits whole in memory. The caller streams the file back and closes it."""
    spool = tempfile.TemporaryFile()
    storage = storages["private"]
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{request.number}.pdf", request_pdf(request))
        archive.writestr(f"{request.number}-invoices.xlsx", request_xlsx(request))
        for index, evidence in enumerate(request.evidence.all(), start=1):
            name = f"evidence/{index:02d}-{evidence.kind}-{uploads.safe_archive_name(evidence.original_name)}"
            with storage.open(evidence.storage_name, "rb") as fh, archive.open(name, "w", force_zip64=True) as entry:
                shutil.copyfileobj(fh, entry, COPY_CHUNK)
    spool.seek(0)
    return spool
