"""Seed the catalogue with real regions and the three systems each region's taxpayers use.

Notice admins edit it afterwards (add regions, retire systems); this runs once and never overwrites.
"""

from django.db import migrations

# (slug prefix, region) — provincial-level tax regions plus the cities the product grew from.
REGIONS = [
    ("beijing", "北京"),
    ("xian", "西安"),
    ("shanghai", "上海"),
    ("guangdong", "广东"),
    ("shenzhen", "深圳"),
    ("jiangsu", "江苏"),
    ("zhejiang", "浙江"),
    ("sichuan", "四川"),
]

# (slug suffix, name, functions, description)
SYSTEMS = [
    (
        "vat-invoice",
        "增值税发票管理系统",
        ["issue", "query", "certify", "red_letter", "download"],
        "税控设备开具增值税专用发票、普通发票和电子发票。",
    ),
    (
        "etax",
        "电子税务局",
        ["query", "certify", "file", "download"],
        "网上申报、发票勾选确认、涉税查询。",
    ),
    (
        "digital-invoice",
        "数电发票平台",
        ["issue", "query", "certify", "red_letter", "download"],
        "全面数字化的电子发票（数电票）开具、交付与查验。",
    ),
]


def seed(apps, schema_editor):
    TaxSystem = apps.get_model("notices", "TaxSystem")
    order = 0
    for slug_prefix, region in REGIONS:
        for slug_suffix, name, functions, description in SYSTEMS:
            order += 10
            TaxSystem.objects.get_or_create(
                region=region,
                name=name,
                defaults={
                    "slug": f"{slug_prefix}-{slug_suffix}",
                    "functions": functions,
                    "description": description,
                    "sort_order": order,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_catalogue_notices_incidents")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
