"""Kind `leads`: new customers from a file, through `intake_submit_many` (channel `import`, the batch form of
`intake_submit`): the duplicate check, then the allocation rules decide the owner or pool. A row whose external
id is already a customer is unchanged (importing a file twice allocates nothing twice); a duplicate goes to the
existing owner's attention and is reported as unchanged with a warning; a possible duplicate without
`duplicate_reason` is held for review (warning); a bad value is a row error naming the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.allocation.models import Intake, IntakeChannel, IntakeOutcome
from kamguard.allocation.selectors import intake_list
from kamguard.allocation.services.batch import BATCH_SIZE, Lead, intake_submit_many
from kamguard.allocation.services.intake import INTAKE_FIELDS
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.customers.models import Customer
from kamguard.customers.services.bulk import BatchCache
from kamguard.org.domain.roles import Right, Scope

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext
    from kamguard.org.models import User

LEAD_COLUMNS = ("external_id", "name", "uscc", "english_name", "aliases", "region", "address", "website", "industry",
                "size", "tier", "source", "expected_value", "contact_name", "contact_title", "contact_phone",
                "contact_email", "note", "duplicate_reason")


class LeadsKind(Kind):
    name = "leads"
    label = gettext_lazy("Leads (new customers, allocated by the rules)")
    columns = LEAD_COLUMNS
    required = ("name",)
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.DEPARTMENT
    field_columns = {field: field for field in LEAD_COLUMNS}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        """In batches through `intake_submit_many` (file order within a batch; rows already customers by
        external id are unchanged and take no part)."""
        cache = BatchCache()
        for start in range(0, len(rows), BATCH_SIZE):
            chunk = rows[start:start + BATCH_SIZE]
            known = set(Customer.objects.filter(external_id__in=[
                r.get("external_id", "").strip() for _n, r in chunk if r.get("external_id", "").strip()]).values_list(
                "external_id", flat=True))
            todo = []
            for number, row in chunk:
                if row.get("external_id", "").strip() in known:
                    ctx.succeed(number, row.get("external_id", ""), RowStatus.UNCHANGED)
                else:
                    todo.append((number, row))
            leads = [Lead(fields={k: v for k, v in row.items() if k in INTAKE_FIELDS and v not in ("", None)},
                          duplicate_reason=row.get("duplicate_reason", "")) for _number, row in todo]
            results = intake_submit_many(actor=ctx.actor, channel=IntakeChannel.IMPORT, leads=leads, cache=cache)
            for (number, row), result in zip(todo, results, strict=True):
                if result.error is not None or result.intake is None:
                    ctx.fail(number, row.get("external_id", ""), ctx.domain_problems(result.error) if result.error
                             else [("", _("Not imported."))])
                else:
                    ctx.succeed(number, row.get("external_id", ""), self._status(ctx, number, result.intake))

    @staticmethod
    def _status(ctx: ImportContext, number: int, intake: Intake) -> RowStatus:
        if intake.outcome == IntakeOutcome.DUPLICATE:
            ctx.warn(number, "name", _("Already a customer (%(name)s): its owner was told; no second owner.") % {
                "name": intake.duplicate_of.name if intake.duplicate_of else ""})
            return RowStatus.UNCHANGED
        if intake.outcome == IntakeOutcome.HELD:
            ctx.warn(number, "duplicate_reason", _("Similar customers exist: held for review. Give a "
                                                   "duplicate_reason to register it anyway."))
            return RowStatus.UNCHANGED
        return RowStatus.CREATED

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        viewer = self.viewer(actor)
        for intake in intake_list(viewer=viewer, channel=IntakeChannel.IMPORT).iterator(chunk_size=1000):
            fields = intake.fields or {}
            row = {column: str(fields.get(column, "") or "") for column in LEAD_COLUMNS}
            if isinstance(fields.get("aliases"), list):
                row["aliases"] = "|".join(fields["aliases"])
            row["duplicate_reason"] = intake.duplicate_reason
            yield row


kind_register(LeadsKind())
