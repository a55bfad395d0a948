# The plain company_id index of Invoice and TaxRecord duplicates the leading column of the
# (company, direction, invoice_key) unique index (and of the period and parties indexes); dropping
# it makes every import write one index fewer. Only the index is dropped: AlterField alone would
# also drop and re-validate the foreign key, scanning the whole table under an exclusive lock.

import django.db.models.deletion
from django.db import migrations, models


def _drop_index(table: str, name: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("company_id")',
    )


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0006_merge_tax_fetch"),
        ("outage_portal", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=model_name,
                    name="company",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="outage_portal.company",
                    ),
                )
                for model_name in ("invoice", "taxrecord")
            ],
            database_operations=[
                _drop_index("invoices_invoice", "invoices_invoice_company_id_a45ffcca"),
                _drop_index("invoices_taxrecord", "invoices_taxrecord_company_id_1b707f47"),
            ],
        ),
    ]
