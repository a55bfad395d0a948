import pytest
from django.core.management import CommandError, call_command

from outage_portal.models import Company, Membership, User


def test_create_company_checks_the_credit_code(db):
    call_command("create_company", name="测试公司", credit_code="91350100M000100Y43", region="福州")
    assert Company.objects.get(credit_code="91350100M000100Y43").region == "福建"  # 福州 files with 福建's bureau
    with pytest.raises(CommandError):
        call_command("create_company", name="坏公司", credit_code="91350100M000100Y44", region="福州")
    assert Company.objects.count() == 1


def test_create_user_takes_password_from_environment(db, monkeypatch, beijing):
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "a-long-enough-password")
    call_command("create_user", "dora", company=beijing.credit_code, role="reviewer")
    dora = User.objects.get(username="dora")
    assert dora.check_password("a-long-enough-password")
    assert Membership.objects.filter(user=dora, company=beijing, role="reviewer").exists()


def test_create_user_refuses_unknown_company(db, monkeypatch):
    monkeypatch.setenv("PORTAL_USER_PASSWORD", "a-long-enough-password")
    with pytest.raises(CommandError):
        call_command("create_user", "dora", company="91350100M000100Y43", role="reviewer")
    assert not User.objects.filter(username="dora").exists()


def test_load_demo_is_idempotent(db):
    call_command("load_demo", force=True)
    counts = (Company.objects.count(), User.objects.count(), Membership.objects.count())
    call_command("load_demo", force=True)
    assert (Company.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    assert counts[0] >= 2
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"finance", "accountant", "reviewer", "company_admin"}
    assert User.objects.get(username="notice_admin").is_notice_admin
