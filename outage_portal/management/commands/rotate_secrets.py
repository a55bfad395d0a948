"""`manage.py rotate_secrets`: re-encrypt every stored secret with the first of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key in front of FIELD_ENCRYPTION_KEYS (keep the old one after it), restart,
run this, then drop the old key."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from outage_portal import fields


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (tax-source tokens, channel secrets) with the newest key."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, fields.EncryptedTextField):
                    continue
                # One row at a time: read with whichever key decrypts it, written back with the first.
                rows = model._base_manager.exclude(**{field.attname: ""}).values_list("pk", flat=True)
                for pk in rows.iterator():
                    with transaction.atomic():
                        obj = model._base_manager.select_for_update().only("pk", field.attname).get(pk=pk)
                        model._base_manager.filter(pk=pk).update(**{field.attname: getattr(obj, field.attname)})
                        total += 1
        self.stdout.write(f"re-encrypted {total} secrets with the first key")
