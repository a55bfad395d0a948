"""Writes for companies, users and memberships. Views, API and commands all call these."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from notices.regions import resolve_region
from outage_portal.models import Company, Membership, Role, User
from outage_portal.validators import normalise_tax_id


@transaction.atomic
def company_create(*, name: str, credit_code: str, region: str) -> Company:
    company = Company(
        name=name.strip(),
        credit_code=normalise_tax_id(credit_code),
        region=resolve_region(region) or region.strip(),
    )
    company.full_clean()
    company.save()
    return company


@transaction.atomic
def company_update(*, company: Company, name: str, region: str) -> Company:
    company.name = name.strip()
    company.region = resolve_region(region) or region.strip()  # 西安 → 陕西, the bureau it files with
    company.full_clean()
    company.save(update_fields=["name", "region"])
    return company


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    display_name: str = "",
    notice_admin: bool = False,
) -> User:
    user = User(
        username=username.strip(),
        email=email.strip(),
        display_name=display_name.strip(),
    )
    user.full_clean(exclude=["password"])
    if password:
        # AUTH_PASSWORD_VALIDATORS, as the password change form applies them.
        validate_password(password, user=user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if notice_admin:
        user_grant_notice_admin(user=user)
    return user


def user_grant_notice_admin(*, user: User) -> None:
    user.user_permissions.add(
        Permission.objects.get(codename="manage_notices", content_type__app_label="outage_portal")
    )


@transaction.atomic
def membership_grant(*, user: User, company: Company, role: Role | str) -> Membership:
    membership, _created = Membership.objects.get_or_create(user=user, company=company, role=Role(role))
    return membership


@transaction.atomic
def membership_revoke(*, membership: Membership) -> None:
    membership.delete()
