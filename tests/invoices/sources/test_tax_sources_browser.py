"""A company admin points the company at the simulator through the real settings page."""

import pytest

from invoices.models import TaxSource
from tests.conftest import nav_click

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_company_admin_points_the_company_at_the_simulator(login, carol, beijing):
    page = login(carol)
    nav_click(page, "tax-source-list")
    page.click(f"#tax-source-table tr[data-company='{beijing.pk}'] a")
    page.select_option("#id_kind", "simulator")
    page.fill("#id_credential", "a-secret-simulator-token")
    page.fill("#id_page_size", "100")
    page.click("#tax-source-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    source = TaxSource.objects.get(company=beijing)
    assert (source.kind, source.credential, source.page_size) == ("simulator", "a-secret-simulator-token", 100)
    assert page.input_value("#id_credential") == ""
    assert "a-secret-simulator-token" not in page.content()
    assert page.locator("#credential-state").inner_text().strip()


def test_accountant_sees_the_source_without_a_form(login, alice, beijing):
    page = login(alice)
    nav_click(page, "tax-source-list")
    page.click(f"#tax-source-table tr[data-company='{beijing.pk}'] a")
    page.wait_for_selector("#tax-source-summary")
    assert page.locator("#tax-source-form").count() == 0
