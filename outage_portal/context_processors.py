"""Navigation that fits the signed-in user's roles."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from outage_portal.models import Role
from outage_portal.roles import user_roles

ANY_MEMBER = frozenset(Role.values)

# (label, url name, who sees it). "notice_admin" is the site-wide permission, not a company role.
NAV_ITEMS: list[tuple[str, str, frozenset[str]]] = [
    (_("Dashboard"), "home", ANY_MEMBER | {"notice_admin"}),
    # --- notices ---
    (_("System status"), "status-page", ANY_MEMBER | {"notice_admin"}),
    (_("Manage notices"), "manage-notice-list", frozenset({"notice_admin"})),
    # --- subscriptions ---
    (_("Subscriptions"), "notify-settings", ANY_MEMBER | {"notice_admin"}),
    (_("Deliveries"), "notify-deliveries", frozenset({"notice_admin"})),
    # --- invoices ---
    (_("Invoices"), "invoice-list", ANY_MEMBER),
    (_("Imports"), "import-list", ANY_MEMBER),
    (_("Tax-system sources"), "tax-source-list", frozenset({Role.COMPANY_ADMIN, Role.ACCOUNTANT})),
    # --- recovery ---
    (_("Gaps"), "recovery-gap-list", ANY_MEMBER),
    (_("Reissue requests"), "reissue-request-list", ANY_MEMBER),
    (_("Hand-issued invoices"), "hand-issued-list", ANY_MEMBER),
    # --- incident response ---
    (_("Incident response"), "response-list", ANY_MEMBER),
    (_("Orders"), "response-order-list", ANY_MEMBER),
    (_("Counterparty requests"), "response-request-list", ANY_MEMBER),
    (_("Companies"), "company-list", ANY_MEMBER),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_roles": set(), "is_notice_admin": False}
    roles = user_roles(user)
    is_notice_admin = user.is_notice_admin
    if is_notice_admin:
        roles = roles | {"notice_admin"}
    items = [
        {"label": label, "url": reverse(name), "name": name} for label, name, audience in NAV_ITEMS if roles & audience
    ]
    return {"nav_items": items, "nav_roles": roles, "is_notice_admin": is_notice_admin}
