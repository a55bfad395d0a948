"""Role checks shared by views and API: who may do what in a company."""

from __future__ import annotations

from outage_portal.models import Company, Membership, Role


def roles_in(user, company: Company | int) -> set[str]:
    if not user.is_authenticated:
        return set()
    company_id = company.pk if isinstance(company, Company) else company
    return set(Membership.objects.filter(user=user, company_id=company_id).values_list("role", flat=True))


def has_role(user, company: Company | int, *roles: Role | str) -> bool:
    return bool(roles_in(user, company) & {str(r) for r in roles})


def user_roles(user) -> set[str]:
    """Every role the user holds in any company (for navigation)."""
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user).values_list("role", flat=True).distinct())
