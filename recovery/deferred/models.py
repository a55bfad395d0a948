"""Deferred-filing applications (延期申报): reviewed like reissue requests (recovery/reissue/models.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ..reissue.models import ReviewedApplication, ReviewState, _state_constraints


class DeferredFiling(ReviewedApplication):
    """A deferred-filing application (延期申报) for a filing period whose deadline an outage covers."""

    filing_deadline = models.ForeignKey(
        "notices.FilingDeadline",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("filing deadline"),
    )
    period = models.DateField(_("period"), help_text=_("First day of the month being filed."))
    tax_type = models.CharField(_("tax type"), max_length=50, default="增值税")
    deadline = models.DateField(_("deadline"))
    requested_deadline = models.DateField(_("requested new deadline"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    # The incident's timeline as it stood when the application was submitted: the evidence the bureau sees.
    timeline_snapshot = models.JSONField(_("incident timeline"), default=list, blank=True)

    number_prefix = "DF"

    class Meta:
        verbose_name = _("deferred-filing application")
        verbose_name_plural = _("deferred-filing applications")
        ordering = ["-created_at", "-id"]
        constraints = [
            *_state_constraints("deferredfiling"),
            models.CheckConstraint(
                condition=~Q(state=ReviewState.REISSUED),
                name="deferredfiling_never_reissued",
                violation_error_message=_("A deferred-filing application is never reissued."),
            ),
            models.CheckConstraint(
                condition=~Q(state=ReviewState.WITHDRAWN),
                name="deferredfiling_never_withdrawn",
                violation_error_message=_("A deferred-filing application is closed, not withdrawn."),
            ),
            models.CheckConstraint(
                condition=Q(requested_deadline__isnull=True) | Q(requested_deadline__gt=F("deadline")),
                name="deferredfiling_later_deadline",
                violation_error_message=_("The requested deadline must be after the current one."),
            ),
        ]
