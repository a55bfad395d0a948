"""The demo scenario's foundation: a Beijing and a Xi'an company, one user per role.

Idempotent: running it again changes nothing and prints the same logins.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings

from outage_portal import services
from outage_portal.models import Company, Role, User

# Development only (DEBUG on). With DEBUG off (`load_demo --force`) each demo user gets a random
# password instead, printed once, so no published password ever opens a production portal.
DEMO_PASSWORD = "demo-2026-portal"


@dataclass(frozen=True)
class DemoCompany:
    key: str
    name: str
    credit_code: str
    region: str


BEIJING = DemoCompany("bj", "北京华信科技有限公司", "91110108MA01B2C3D0", "北京")
XIAN = DemoCompany("xa", "西安秦川贸易有限公司", "91610131MA6TX1Y2KC", "西安")
DEMO_COMPANIES = [BEIJING, XIAN]

# username -> (display name, company key or None, role or None)
DEMO_USERS: dict[str, tuple[str, str | None, str | None]] = {
    "bj_finance": ("王芳（北京·财务）", "bj", Role.FINANCE),
    "bj_accountant": ("李强（北京·会计）", "bj", Role.ACCOUNTANT),
    "bj_reviewer": ("张敏（北京·复核）", "bj", Role.REVIEWER),
    "bj_admin": ("赵磊（北京·管理员）", "bj", Role.COMPANY_ADMIN),
    "xa_finance": ("刘洋（西安·财务）", "xa", Role.FINANCE),
    "xa_accountant": ("陈静（西安·会计）", "xa", Role.ACCOUNTANT),
    "xa_reviewer": ("杨帆（西安·复核）", "xa", Role.REVIEWER),
    "xa_admin": ("周涛（西安·管理员）", "xa", Role.COMPANY_ADMIN),
    "notice_admin": ("孙丽（公告管理员）", None, None),
}


def demo_company(key: str) -> Company:
    spec = next(c for c in DEMO_COMPANIES if c.key == key)
    return Company.objects.get(credit_code=spec.credit_code)


def load(stdout) -> None:
    companies: dict[str, Company] = {}
    for spec in DEMO_COMPANIES:
        company = Company.objects.filter(credit_code=spec.credit_code).first()
        companies[spec.key] = company or services.company_create(
            name=spec.name, credit_code=spec.credit_code, region=spec.region
        )
    created: dict[str, str] = {}
    for username, (display_name, company_key, role) in DEMO_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            password = DEMO_PASSWORD if settings.DEBUG else secrets.token_urlsafe(12)
            user = services.user_create(
                username=username,
                password=password,
                email=f"{username}@example.com",
                display_name=display_name,
                notice_admin=username == "notice_admin",
            )
            created[username] = password
        if company_key:
            services.membership_grant(user=user, company=companies[company_key], role=role)
    if settings.DEBUG:
        stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    else:
        stdout.write("Demo logins (random passwords, shown only when the user is created):")
    for username, (display_name, _company, _role) in DEMO_USERS.items():
        password = "" if settings.DEBUG else created.get(username, "(unchanged)")
        stdout.write(f"  {username:<15} {display_name} {password}".rstrip())


def beijing_outage_window() -> tuple:
    """The demo's Beijing outage: a data-sync fault six days before the demo is loaded, 09:30 to
    16:00 the next day (Asia/Shanghai). The notices demo records it as an incident; the invoices demo
    makes the tax-system simulator miss the Beijing invoices issued inside it."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    shanghai = ZoneInfo("Asia/Shanghai")
    today = timezone.localdate(timezone=shanghai)
    start = datetime.combine(today - timedelta(days=6), time(9, 30), tzinfo=shanghai)
    end = datetime.combine(today - timedelta(days=5), time(16, 0), tzinfo=shanghai)
    return start, end
