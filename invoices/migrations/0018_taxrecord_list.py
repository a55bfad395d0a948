from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0017_invoice_period_includes_parties'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='taxrecord',
            index=models.Index(fields=['company', 'issue_date', 'invoice_key', 'id'], name='taxrecord_list'),
        ),
    ]
