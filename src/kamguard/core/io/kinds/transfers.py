"""Kind `transfers`: owner changes that happened in the source system, through owner_change.

Rows are applied in `effective_on` order (file order within a day), each dated in the ownership ledger on
its day, so "who owned this customer on date D" holds for past dates. A row already in the ledger (same
customer, same new owner, same day) is unchanged, so importing a file twice changes nothing; a row dated
before the customer's last ledger entry would rewrite history and is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.io.kinds.common import Problems, date_parse
from kamguard.core.io.kinds.customers import (
    PersonLookup,
    bulk_import_authorise,
    owner_problem,
    registration_moment,
)
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import RowInvalid
from kamguard.customers.models import Customer, OwnershipChange, OwnershipKind
from kamguard.customers.selectors import customer_list, customer_visibility_q
from kamguard.customers.services.ownership import owner_change
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext


class TransfersKind(Kind):
    name = "transfers"
    label = gettext_lazy("Customer owner changes (transfers)")
    columns = ("customer", "to_owner", "effective_on", "reason")
    required = ("customer", "to_owner", "effective_on")
    import_right = Right.EDIT_BUSINESS_DATA
    import_min_scope = Scope.DEPARTMENT
    field_columns = {"to_owner": "to_owner", "reason": "reason", "owner": "to_owner"}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        bulk_import_authorise(ctx.actor)
        dated: list[tuple[dt.date, int, dict[str, str]]] = []
        for number, row in rows:
            problems = Problems()
            effective_on = date_parse(row.get("effective_on", ""), "effective_on", problems)
            if effective_on is None and not problems:
                problems.add("effective_on", _("This field is required."))
            if effective_on is not None and effective_on > timezone.localdate():
                problems.add("effective_on", _("%(date)s is in the future.") % {"date": effective_on.isoformat()})
            if problems or effective_on is None:
                ctx.fail(number, row.get("customer", ""), problems.items)
            else:
                dated.append((effective_on, number, row))
        people = PersonLookup()
        for effective_on, number, row in sorted(dated, key=lambda item: (item[0], item[1])):
            ctx.attempt(number, row.get("customer", ""), partial(self._apply, ctx, effective_on, row, people))

    @staticmethod
    def _apply(ctx: ImportContext, effective_on: dt.date, row: dict[str, str], people: PersonLookup) -> RowStatus:
        problems = Problems()
        reference = row.get("customer", "")
        visible = Customer.objects.all() if ctx.actor is None else Customer.objects.filter(
            customer_visibility_q(ctx.actor))
        customer = visible.filter(external_id=reference).first() if reference else None
        if not reference:
            problems.add("customer", _("This field is required."))
        elif customer is None:
            problems.add("customer", _("Unknown customer %(id)s: no such external id.") % {"id": reference})
        target_id = row.get("to_owner", "")
        target = people.get(target_id) if target_id else None
        if target_id and target is None:
            problems.add("to_owner", _("Unknown person %(id)s: no such external id.") % {"id": target_id})
        if problems:
            raise RowInvalid(problems.items)
        assert customer is not None
        moment = registration_moment(effective_on)
        day = (moment.replace(hour=0), moment.replace(hour=0) + dt.timedelta(days=1))
        if OwnershipChange.objects.filter(customer=customer, to_owner=target, effective_at__gte=day[0],
                                          effective_at__lt=day[1]).exists():
            return RowStatus.UNCHANGED  # this change is in the ledger already: imported before
        last = OwnershipChange.objects.filter(customer=customer).order_by("-effective_at", "-pk").first()
        if last is not None and moment < last.effective_at:
            raise RowInvalid([("effective_on", _(
                "The customer's ownership history already goes to %(last)s; a change dated %(date)s would rewrite "
                "it. Import the transfers in date order, after the customers.") % {
                "last": timezone.localtime(last.effective_at).date().isoformat(), "date": effective_on.isoformat()})])
        if (target.pk if target else None) == customer.owner_id:
            return RowStatus.UNCHANGED
        if target is not None:
            problem = owner_problem(target, effective_on)
            if not problem and ctx.actor is not None and not person_in_scope(ctx.actor, target):
                problem = _("%(name)s is outside your scope.") % {"name": target.full_name}
            if problem:
                raise RowInvalid([("to_owner", problem)])
        elif customer.pool_id is None:
            raise RowInvalid([("to_owner", _("The customer has no shared pool to go to; name an owner."))])
        reason = row.get("reason", "") or _("Transfer in the source system (import %(file)s)") % {
            "file": ctx.source or "-"}
        owner_change(customer=customer, expected_owner_id=customer.owner_id, new_owner=target,
                     kind=OwnershipKind.TRANSFER, actor=ctx.actor, reason=reason, effective_at=moment,
                     reference=f"import:{ctx.source}"[:80])
        return RowStatus.UPDATED

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        visible = customer_list(viewer=self.viewer(actor), status="").values("pk")
        changes = OwnershipChange.objects.filter(customer__in=visible).select_related("customer", "to_owner") \
            .order_by("customer__external_id", "customer_id", "effective_at", "pk")
        for change in changes:
            yield {
                "customer": change.customer.external_id or "",
                "to_owner": (change.to_owner.external_id or "") if change.to_owner else "",
                "effective_on": timezone.localtime(change.effective_at).date().isoformat(),
                "reason": change.reason,
            }


kind_register(TransfersKind())
