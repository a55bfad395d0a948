"""Celery tasks for invoice records (take ids, idempotent)."""

from __future__ import annotations

# --- tax-system sources (issue 5) ---
from invoices.sources.tasks import tax_fetch_execute_task

__all__ = ["tax_fetch_execute_task"]
