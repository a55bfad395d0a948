"""Secrets at rest: a copy of the database (a backup, a read replica, a leaked dump) holds no usable
tax-system token or channel secret, and a stored token is never sent to an address it was not entered
for. Keys rotate without losing a secret."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import translation

from invoices.models import TaxSource, TaxSourceKind
from invoices.sources.fetch import tax_source_save
from notices.notify import services as notify
from notices.notify.models import Channel
from outage_portal import fields
from outage_portal.secret_migration import encrypt_column

TOKEN = "tax-token-8f2b0c4d9e"
WEBHOOK_SECRET = "whsec-0123456789abcdef"


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def source_at(company, url: str, **options) -> TaxSource:
    return tax_source_save(company=company, kind=TaxSourceKind.API, base_url=url, **options)


def test_a_source_token_is_encrypted_in_the_database(beijing):
    source = source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    stored = raw("invoices_taxsource", "credential", source.pk)
    assert TOKEN not in stored and stored != TOKEN
    assert TaxSource.objects.get(pk=source.pk).credential == TOKEN  # the fetch still has it


def test_channel_secrets_are_encrypted_in_the_database(fiona):
    webhook = notify.channel_create(
        owner=fiona, name="ERP", kind="webhook", url="https://erp.example.cn/h", secret=WEBHOOK_SECRET
    )
    robot = notify.channel_create(
        owner=fiona,
        name="钉钉",
        kind="dingtalk",
        url="https://oapi.dingtalk.com/robot/send?access_token=t",
        secret="SECdingtalk0123456789",
    )
    assert WEBHOOK_SECRET not in raw("notices_channel", "secret", webhook.pk)
    assert "SECdingtalk" not in raw("notices_channel", "secret", robot.pk)
    assert Channel.objects.get(pk=webhook.pk).secret == WEBHOOK_SECRET


def test_plain_text_rows_from_before_are_encrypted_by_the_migration(beijing):
    source = source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    with connection.cursor() as cursor:  # as the row was stored before encryption
        cursor.execute("UPDATE invoices_taxsource SET credential = %s WHERE id = %s", [TOKEN, source.pk])
    forward, backward = encrypt_column("invoices_taxsource", "credential")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    forward(None, editor)
    forward(None, editor)  # running it again does not encrypt twice
    assert raw("invoices_taxsource", "credential", source.pk) != TOKEN
    assert TaxSource.objects.get(pk=source.pk).credential == TOKEN
    backward(None, editor)
    assert raw("invoices_taxsource", "credential", source.pk) == TOKEN


def test_keys_rotate_without_losing_a_secret(beijing, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    source = source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # the new key in front, the old one still listed
    assert TaxSource.objects.get(pk=source.pk).credential == TOKEN
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped
    assert TaxSource.objects.get(pk=source.pk).credential == TOKEN
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(Exception, match="FIELD_ENCRYPTION_KEYS"):
        TaxSource.objects.get(pk=source.pk)


# --- a token goes only where it was entered for ---------------------------------------------------------
@pytest.mark.parametrize(
    "new_url",
    [
        "https://attacker.example.com",  # another host
        "http://tax.example.cn",  # another scheme
        "https://tax.example.cn:8443",  # another port
    ],
)
def test_a_changed_host_scheme_or_port_needs_the_token_again(beijing, settings, new_url):
    settings.OUTBOUND_PORTS = [80, 443, 8443]
    source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    with translation.override("en"), pytest.raises(ValidationError, match="enter the access token again") as caught:
        source_at(beijing, new_url)
    assert "credential" in caught.value.message_dict
    assert TaxSource.objects.get(company=beijing).base_url == "https://tax.example.cn"
    changed = source_at(beijing, new_url, credential="a-new-token")
    assert changed.base_url == new_url and TaxSource.objects.get(company=beijing).credential == "a-new-token"


def test_other_changes_keep_the_stored_token(beijing):
    source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    source_at(beijing, "https://tax.example.cn/v2", timeout_seconds=30)  # same host: same token
    assert TaxSource.objects.get(company=beijing).credential == TOKEN


def test_the_api_asks_for_the_token_when_the_host_changes(beijing, carol, api_for):
    source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    api = api_for(carol)
    with translation.override("en"):
        response = api.patch(
            f"/api/tax-sources/{beijing.pk}/", {"base_url": "https://attacker.example.com"}, format="json"
        )
    assert response.status_code == 400 and "credential" in response.json()["error"]["fields"]
    assert TaxSource.objects.get(company=beijing).base_url == "https://tax.example.cn"


def test_the_settings_page_asks_for_the_token_when_the_host_changes(beijing, carol, client_for):
    source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    client = client_for(carol)
    page = client.get(f"/tax-sources/{beijing.pk}/")
    assert TOKEN.encode() not in page.content  # write-only
    response = client.post(
        f"/tax-sources/{beijing.pk}/",
        {
            "kind": "api",
            "base_url": "https://attacker.example.com",
            "credential": "",
            "timeout_seconds": 15,
            "max_retries": 3,
            "page_size": 200,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200  # the form again, with the reason
    assert TaxSource.objects.get(company=beijing).base_url == "https://tax.example.cn"
    assert TOKEN.encode() not in response.content


def test_secrets_are_never_shown_back(beijing, carol, fiona, api_for):
    source_at(beijing, "https://tax.example.cn", credential=TOKEN)
    body = api_for(carol).get(f"/api/tax-sources/{beijing.pk}/").content.decode()
    assert TOKEN not in body and '"has_credential":true' in body.replace(" ", "")
    notify.channel_create(
        owner=fiona, name="ERP", kind="webhook", url="https://erp.example.cn/h", secret=WEBHOOK_SECRET
    )
    assert WEBHOOK_SECRET not in api_for(fiona).get("/api/notification-channels/").content.decode()
    assert fields.is_encrypted(raw("notices_channel", "secret", Channel.objects.get().pk))


def test_production_without_its_own_keys_is_warned(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    assert [w.id for w in fields.check_encryption_keys(None)] == ["outage_portal.W010"]
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert fields.check_encryption_keys(None) == []
