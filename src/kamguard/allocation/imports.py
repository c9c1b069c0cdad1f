"""Kind `leads`: new customers from a file, each through `intake_submit` (channel `import`) — the duplicate check,
then the allocation rules decide the owner or pool. A row whose external id is already a customer is unchanged
(importing a file twice allocates nothing twice); a duplicate goes to the existing owner's attention and is
reported as unchanged with a warning; a possible duplicate without `duplicate_reason` is held for review
(warning); a bad value is a row error naming the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.allocation.models import IntakeChannel, IntakeOutcome
from kamguard.allocation.selectors import intake_list
from kamguard.allocation.services.intake import INTAKE_FIELDS, intake_submit
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.customers.models import Customer
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
        for number, row in rows:
            ctx.attempt(number, row.get("external_id", ""), partial(self._apply, ctx, number, row))

    @staticmethod
    def _apply(ctx: ImportContext, number: int, row: dict[str, str]) -> RowStatus:
        external_id = row.get("external_id", "").strip()
        if external_id and Customer.objects.filter(external_id=external_id).exists():
            return RowStatus.UNCHANGED
        fields = {k: v for k, v in row.items() if k in INTAKE_FIELDS and v not in ("", None)}
        intake = intake_submit(actor=ctx.actor, channel=IntakeChannel.IMPORT, fields=fields,
                               duplicate_reason=row.get("duplicate_reason", ""))
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
