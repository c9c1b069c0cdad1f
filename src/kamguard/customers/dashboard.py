"""The customers section of the home dashboard: what waits for this person, from the data that exists."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamguard.core.dashboard import Figure, Section
from kamguard.customers.models import CustomerStatus, DisputeStatus, RequestStatus
from kamguard.customers.selectors import customer_list, dispute_list, transfer_request_list
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User


def customers_section(user: User) -> Section | None:
    visible = customer_list(viewer=user, status=CustomerStatus.ACTIVE)
    mine = visible.filter(owner=user)
    if not user.has_right(Right.EDIT_BUSINESS_DATA) and user.scope < Scope.ALL:
        return None
    tiers = dict(mine.order_by().values_list("tier").annotate(n=Count("pk")))
    today = timezone.localdate()
    disputes = dispute_list(viewer=user).filter(status__in=[DisputeStatus.OPEN, DisputeStatus.ANSWERED])
    section = Section("customers", _("Customers"))
    if user.scope >= Scope.DEPARTMENT:
        section.figures.append(Figure(_("Customers in my scope"), visible.filter(owner__isnull=False).count(),
                                      reverse("customers:team_customers")))
    section.figures += [
        Figure(_("My customers"), mine.count(), reverse("customers:my_customers")),
        Figure(_("Tier A / B / C"), f"{tiers.get('A', 0)} / {tiers.get('B', 0)} / {tiers.get('C', 0)}",
               tone="text"),
        Figure(_("In my pools, free to claim"), visible.filter(owner__isnull=True).count(),
               reverse("customers:pool_list")),
        Figure(_("My customers due for reclaim"), mine.filter(reclaim_warned_at__isnull=False).count(),
               reverse("customers:my_customers"), tone="warn"),
        Figure(_("Claims waiting for my answer"), disputes.filter(owner=user, status=DisputeStatus.OPEN).count(),
               reverse("customers:dispute_list"), tone="warn"),
        Figure(_("Disputes for me to decide"), disputes.filter(arbiter=user, status=DisputeStatus.ANSWERED).count()
               + disputes.filter(arbiter=user, status=DisputeStatus.OPEN, deadline__lt=today).count(),
               reverse("customers:dispute_list"), tone="warn"),
    ]
    if user.scope >= Scope.DEPARTMENT:
        pending = transfer_request_list(viewer=user, status=RequestStatus.PENDING).exclude(
            Q(requested_by=user) | Q(from_owner=user) | Q(to_owner=user))
        section.figures.append(Figure(_("Transfer requests to decide"), pending.count(),
                                      reverse("customers:transfer_list"), tone="warn"))
    return section
