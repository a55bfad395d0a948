"""Each role logs in through the real form and sees the navigation that fits it; the language switch works."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("person", ["alice", "bob", "fiona", "carol", "nora"])
def test_each_role_logs_in_and_sees_its_navigation(request, login, person):
    user = request.getfixturevalue(person)
    page = login(user)
    nav = page.locator("#main-nav [data-nav]").evaluate_all("els => els.map(e => e.dataset.nav)")
    assert "home" in nav
    if person == "nora":
        assert "company-page-list" not in nav  # a notice admin belongs to no company
    else:
        assert "company-page-list" in nav
    assert page.locator("#current-user").inner_text() == user.username


def test_language_switch_turns_the_page_english_and_back(login, alice):
    page = login(alice)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "工作台" in page.locator("#main-nav").inner_text()
    page.click("#language-switch button[data-lang=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Dashboard" in page.locator("#main-nav").inner_text()
    page.click("#language-switch button[data-lang=zh-hans]")
    page.wait_for_selector("html[lang=zh-hans]")
    assert "工作台" in page.locator("#main-nav").inner_text()
