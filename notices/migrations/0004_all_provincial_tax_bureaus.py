"""The catalogue covers all 36 provincial-level tax bureaus, each with the same systems.

Rows that named a city as their region (西安) move to the bureau serving it (陕西), with the city's
slug prefix replaced by the bureau's. Subscriptions, incident scopes and filing deadlines that name a
city follow. Regions an admin added that name no known place stay as they are.
"""

from django.db import migrations

from notices.regions import BY_NAME, REGIONS, SYSTEMS, resolve_region


def _region_of(value: str) -> str:
    return resolve_region(value) or value


def forward(apps, schema_editor):
    TaxSystem = apps.get_model("notices", "TaxSystem")
    Incident = apps.get_model("notices", "Incident")
    Subscription = apps.get_model("notices", "Subscription")
    FilingDeadline = apps.get_model("notices", "FilingDeadline")

    for system in TaxSystem.objects.all():
        region = _region_of(system.region)
        if region == system.region or TaxSystem.objects.filter(region=region, name=system.name).exists():
            continue  # already a bureau, or the bureau has this system already: an admin merges by hand
        old_prefix = system.slug.split("-", 1)[0]
        new_slug = system.slug.replace(old_prefix, BY_NAME[region].slug, 1)
        system.region = region
        if not TaxSystem.objects.filter(slug=new_slug).exists():
            system.slug = new_slug
        system.save(update_fields=["region", "slug"])

    for index, region in enumerate(REGIONS):
        for number, (suffix, name, functions, description) in enumerate(SYSTEMS):
            slug = f"{region.slug}-{suffix}"
            order = (index + 1) * 100 + number * 10
            system = TaxSystem.objects.filter(region=region.name, name=name).first()
            if system is None:
                TaxSystem.objects.create(
                    region=region.name,
                    name=name,
                    slug=slug if not TaxSystem.objects.filter(slug=slug).exists() else f"{slug}-{index}",
                    functions=functions,
                    description=description,
                    sort_order=order,
                )
            elif system.slug == slug:
                system.sort_order = order  # the seeded rows follow the national order
                system.save(update_fields=["sort_order"])

    for incident in Incident.objects.exclude(impact_regions=[]):
        regions = list(dict.fromkeys(_region_of(r) for r in incident.impact_regions))
        if regions != incident.impact_regions:
            incident.impact_regions = regions
            incident.save(update_fields=["impact_regions"])
    for subscription in Subscription.objects.exclude(regions=[]):
        regions = list(dict.fromkeys(_region_of(r) for r in subscription.regions))
        if regions != subscription.regions:
            subscription.regions = regions
            subscription.save(update_fields=["regions"])
    for deadline in FilingDeadline.objects.exclude(region=""):
        region = _region_of(deadline.region)
        clash = FilingDeadline.objects.filter(region=region, period=deadline.period, tax_type=deadline.tax_type)
        if region != deadline.region and not clash.exists():
            deadline.region = region
            deadline.save(update_fields=["region"])


class Migration(migrations.Migration):
    dependencies = [("notices", "0003_subscriptions")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
