"""API tokens moved to django-rest-knox (hashed, expiring). The old plain-text tokens of DRF's
authtoken app are dropped: they never expired, and whoever read the table could use them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("outage_portal", "0003_company_region_is_a_bureau_field"), ("knox", "__first__")]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop)]
