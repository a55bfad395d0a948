"""Accounts and tenancy: users, companies (taxpayers) and memberships with a role per company."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notices.regions import region_label, validate_region
from outage_portal.validators import validate_credit_code


class Role(models.TextChoices):
    FINANCE = "finance", _("Finance staff")
    ACCOUNTANT = "accountant", _("Accountant")
    REVIEWER = "reviewer", _("Reviewer")
    COMPANY_ADMIN = "company_admin", _("Company admin")


class User(AbstractUser):
    """A person who signs in. Belongs to companies through memberships."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            (
                "manage_notices",
                _("Can post and revise maintenance notices and incidents"),
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_notice_admin(self) -> bool:
        return self.has_perm("outage_portal.manage_notices")


# The largest id a row can have: primary keys are 64-bit.
LARGEST_ID = 2**63 - 1


class CompanyScopedQuerySet(models.QuerySet):
    """Querysets of objects owned by a company. `for_user` is the one tenancy filter.

    Models set `company_path` to the lookup that reaches their Company ("company" by default,
    e.g. "request__company" for a child row). A forged id of another company's object then
    simply does not exist for this user: views answer 404.
    """

    company_path = "company"

    def for_user(self, user, *, roles: list[str] | tuple[str, ...] | None = None):
        return self.filter(**{f"{self.company_path}__in": Company.objects.for_user(user, roles=roles).values("pk")})


class CompanyQuerySet(models.QuerySet):
    def for_user(self, user, *, roles: list[str] | tuple[str, ...] | None = None):
        if not user.is_authenticated:
            return self.none()
        memberships = Membership.objects.filter(user=user)
        if roles:
            memberships = memberships.filter(role__in=list(roles))
        return self.filter(pk__in=memberships.values("company_id"))


class Company(models.Model):
    """A taxpayer whose invoices the portal keeps and reconciles."""

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    region = models.CharField(
        _("tax bureau"),
        max_length=50,
        validators=[validate_region],
        help_text=_("The provincial-level tax bureau the company files with, e.g. 北京 or 陕西"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_code__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                name="company_credit_code_format",
                violation_error_message=_("A unified social credit code has 18 characters from 0-9 and A-Y."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.credit_code})"

    @property
    def bureau(self) -> str:
        """The region as its bureau signs: 国家税务总局陕西省税务局."""
        return region_label(self.region)


class Membership(models.Model):
    """A user's role in one company. One row per (user, company, role)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "company", "role"],
                name="membership_unique_role",
                violation_error_message=_("This user already has this role in this company."),
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values),
                name="membership_role_valid",
                violation_error_message=_("Unknown role."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.company.name} · {self.get_role_display()}"


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the beat's heartbeat task: shows the background jobs are alive."""

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M}"
