from django.db import migrations

RULES = [
    (1, "exact", "Same invoice code and number (or 数电 number) as written", False),
    (2, "normalised", "Same normalised invoice key", False),
    (3, "fuzzy", "Same seller, buyer and total within the fuzzy day window: suggestion only", True),
]


def seed(apps, schema_editor):
    MatchRule = apps.get_model("recovery", "MatchRule")
    for position, method, description, suggests_only in RULES:
        MatchRule.objects.update_or_create(
            method=method, defaults={"position": position, "description": description, "suggests_only": suggests_only}
        )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
