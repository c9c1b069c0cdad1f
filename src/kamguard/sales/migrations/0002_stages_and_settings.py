from decimal import Decimal

from django.db import migrations

# The import format's stage codes (docs/import-formats.md); administrators rename and reorder them.
STAGES = [
    ("lead", "Lead", "线索", 10, 10, "open", []),
    ("qualified", "Qualified", "需求确认", 20, 25, "open", []),
    ("proposal", "Proposal", "方案报价", 30, 50, "open", ["visit"]),
    ("negotiation", "Negotiation", "商务谈判", 40, 75, "open", ["approved_quote"]),
    ("won", "Won", "赢单", 90, 100, "won", []),
    ("lost", "Lost", "输单", 95, 0, "lost", []),
]

# Out of the box: a manager may give up to 5% without approval, a supervisor up to 10%.
AUTHORITY = [("manager", Decimal("5.00"), "大客户经理"), ("supervisor", Decimal("10.00"), "主管 / 销售总监")]


def load(apps, schema_editor):
    Stage = apps.get_model("sales", "Stage")
    for code, name, name_zh, order, probability, outcome, steps in STAGES:
        Stage.objects.get_or_create(code=code, defaults={
            "name": name, "name_zh": name_zh, "order": order, "probability": probability, "outcome": outcome,
            "required_steps": steps})
    SalesSettings = apps.get_model("sales", "SalesSettings")
    SalesSettings.objects.get_or_create(pk=1)
    DiscountAuthority = apps.get_model("sales", "DiscountAuthority")
    for role, pct, note in AUTHORITY:
        DiscountAuthority.objects.get_or_create(role=role, grade=None, defaults={"max_discount_pct": pct,
                                                                                  "note": note})


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
