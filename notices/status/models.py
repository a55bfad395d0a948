"""The status page's own rows: a function's state and the per-day cache of it.

Registered with the `notices` app (its tables keep their names); `notices.models` imports this module
so Django finds them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ComponentState(models.TextChoices):
    """A system function's state, worst last (the order is used to pick the worst of several)."""

    OPERATIONAL = "operational", _("Operational")
    MAINTENANCE = "maintenance", _("Maintenance")
    DEGRADED = "degraded", _("Degraded")
    OUTAGE = "outage", _("Outage")


class StatusDay(models.Model):
    """Precomputed worst state of a system on one Asia/Shanghai calendar day (the 90-day history bar)."""

    system = models.ForeignKey("notices.TaxSystem", on_delete=models.CASCADE, related_name="status_days")
    day = models.DateField()
    state = models.CharField(max_length=20, choices=ComponentState.choices)
    minutes_down = models.PositiveIntegerField(default=0)  # outage + degraded minutes that day
    minutes_maintenance = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["system", "day"]
        constraints = [models.UniqueConstraint(fields=["system", "day"], name="statusday_unique_day")]

    def __str__(self) -> str:
        return f"{self.system_id} {self.day} {self.state}"
