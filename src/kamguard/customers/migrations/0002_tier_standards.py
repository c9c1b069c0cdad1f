from django.db import migrations

STANDARDS = [
    ("A", 4, 8, "Strategic: a visit every week, two contacts a week."),
    ("B", 2, 4, "Important: a visit every two weeks."),
    ("C", 1, 2, "Regular: a visit a month."),
]


def load(apps, schema_editor):
    TierStandard = apps.get_model("customers", "TierStandard")
    for tier, visits, contacts, description in STANDARDS:
        TierStandard.objects.get_or_create(tier=tier, defaults={
            "visits_per_month": visits, "contacts_per_month": contacts, "description": description})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
