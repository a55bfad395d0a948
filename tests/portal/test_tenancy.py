"""A user of one company never sees or changes another company's objects, in pages or API."""

from outage_portal.models import Company


def test_member_sees_only_own_companies_on_the_company_page(client_for, alice, xian):
    response = client_for(alice).get("/companies/")
    assert response.status_code == 200
    assert "北京华信科技有限公司" in response.text
    assert "西安秦川贸易有限公司" not in response.text


def test_forged_company_id_is_404_in_pages(client_for, alice, xian):
    assert client_for(alice).get(f"/companies/{xian.pk}/").status_code == 404


def test_forged_company_id_is_404_in_the_api(api_for, alice, xian):
    assert api_for(alice).get(f"/api/companies/{xian.pk}/").status_code == 404
    assert api_for(alice).patch(f"/api/companies/{xian.pk}/", {"name": "x"}, format="json").status_code == 404
    xian.refresh_from_db()
    assert xian.name == "西安秦川贸易有限公司"


def test_api_lists_only_own_companies_with_roles(api_for, alice, bob, charlie):
    data = api_for(alice).get("/api/companies/").json()
    assert [c["credit_code"] for c in data["results"]] == ["91110108MA01B2C3D0"]
    assert data["results"][0]["my_roles"] == ["accountant"]


def test_only_a_company_admin_changes_the_company(api_for, client_for, alice, carol, beijing):
    denied = api_for(alice).patch(f"/api/companies/{beijing.pk}/", {"region": "天津"}, format="json")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    ok = api_for(carol).patch(f"/api/companies/{beijing.pk}/", {"region": "北京市"}, format="json")
    assert ok.status_code == 200
    assert Company.objects.get(pk=beijing.pk).region == "北京"  # stored as the bureau's short name


def test_company_admin_edits_in_the_page_and_others_are_refused(client_for, alice, carol, beijing):
    client = client_for(alice)
    client.post(f"/companies/{beijing.pk}/", {"name": "改名", "region": "北京"})
    assert Company.objects.get(pk=beijing.pk).name == "北京华信科技有限公司"
    client = client_for(carol)
    response = client.post(f"/companies/{beijing.pk}/", {"name": "北京华信科技股份有限公司", "region": "北京"})
    assert response.status_code == 302
    assert Company.objects.get(pk=beijing.pk).name == "北京华信科技股份有限公司"


def test_anonymous_users_are_sent_to_login(client, beijing):
    response = client.get("/companies/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.get("/api/companies/").status_code in (401, 403)


def test_company_list_query_count_is_constant(client_for, alice, beijing, django_assert_max_num_queries):
    from outage_portal import services
    from outage_portal.models import Role

    for i in range(5):
        c = services.company_create(name=f"分公司{i}", credit_code=_code(i), region="北京")
        services.membership_grant(user=alice, company=c, role=Role.FINANCE)
    client = client_for(alice)
    with django_assert_max_num_queries(8):
        assert client.get("/companies/").status_code == 200


def _code(i: int) -> str:
    from outage_portal.validators import credit_code_check_character

    base = f"9111010{i}MA01B2C3D"[:17]
    return base + credit_code_check_character(base)
