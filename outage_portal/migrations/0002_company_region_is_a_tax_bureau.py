"""A company's region is the provincial-level tax bureau it files with: a city (西安) becomes its
bureau (陕西). A value that names no known place stays for an admin to correct."""

from django.db import migrations

from notices.regions import resolve_region


def forward(apps, schema_editor):
    Company = apps.get_model("outage_portal", "Company")
    for company in Company.objects.all():
        region = resolve_region(company.region)
        if region and region != company.region:
            company.region = region
            company.save(update_fields=["region"])


class Migration(migrations.Migration):
    dependencies = [("outage_portal", "0001_initial")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
