"""Build the demo's approval policies and a delegation through the approvals services.

Who does what: the administrator (IT) writes the policies — quotes by discount and customer tier, contracts by
amount (supervisor, then director, then finance), transfers (tier A customers also need the director) — and
changes one of them once, so its history shows a second version; the first regional supervisor delegates their
approvals to the sales director while on leave. One pending transfer (from the customers demo) is made
overdue so the inbox shows what an overdue step looks like.

Policies are written only for kinds whose app has registered its handler (sales, contracts, customers);
every kind without a policy is approved automatically, and recorded as such.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from kamguard.approvals.models import ApprovalPolicy, ApprovalStep, Delegation, StepStatus
from kamguard.approvals.registry import handler_for
from kamguard.approvals.services import delegation_create, policy_create, policy_update

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

SUPERVISOR = {"approver": "supervisor"}
DIRECTOR = {"approver": "director"}
FINANCE = {"approver": "finance"}


def _chain(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**step, "stage": index} for index, step in enumerate(steps, start=1)]


POLICIES: tuple[dict[str, Any], ...] = (
    # Quotes reach the engine only when a discount is beyond the submitter's authority (sales decides that).
    {"name": "报价：折扣 25% 及以上", "kind": "sales.quote", "priority": 10, "min_discount_pct": "25",
     "steps": _chain(SUPERVISOR, DIRECTOR), "due_hours": 24,
     "description": "大幅折扣须主管和销售总监依次审批。"},
    {"name": "报价：A 类客户折扣 15% 及以上", "kind": "sales.quote", "priority": 20, "min_discount_pct": "15",
     "tiers": "A", "steps": _chain(SUPERVISOR, DIRECTOR), "due_hours": 24,
     "description": "A 类客户价格敏感，15% 以上的折扣须总监复核。"},
    {"name": "报价：超出个人折扣权限", "kind": "sales.quote", "priority": 100, "steps": _chain(SUPERVISOR),
     "due_hours": 24, "description": "超出个人折扣权限的报价由直属主管审批。"},
    {"name": "合同：200 万元及以上", "kind": "contracts.contract", "priority": 10, "min_amount": "2000000",
     "steps": _chain(SUPERVISOR, DIRECTOR, FINANCE), "due_hours": 48,
     "description": "大额合同：主管、销售总监、财务依次审批。"},
    {"name": "合同：50 万至 200 万元", "kind": "contracts.contract", "priority": 20, "min_amount": "500000",
     "max_amount": "2000000", "steps": _chain(SUPERVISOR, DIRECTOR), "due_hours": 48,
     "description": "中等金额合同：主管、销售总监依次审批。"},
    {"name": "合同：10 万至 50 万元", "kind": "contracts.contract", "priority": 30, "min_amount": "100000",
     "max_amount": "500000", "steps": _chain(SUPERVISOR), "due_hours": 48,
     "description": "10 万元以下的合同无需审批（自动通过并留痕）。"},
    {"name": "客户转移：A 类客户", "kind": "customers.transfer", "priority": 10, "tiers": "A",
     "steps": _chain(SUPERVISOR, DIRECTOR), "due_hours": 72,
     "description": "A 类客户转移须主管和销售总监依次审批。"},
    {"name": "客户转移：其他客户", "kind": "customers.transfer", "priority": 100, "steps": _chain(SUPERVISOR),
     "due_hours": 72, "description": "由申请人的直属主管审批。"},
)


@dataclass
class BuiltApprovals:
    policies: list[int] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)
    delegation: int | None = None
    overdue_step: int | None = None


def approvals_build(world: BuiltWorld) -> BuiltApprovals:
    built = BuiltApprovals()
    admin = world.people.get("it")
    if admin is None:
        return built
    for spec in POLICIES:
        if handler_for(spec["kind"]) is None:
            if spec["kind"] not in built.skipped_kinds:
                built.skipped_kinds.append(spec["kind"])
            continue
        existing = ApprovalPolicy.objects.filter(kind=spec["kind"], name=spec["name"]).first()
        built.policies.append(existing.pk if existing else policy_create(actor=admin, **spec).pk)
    # A later adjustment: the director asked for a shorter deadline on big contracts (version 2, audited).
    big = ApprovalPolicy.objects.filter(pk__in=built.policies, kind="contracts.contract", priority=10).first()
    if big is not None and big.version == 1:
        policy_update(actor=admin, policy_id=big.pk, due_hours=36,
                      description="大额合同：主管、销售总监、财务依次审批；每步 36 小时内处理。")
    today = timezone.localdate()
    supervisors = sorted(k for k in world.people if k.endswith("-supervisor"))
    director = world.people.get("director")
    if supervisors and director is not None:
        away = world.people[supervisors[0]]
        if not Delegation.objects.filter(delegator=away, revoked_at__isnull=True, ends_on__gte=today).exists():
            built.delegation = delegation_create(actor=away, delegate_id=director.pk,
                                                 starts_on=today - dt.timedelta(days=1),
                                                 ends_on=today + dt.timedelta(days=6), reason="年假，期间审批由销售总监代理").pk
    # One pending step already past its deadline, so the inbox shows an overdue item.
    step = ApprovalStep.objects.filter(status=StepStatus.PENDING, request__status="pending").order_by("pk").first()
    if step is not None:
        ApprovalStep.objects.filter(pk=step.pk).update(due_at=timezone.now() - dt.timedelta(hours=6))
        built.overdue_step = step.pk
    return built
