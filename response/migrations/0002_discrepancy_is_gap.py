from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("response", "0001_incident_response_and_counterparty_requests"),
    ]

    operations = [
        migrations.RenameField(model_name="counterpartyrequestitem", old_name="discrepancy", new_name="gap"),
    ]
