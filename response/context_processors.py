"""The company-wide "invoicing paused" banner every member sees in the page header."""

from __future__ import annotations

from .models import InvoicingPause
from .services import paused_company_ids


def invoicing_paused(request):
    """Costs no query while no company is paused (the paused companies' ids are cached, rewritten
    on every pause and lift and every minute), one while some company is."""
    user = getattr(request, "user", None)
    ids = paused_company_ids()
    if not ids or user is None or not user.is_authenticated:
        return {"invoicing_pauses": []}
    pauses = (
        InvoicingPause.objects.for_user(user)
        .filter(lifted_at__isnull=True, company_id__in=ids)
        .select_related("company", "paused_by", "response")
    )
    return {"invoicing_pauses": list(pauses)}
