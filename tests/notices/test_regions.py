"""The catalogue covers the 36 provincial-level tax bureaus; cities land on the bureau that serves them."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from notices import selectors
from notices.models import Incident, TaxSystem
from notices.notify.models import Subscription
from notices.regions import REGION_NAMES, REGIONS, place_table, resolve_region
from outage_portal import services
from outage_portal.models import Company


def _code(base: str) -> str:
    from outage_portal.validators import credit_code_check_character

    return base + credit_code_check_character(base)


SEPARATELY_PLANNED = {"大连", "青岛", "宁波", "厦门", "深圳"}


def test_the_catalogue_names_all_36_bureaus_as_they_sign():
    assert len(REGIONS) == 36 and len(set(REGION_NAMES)) == 36
    assert SEPARATELY_PLANNED <= set(REGION_NAMES)
    bureaus = {r.name: r.bureau for r in REGIONS}
    assert bureaus["陕西"] == "国家税务总局陕西省税务局"
    assert bureaus["深圳"] == "国家税务总局深圳市税务局"
    assert bureaus["内蒙古"] == "国家税务总局内蒙古自治区税务局"
    assert bureaus["广西"] == "国家税务总局广西壮族自治区税务局"
    assert bureaus["新疆"] == "国家税务总局新疆维吾尔自治区税务局"
    assert bureaus["北京"] == "国家税务总局北京市税务局"


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("西安", "陕西"),
        ("西安市", "陕西"),
        ("成都", "四川"),
        ("广州", "广东"),
        ("深圳", "深圳"),
        ("深圳市", "深圳"),
        ("大连", "大连"),
        ("青岛市", "青岛"),
        ("宁波", "宁波"),
        ("厦门", "厦门"),
        ("沈阳", "辽宁"),
        ("济南", "山东"),
        ("杭州", "浙江"),
        ("福州", "福建"),
        ("延边州", "吉林"),
        ("延边朝鲜族自治州", "吉林"),
        ("阿克苏地区", "新疆"),
        ("锡林郭勒盟", "内蒙古"),
        ("海南", "海南"),  # the province, not 海南藏族自治州
        ("陕西省", "陕西"),
        ("国家税务总局陕西省税务局", "陕西"),
        ("国家税务总局西安市雁塔区税务局", "陕西"),
        ("Shaanxi", "陕西"),
        ("shanxi", "山西"),
        ("火星", ""),
        ("", ""),
    ],
)
def test_places_resolve_to_their_bureau(written, region):
    assert resolve_region(written) == region


def test_every_prefecture_level_division_has_a_bureau():
    table = place_table()
    assert sum(1 for name in table if name.endswith(("市", "地区", "盟", "自治州"))) >= 333
    assert set(table.values()) == set(REGION_NAMES)


@pytest.mark.django_db
def test_every_bureau_has_its_systems_after_migrating_and_no_city_is_a_region():
    for region in REGION_NAMES:
        names = set(TaxSystem.objects.filter(region=region).values_list("name", flat=True))
        assert names == {"增值税发票管理系统", "电子税务局", "数电发票平台", "自然人电子税务局（扣缴端）"}, region
    assert not TaxSystem.objects.filter(region="西安").exists()
    assert TaxSystem.objects.get(slug="shaanxi-vat-invoice").region == "陕西"


@pytest.mark.django_db
def test_the_data_migration_moves_city_rows_to_their_bureau():
    system = TaxSystem.objects.create(region="成都", name="出口退税管理系统", slug="chengdu-export", functions=["file"])
    company = Company.objects.create(name="成都蓉城贸易有限公司", credit_code="91510100MA6CXXXX0L", region="成都")
    subscription = Subscription.objects.create(email="a@example.com", regions=["西安", "北京"], kinds=["x"])
    incident = Incident.objects.create(
        system=system, title="故障", functions=["file"], started_at="2030-01-01T00:00Z", impact_regions=["广州"]
    )
    importlib.import_module("notices.migrations.0004_all_provincial_tax_bureaus").forward(apps, None)
    importlib.import_module("outage_portal.migrations.0002_company_region_is_a_tax_bureau").forward(apps, None)
    system.refresh_from_db()
    assert (system.region, system.slug) == ("四川", "sichuan-export")
    company.refresh_from_db()
    assert company.region == "四川"
    subscription.refresh_from_db()
    assert subscription.regions == ["陕西", "北京"]
    incident.refresh_from_db()
    assert incident.impact_regions == ["广东"]


@pytest.mark.django_db
def test_companies_pick_their_bureau_and_a_city_is_stored_as_its_bureau(client_for, carol, beijing):
    xian = services.company_create(name="西安某某有限公司", credit_code=_code("916101000MA6TXXX1"), region="西安")
    assert xian.region == "陕西" and xian.bureau == "国家税务总局陕西省税务局"
    with pytest.raises(ValidationError) as refused:
        services.company_create(name="某公司", credit_code=_code("916101000MA6TXXX2"), region="火星")
    assert "火星" in str(refused.value.message_dict["region"])
    page = client_for(carol).get(f"/companies/{beijing.pk}/").content.decode()
    assert page.count("<option") >= 36 and "国家税务总局深圳市税务局" in page and "国家税务总局北京市税务局" in page
    client_for(carol).post(f"/companies/{beijing.pk}/", {"name": beijing.name, "region": "深圳"})
    assert Company.objects.get(pk=beijing.pk).region == "深圳"


@pytest.mark.django_db
def test_a_notice_from_the_bureau_and_one_naming_the_city_land_on_the_same_system():
    by_bureau, system_a = selectors.notice_text_proposal(
        text="国家税务总局陕西省税务局关于增值税发票管理系统升级的通告\n2030年10月12日20:00至10月13日8:00升级。"
    )
    by_city, system_b = selectors.notice_text_proposal(
        text="西安增值税发票管理系统将于2030年10月12日20:00至10月13日8:00停机。"
    )
    assert by_bureau.region == by_city.region == "陕西"
    assert system_a == system_b == TaxSystem.objects.get(slug="shaanxi-vat-invoice")
