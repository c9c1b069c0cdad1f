from django.db import migrations

DEFAULT_CONFLICTS = [
    ("auditor", "manager", "An auditor cannot own the customers they audit."),
    ("auditor", "supervisor", "An auditor cannot supervise the people they audit."),
    ("auditor", "finance", "An auditor cannot confirm the payments they audit."),
    ("admin", "auditor", "An auditor cannot administer the system that records their audits."),
    ("finance", "manager", "Whoever sells cannot confirm the payment for the sale."),
    ("external_auditor", "manager", "An external auditor holds no business role."),
    ("external_auditor", "supervisor", "An external auditor holds no business role."),
    ("admin", "external_auditor", "An external auditor holds no business role."),
]


def load(apps, schema_editor):
    from kamguard.org.regions import official_regions

    Region = apps.get_model("org", "Region")
    by_code = {}
    batch = []
    for code, name, level, parent, lng, lat in official_regions():
        region = Region(code=code, name=name, level=level, parent=by_code.get(parent), longitude=lng, latitude=lat)
        if level != "district":
            region.save()
            by_code[code] = region
        else:
            batch.append(region)
    Region.objects.bulk_create(batch, batch_size=1000)
    RoleConflict = apps.get_model("org", "RoleConflict")
    for a, b, reason in DEFAULT_CONFLICTS:
        first, second = sorted([a, b])
        RoleConflict.objects.get_or_create(role_a=first, role_b=second, defaults={"reason": reason})


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
