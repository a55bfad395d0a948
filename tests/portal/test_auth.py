from django.core import mail

from tests.conftest import PASSWORD


def test_login_page_is_chinese_by_default(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "登录" in response.text


def test_password_reset_sends_an_email_with_a_working_link(client, alice):
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link[link.index("/accounts/reset/") :]
    response = client.get(path, follow=True)
    form_path = response.redirect_chain[-1][0]
    response = client.post(form_path, {"new_password1": "new-secret-pass-42", "new_password2": "new-secret-pass-42"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("new-secret-pass-42")


def test_password_change(client_for, alice):
    client = client_for(alice)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "another-long-pass-7", "new_password2": "another-long-pass-7"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another-long-pass-7")


def test_language_switch_names_each_language_in_itself(client, db):
    page = client.get("/accounts/login/").text
    assert ">English</button>" in page and ">简体中文</button>" in page
