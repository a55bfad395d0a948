"""Navigation that fits the signed-in user's roles."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from outage_portal.models import Role
from outage_portal.roles import user_roles

ANY_MEMBER = frozenset(Role.values)
SOURCE_KEEPERS = frozenset({Role.COMPANY_ADMIN, Role.ACCOUNTANT})

# (label, url name, who sees it, menu group). "notice_admin" is the site-wide permission, not a
# company role. Items of one group share a dropdown when more than one of them is shown, so the bar
# stays on one line at laptop width for the roles that see most.
NAV_ITEMS: list[tuple[str, str, frozenset[str], str]] = [
    (_("Dashboard"), "portal:home", ANY_MEMBER | {"notice_admin"}, ""),
    # --- notices ---
    (_("System status"), "notices:status-page", ANY_MEMBER | {"notice_admin"}, ""),
    (_("Manage notices"), "notices:manage-notice-list", frozenset({"notice_admin"}), ""),
    # --- recovery ---
    (_("Gaps"), "recovery:recovery-gap-list", ANY_MEMBER, ""),
    (_("Reissue requests"), "recovery:reissue-request-list", ANY_MEMBER, "recovery"),
    (_("Deferred filing"), "recovery:deferred-filing-list", ANY_MEMBER, "recovery"),
    (_("Hand-issued invoices"), "recovery:hand-issued-list", ANY_MEMBER, "recovery"),
    # --- invoices ---
    (_("Invoices"), "invoices:invoice-list", ANY_MEMBER, "invoices"),
    (_("Imports"), "invoices:import-list", ANY_MEMBER, "invoices"),
    (_("Tax-system sources"), "invoices:tax-source-list", SOURCE_KEEPERS, "invoices"),
    # --- subscriptions ---
    (_("Subscriptions"), "notices:notify-settings", ANY_MEMBER | {"notice_admin"}, ""),
    (_("Deliveries"), "notices:notify-deliveries", frozenset({"notice_admin"}), ""),
    # --- incident response ---
    (_("Incident response"), "response:response-list", ANY_MEMBER, "response"),
    (_("Orders"), "response:response-order-list", ANY_MEMBER, "response"),
    (_("Counterparty requests"), "response:response-request-list", ANY_MEMBER, "response"),
    (_("Companies"), "portal:company-page-list", ANY_MEMBER, ""),
]
GROUP_LABELS = {
    "recovery": pgettext_lazy("menu", "Recovery"),
    "invoices": pgettext_lazy("menu", "Invoices"),
    "response": pgettext_lazy("menu", "Incident response"),
}


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_roles": set(), "is_notice_admin": False}
    roles = user_roles(user)
    is_notice_admin = user.is_notice_admin
    if is_notice_admin:
        roles = roles | {"notice_admin"}
    current = getattr(getattr(request, "resolver_match", None), "view_name", None)
    shown = [(label, name, group) for label, name, audience, group in NAV_ITEMS if roles & audience]
    sizes: dict[str, int] = {}
    for _label, _name, group in shown:
        sizes[group] = sizes.get(group, 0) + 1
    items: list[dict] = []
    groups: dict[str, dict] = {}
    for label, name, group in shown:
        link = {"label": label, "url": reverse(name), "name": name.rpartition(":")[2], "active": name == current}
        if not group or sizes[group] < 2:
            items.append(link)
            continue
        if group not in groups:
            groups[group] = {"label": GROUP_LABELS[group], "group": group, "children": [], "active": False}
            items.append(groups[group])
        groups[group]["children"].append(link)
        groups[group]["active"] |= link["active"]
    return {"nav_items": items, "nav_roles": roles, "is_notice_admin": is_notice_admin}
