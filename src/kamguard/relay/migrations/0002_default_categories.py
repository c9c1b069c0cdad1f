"""The categories a company starts with (administrators change them and their limits on the routing page)."""

from django.db import migrations

DEFAULTS = [
    # code, name, English name, receive, handle, feed back (hours)
    ("demand", "客户需求", "Customer demand", 8, 48, 72),
    ("complaint", "客户投诉", "Customer complaint", 4, 24, 48),
    ("competitor", "竞争动态", "Competitor move", 24, 72, 120),
    ("price", "价格与政策", "Price and policy", 24, 72, 120),
    ("delivery", "订单交付与回款", "Orders, delivery and payment", 8, 48, 72),
    ("other", "其他", "Other", 24, 120, 168),
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    category = apps.get_model("relay", "RelayCategory")
    for code, name, name_en, receive, handle, feedback in DEFAULTS:
        category.objects.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "receive_hours": receive, "handle_hours": handle,
            "feedback_hours": feedback})


class Migration(migrations.Migration):
    dependencies = [("relay", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
