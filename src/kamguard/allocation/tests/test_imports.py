"""Kind `leads`: every row through intake; a second import of the same file allocates nothing twice."""

from __future__ import annotations

from kamguard.allocation.models import AllocationDecision, Intake
from kamguard.core.io.runner import import_run
from kamguard.customers.models import Customer

FILE = (
    "external_id,name,region,tier,expected_value,contact_name,contact_phone\n"
    "L-1,上海申华精密机械有限公司,310115,B,300000,张经理,13912345670\n"
    "L-2,上海东海船舶配件有限公司,上海市,C,,,\n"
    "L-3,上海徐汇云端软件有限公司,310115,Q,,,\n"
    "L-4,深圳市腾达电子科技有限公司,,C,,,\n"
).encode()


def test_leads_import_allocates_each_row_and_is_idempotent(world, alloc):
    from kamguard.customers.services.records import customer_create

    existing = customer_create(actor=world.carol, name="深圳市腾达电子科技有限公司", pool=alloc.pool)
    report = import_run(actor=world.sam, kind="leads", data=FILE, filename="leads.csv")
    statuses = {r.row: r.status for r in report.results}
    assert statuses == {2: "created", 3: "created", 4: "error", 5: "unchanged"}
    assert [(e.row, e.column) for e in report.errors] == [(4, "tier")]
    assert any(w.row == 5 for w in report.warnings)
    owners = dict(Customer.objects.filter(external_id__in=["L-1", "L-2"]).values_list("external_id", "owner_id"))
    assert owners == {"L-1": world.alice.pk, "L-2": world.bob.pk}  # round-robin in file order
    assert Intake.objects.get(duplicate_of=existing).channel == "import"
    again = import_run(actor=world.sam, kind="leads", data=FILE, filename="leads.csv")
    assert {r.row: r.status for r in again.results}[2] == "unchanged"
    assert AllocationDecision.objects.count() == 2


def test_leads_import_needs_a_supervisor(world, alloc):
    import pytest

    from kamguard.core.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        import_run(actor=world.alice, kind="leads", data=FILE, filename="leads.csv")
    assert not Intake.objects.exists()
