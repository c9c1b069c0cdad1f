"""Every write of the approval engine: submit, decide, withdraw, policies, delegations, reminders.

Concurrency: each decision first moves the request's `revision` by a conditional update
(`UPDATE … WHERE revision = seen AND status = 'pending'`); of two concurrent decisions on one request exactly
one changes a row, the other is told the request changed meanwhile. This holds on SQLite (IMMEDIATE
transactions) and PostgreSQL (the second UPDATE waits for the first and then finds nothing to change).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.approvals import domain
from kamguard.approvals.domain import ApprovalFacts, StepSpec
from kamguard.approvals.models import (
    ApprovalEvent,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
    Delegation,
    StepStatus,
)
from kamguard.approvals.registry import SubjectHandler, handler_for
from kamguard.core.audit import audit_record, snapshot
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.org.domain.roles import (
    Right,
    Role,
    Scope,
    SelfApprovalError,
    conflicting_pairs,
    ensure_not_own_request,
)
from kamguard.org.models import Department, RoleConflict, User
from kamguard.org.scopes import person_in_scope

logger = logging.getLogger(__name__)

REMIND_BEFORE = dt.timedelta(hours=4)


# ---------------------------------------------------------------- helpers

def _handler(kind: str) -> SubjectHandler:
    handler = handler_for(kind)
    if handler is None:
        raise ValidationFailed(_("Nothing of the kind %(kind)s can be submitted for approval.") % {"kind": kind},
                               code="unknown_kind", field_errors={"kind": [_("Unknown kind.")]})
    return handler


def _event(request: ApprovalRequest, *, action: str, actor: User | None, step: ApprovalStep | None = None,
           on_behalf_of: User | None = None, reason: str = "") -> None:
    ApprovalEvent.objects.create(request=request, step=step, action=action, actor=actor, on_behalf_of=on_behalf_of,
                                 reason=reason)


def _today() -> dt.date:
    return timezone.localdate()


def _is_absent(user_id: int, day: dt.date) -> bool:
    from kamguard.allocation.models import Absence

    return Absence.objects.filter(person_id=user_id, starts_on__lte=day, ends_on__gte=day).exists()


def active_delegations(*, day: dt.date | None = None) -> Any:
    day = day or _today()
    return Delegation.objects.filter(revoked_at__isnull=True, starts_on__lte=day, ends_on__gte=day)


def _has_delegate(user_id: int, kind: str, day: dt.date) -> bool:
    return any(d.covers(kind) for d in active_delegations(day=day).filter(delegator_id=user_id))


def _can_approve(user: User) -> bool:
    return user.is_active and user.has_right(Right.EDIT_BUSINESS_DATA)


# ---------------------------------------------------------------- resolving a chain

def _heads_up_from(department: Department | None) -> list[int]:
    """Department heads from `department` up to the root (ids, nearest first)."""
    found: list[int] = []
    seen: set[int] = set()
    while department is not None and department.pk not in seen:
        seen.add(department.pk)
        if department.head_id:
            found.append(department.head_id)
        department = department.parent
    return found


def _usable(user_id: int, *, excluded: set[int], kind: str, day: dt.date) -> bool:
    if user_id in excluded:
        return False
    user = User.objects.filter(pk=user_id).first()
    if user is None or not _can_approve(user):
        return False
    # Absent without a delegate: the step goes further up rather than waiting for someone who is away.
    return not (_is_absent(user_id, day) and not _has_delegate(user_id, kind, day))


def _supervising(user_id: int) -> bool:
    user = User.objects.filter(pk=user_id).first()
    return user is not None and user.scope >= Scope.DEPARTMENT and _can_approve(user)


def _supervisor_chain(requester: User) -> list[int]:
    """The requester's line upwards, supervisors only (a team leader who is a manager does not approve): their
    reporting line (`supervisor`, then theirs …), then the department heads up the tree."""
    chain: list[int] = []
    seen: set[int] = {requester.pk}
    boss = requester.supervisor
    while boss is not None and boss.pk not in seen and len(seen) < 50:
        seen.add(boss.pk)
        chain.append(boss.pk)
        boss = boss.supervisor
    chain.extend(_heads_up_from(requester.department))
    ordered: list[int] = []
    for user_id in chain:
        if user_id not in ordered and user_id != requester.pk and _supervising(user_id):
            ordered.append(user_id)
    return ordered


def _resolve(spec: StepSpec, *, requester: User, excluded: set[int], kind: str,
             day: dt.date) -> tuple[int | None, str]:
    """(approver id, role) for one step: a person, or None with the role whose holders decide."""
    line = [u for u in _supervisor_chain(requester) if _usable(u, excluded=excluded, kind=kind, day=day)]
    if spec.approver == domain.SUPERVISOR:
        return (line[0], "") if line else (None, Role.SUPERVISOR.value)
    if spec.approver == domain.DIRECTOR:
        supervisor = line[0] if line else None
        if supervisor is not None:
            sup_user = User.objects.select_related("department__parent").get(pk=supervisor)
            above = sup_user.department.parent if sup_user.department else None
            for user_id in _heads_up_from(above):
                if user_id != supervisor and _supervising(user_id) and _usable(
                        user_id, excluded=excluded, kind=kind, day=day):
                    return user_id, ""
        return (line[1], "") if len(line) > 1 else (None, Role.SUPERVISOR.value)
    if spec.approver == domain.FINANCE:
        return None, Role.FINANCE.value
    if spec.approver == domain.ROLE:
        return None, spec.role
    if spec.approver == domain.PERSON and spec.user_id is not None and _usable(
            spec.user_id, excluded=excluded, kind=kind, day=day):
        return spec.user_id, ""
    # A named person who cannot decide (a party, inactive, away): the requester's supervisor instead.
    return (line[0], "") if line else (None, Role.SUPERVISOR.value)


def _policy_for(kind: str, facts: ApprovalFacts) -> ApprovalPolicy | None:
    policies = [(p, p.rule) for p in ApprovalPolicy.objects.filter(kind=kind, is_active=True).order_by("priority", "pk")]
    found: ApprovalPolicy | None = domain.pick_policy(policies, facts)
    return found


def chain_preview(*, kind: str, facts: ApprovalFacts, requester: User,
                  parties: tuple[int, ...] = ()) -> tuple[ApprovalPolicy | None, list[tuple[StepSpec, int | None, str]]]:
    """The policy and the resolved steps a request would get (nothing is written)."""
    handler = _handler(kind)
    policy = _policy_for(kind, facts)
    specs = policy.chain if policy is not None else list(handler.default_steps)
    excluded = {requester.pk, *parties}
    day = _today()
    resolved = [(spec, *_resolve(spec, requester=requester, excluded=excluded, kind=kind, day=day)) for spec in specs]
    keep = domain.dedupe_chain([(spec.stage, approver, role) for spec, approver, role in resolved])
    kept = [resolved[i] for i in keep]
    # Renumber stages 1..n after dropped steps.
    stages: dict[int, int] = {}
    out = []
    for spec, approver, role in kept:
        stages.setdefault(spec.stage, len(stages) + 1)
        out.append((StepSpec(stage=stages[spec.stage], approver=spec.approver, role=spec.role,
                             user_id=spec.user_id), approver, role))
    return policy, out


# ---------------------------------------------------------------- notifications

def _notify(step: ApprovalStep, *, subject: str, body: str) -> None:
    """E-mail the step's approver (or the role's holders) and their delegates, after the commit."""
    request = step.request
    if step.approver_id:
        ids = {step.approver_id}
    else:
        ids = set(User.objects.filter(is_active=True, role_assignments__role=step.role).values_list("pk", flat=True))
    ids |= {d.delegate_id for d in active_delegations().filter(delegator_id__in=ids) if d.covers(request.kind)}
    ids.discard(request.requested_by_id)
    recipients = [e for e in User.objects.filter(pk__in=ids, is_active=True).exclude(email="")
                  .values_list("email", flat=True)]
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject, body, None, recipients, fail_silently=False)
        except Exception:  # a mail server down must not undo the approval work
            logger.warning("approval notification for step %s not sent", step.pk, exc_info=True)

    transaction.on_commit(send)


def _activate_stage(request: ApprovalRequest, stage: int, *, now: dt.datetime, due_hours: int) -> None:
    steps = list(request.steps.filter(stage=stage, status=StepStatus.WAITING))
    ApprovalStep.objects.filter(pk__in=[s.pk for s in steps]).update(
        status=StepStatus.PENDING, due_at=now + dt.timedelta(hours=due_hours))
    ApprovalRequest.objects.filter(pk=request.pk).update(current_stage=stage)
    request.current_stage = stage
    for step in steps:
        step.refresh_from_db()
        _notify(step, subject=_("Approval needed: %(summary)s") % {"summary": request.summary},
                body=_("%(who)s asks for your approval: %(summary)s") % {"who": request.requested_by,
                                                                         "summary": request.summary})


# ---------------------------------------------------------------- submit, decide, withdraw

@transaction.atomic
def approval_submit(*, actor: User, kind: str, subject_id: int, facts: ApprovalFacts, summary: str) -> ApprovalRequest:
    """Open an approval request for a subject; the policy for (kind, facts) decides the chain.

    No policy (and no default chain for the kind) → the request is created APPROVED with auto=True and the
    handler's `on_approved` runs at once. A subject with a pending request → Conflict "approval_pending".
    """
    handler = _handler(kind)
    if not _can_approve(actor):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    summary = (summary or "").strip()[:300] or handler.describe(subject_id)
    if facts.discount_pct is not None and not (Decimal(0) <= facts.discount_pct <= Decimal(100)):
        raise ValidationFailed(field_errors={"discount_pct": [_("A discount is between 0 and 100%.")]})
    if facts.amount is not None and facts.amount < 0:
        raise ValidationFailed(field_errors={"amount": [_("The amount cannot be negative.")]})
    if ApprovalRequest.objects.filter(kind=kind, subject_id=subject_id, status=ApprovalStatus.PENDING).exists():
        raise Conflict(_("This is already waiting for approval."), code="approval_pending")
    parties = tuple(handler.parties(subject_id))
    policy, resolved = chain_preview(kind=kind, facts=facts, requester=actor, parties=parties)
    now = timezone.now()
    auto = not resolved
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                kind=kind, subject_id=subject_id, requested_by=actor, summary=summary, facts=facts.as_json(),
                customer_id=facts.customer_id, policy=policy, policy_version=policy.version if policy else None,
                policy_name=policy.name if policy else "",
                status=ApprovalStatus.APPROVED if auto else ApprovalStatus.PENDING, auto=auto,
                decided_at=now if auto else None)
    except IntegrityError as exc:
        raise Conflict(_("This is already waiting for approval."), code="approval_pending") from exc
    ApprovalStep.objects.bulk_create([
        ApprovalStep(request=request, stage=spec.stage, approver_type=spec.approver, approver_id=approver,
                     role=role) for spec, approver, role in resolved])
    chain = [{"stage": spec.stage, "approver": approver, "role": role} for spec, approver, role in resolved]
    if auto:
        _event(request, action="auto_approved", actor=actor,
               reason=_("No policy requires approval.") if policy is None else _("The policy has no steps."))
        audit_record(actor=actor, action="approvals.request.auto_approved", obj=request,
                     changes={"kind": kind, "subject_id": subject_id, "facts": facts.as_json()})
        handler.on_approved(request, actor=actor)
        return request
    _event(request, action="submitted", actor=actor, reason=summary)
    audit_record(actor=actor, action="approvals.request.submitted", obj=request,
                 changes={"kind": kind, "subject_id": subject_id, "facts": facts.as_json(), "chain": chain,
                          "policy": {"id": policy.pk if policy else None,
                                     "version": policy.version if policy else None}})
    _activate_stage(request, 1, now=now, due_hours=policy.due_hours if policy else 48)
    return request


def _visible_request(actor: User, request_id: int) -> ApprovalRequest:
    from kamguard.approvals.selectors import request_list

    request = request_list(viewer=actor).filter(pk=request_id).select_related("requested_by").first()
    if request is None:
        raise NotFound()
    return request


def acting_step(request: ApprovalRequest, actor: User, *, day: dt.date | None = None
                ) -> tuple[ApprovalStep | None, User | None]:
    """The pending step `actor` may decide now, and whom they act for (a delegator) — (None, None) if none."""
    if request.status != ApprovalStatus.PENDING or not _can_approve(actor):
        return None, None
    day = day or _today()
    pending = list(request.steps.filter(status=StepStatus.PENDING, stage=request.current_stage)
                   .select_related("approver"))
    for step in pending:
        if step.approver_id == actor.pk:
            return step, None
    for step in pending:
        if step.approver_id is None and step.role in {r.value for r in actor.roles} and person_in_scope(
                actor, request.requested_by):
            return step, None
    delegators = {d.delegator_id: d for d in active_delegations(day=day).filter(delegate=actor)
                  if d.covers(request.kind)}
    for step in pending:
        if step.approver_id in delegators:
            return step, step.approver
    return None, None


def _check_segregation(request: ApprovalRequest, actor: User, handler: SubjectHandler,
                       on_behalf_of: User | None) -> None:
    parties = tuple(handler.parties(request.subject_id))
    try:
        ensure_not_own_request(requester_id=request.requested_by_id, approver_id=actor.pk, extra_party_ids=parties)
        if on_behalf_of is not None:
            ensure_not_own_request(requester_id=request.requested_by_id, approver_id=on_behalf_of.pk,
                                   extra_party_ids=parties)
    except SelfApprovalError as exc:
        raise PermissionRefused(_("You are a party to this request, so someone else must decide it."),
                                code="self_approval") from exc
    declared = [(Role(a), Role(b), reason) for a, b, reason in
                RoleConflict.objects.values_list("role_a", "role_b", "reason")]
    found = conflicting_pairs(set(actor.roles), declared)
    if found:
        a, b, reason = found[0]
        raise PermissionRefused(
            _("You hold the incompatible roles %(a)s and %(b)s (%(reason)s), so you cannot approve. Ask an "
              "administrator to correct your roles.") % {"a": a.value, "b": b.value, "reason": reason},
            code="role_conflict")
    if request.steps.filter(decided_by=actor).exists():
        raise PermissionRefused(_("You already decided a step of this request; another person must decide this one."),
                                code="one_step_per_person")


@transaction.atomic
def approval_decide(*, actor: User, request_id: int, approve: bool, reason: str = "") -> ApprovalRequest:
    """Approve or reject the step the actor may decide (their own, their role's, or a delegator's)."""
    request = _visible_request(actor, request_id)
    handler = _handler(request.kind)
    reason = (reason or "").strip()
    if request.status != ApprovalStatus.PENDING:
        raise Conflict(_("This request was already decided."), code="already_decided")
    if actor.pk == request.requested_by_id or actor.pk in handler.parties(request.subject_id):
        _check_segregation(request, actor, handler, None)
    step, on_behalf_of = acting_step(request, actor)
    if step is None:
        raise PermissionRefused(_("This request is not waiting for your decision."), code="not_your_step",
                                extra={"right": "approval.decide"})
    _check_segregation(request, actor, handler, on_behalf_of)
    if not approve and not reason:
        raise ValidationFailed(field_errors={"reason": [_("Say why you reject the request.")]})
    handler.check_decide(request, actor=actor, approve=approve)
    now = timezone.now()
    if ApprovalRequest.objects.filter(pk=request.pk, status=ApprovalStatus.PENDING,
                                      revision=request.revision).update(revision=request.revision + 1) != 1:
        raise Conflict(_("Someone decided this request meanwhile. Reload and look again."), code="already_decided")
    if ApprovalStep.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(
            status=StepStatus.APPROVED if approve else StepStatus.REJECTED, decided_by=actor,
            on_behalf_of=on_behalf_of, decided_at=now, reason=reason) != 1:
        raise Conflict(_("Someone decided this request meanwhile. Reload and look again."), code="already_decided")
    step.refresh_from_db()
    _event(request, action="step_approved" if approve else "step_rejected", actor=actor, step=step,
           on_behalf_of=on_behalf_of, reason=reason)
    audit_record(actor=actor, action="approvals.step.approved" if approve else "approvals.step.rejected", obj=request,
                 changes={"step": step.pk, "stage": step.stage,
                          "on_behalf_of": on_behalf_of.pk if on_behalf_of else None}, reason=reason)
    request.refresh_from_db()
    if not approve:
        _finish(request, status=ApprovalStatus.REJECTED, actor=actor, reason=reason, now=now)
        handler.on_rejected(request, actor=actor)
        return request
    stage_statuses = request.steps.filter(stage=step.stage).values_list("status", flat=True)
    if domain.stage_outcome(stage_statuses) != "approved":
        return request
    next_stage = request.steps.filter(stage__gt=step.stage).order_by("stage").values_list("stage", flat=True).first()
    if next_stage is not None:
        due_hours = request.policy.due_hours if request.policy else 48
        _activate_stage(request, next_stage, now=now, due_hours=due_hours)
        _event(request, action="stage_started", actor=None, reason=str(next_stage))
        return request
    _finish(request, status=ApprovalStatus.APPROVED, actor=actor, reason=reason, now=now)
    handler.on_approved(request, actor=actor)
    return request


def _finish(request: ApprovalRequest, *, status: str, actor: User | None, reason: str, now: dt.datetime) -> None:
    ApprovalRequest.objects.filter(pk=request.pk).update(status=status, decided_at=now, decided_by=actor,
                                                         outcome_reason=reason)
    request.steps.filter(status__in=[StepStatus.WAITING, StepStatus.PENDING]).update(status=StepStatus.SKIPPED)
    request.refresh_from_db()
    _event(request, action=status, actor=actor, reason=reason)
    audit_record(actor=actor, action=f"approvals.request.{status}", obj=request, reason=reason,
                 changes={"status": {"before": ApprovalStatus.PENDING, "after": status}})


@transaction.atomic
def approval_withdraw(*, actor: User, request_id: int, reason: str = "") -> ApprovalRequest:
    """The requester takes a pending request back."""
    request = _visible_request(actor, request_id)
    if request.requested_by_id != actor.pk:
        raise PermissionRefused(_("Only the requester can withdraw a request."), code="not_requester",
                                extra={"right": "approval.withdraw"})
    if request.status != ApprovalStatus.PENDING:
        raise Conflict(_("This request was already decided."), code="already_decided")
    if ApprovalRequest.objects.filter(pk=request.pk, status=ApprovalStatus.PENDING,
                                      revision=request.revision).update(revision=request.revision + 1) != 1:
        raise Conflict(_("Someone decided this request meanwhile. Reload and look again."), code="already_decided")
    _finish(request, status=ApprovalStatus.WITHDRAWN, actor=actor, reason=(reason or "").strip(), now=timezone.now())
    _handler(request.kind).on_withdrawn(request, actor=actor)
    return request


# ---------------------------------------------------------------- policies

POLICY_FIELDS = ("name", "kind", "priority", "is_active", "min_amount", "max_amount", "min_discount_pct", "tiers",
                 "steps", "due_hours", "description")


def _require_admin(actor: User) -> None:
    if not actor.has_right(Right.MANAGE_ORG):
        raise PermissionRefused(_("Only an administrator manages approval policies."),
                                extra={"right": str(Right.MANAGE_ORG)})


def _policy_clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Give the policy a name.")]
    kind = str(values.get("kind") or "").strip()
    if handler_for(kind) is None:
        errors["kind"] = [_("Choose a kind of request.")]
    for key in ("min_amount", "max_amount", "min_discount_pct"):
        raw = values.get(key)
        value = domain.decimal_or_none(raw)
        if raw not in (None, "") and value is None:
            errors[key] = [_("Enter a number.")]
        elif value is not None and value < 0:
            errors[key] = [_("The value cannot be negative.")]
        values[key] = value
    if values["min_discount_pct"] is not None and values["min_discount_pct"] > 100:
        errors["min_discount_pct"] = [_("A discount is between 0 and 100%.")]
    if values["min_amount"] is not None and values["max_amount"] is not None and \
            values["max_amount"] <= values["min_amount"]:
        errors["max_amount"] = [_("The upper bound must be above the lower bound.")]
    tiers = domain.tiers_parse(str(values.get("tiers") or ""))
    if any(t not in domain.TIERS for t in tiers):
        errors["tiers"] = [_("Tiers are A, B or C.")]
    values["tiers"] = ",".join(tiers)
    steps, step_errors = domain.steps_parse(values.get("steps") or [], roles=[r.value for r in Role])
    person_ids = [s.user_id for s in steps if s.user_id is not None]
    if person_ids and User.objects.filter(pk__in=person_ids, is_active=True).count() != len(set(person_ids)):
        step_errors.append(_("A named approver is not an active person."))
    if step_errors:
        errors["steps"] = [str(e) for e in step_errors]
    values["steps"] = [s.as_json() for s in steps]
    try:
        due_hours = int(values.get("due_hours") or 48)
    except (TypeError, ValueError):
        due_hours = -1
    if not 1 <= due_hours <= 24 * 60:
        errors["due_hours"] = [_("Between 1 hour and 60 days.")]
    values["due_hours"] = due_hours
    try:
        raw_priority = values.get("priority")
        values["priority"] = int(str(raw_priority)) if raw_priority not in (None, "") else 100
        if values["priority"] < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["priority"] = [_("Enter a whole number, 0 or more.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    values["name"], values["kind"] = name, kind
    values["description"] = str(values.get("description") or "").strip()
    values["is_active"] = bool(values.get("is_active", True))
    return values


@transaction.atomic
def policy_create(*, actor: User, **fields: Any) -> ApprovalPolicy:
    _require_admin(actor)
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    values = _policy_clean(dict(fields))
    policy = ApprovalPolicy.objects.create(created_by=actor, updated_by=actor, **values)
    audit_record(actor=actor, action="approvals.policy.created", obj=policy,
                 changes=snapshot(policy, POLICY_FIELDS))
    return policy


@transaction.atomic
def policy_update(*, actor: User, policy_id: int, **fields: Any) -> ApprovalPolicy:
    """Change a policy: its version goes up by one; requests keep the version they were submitted under."""
    _require_admin(actor)
    policy = ApprovalPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound()
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    before = snapshot(policy, POLICY_FIELDS)
    merged = {**before, **fields}
    values = _policy_clean(merged)
    for key, value in values.items():
        setattr(policy, key, value)
    after = snapshot(policy, POLICY_FIELDS)
    changes = {k: {"before": before[k], "after": after[k]} for k in POLICY_FIELDS if before[k] != after[k]}
    if not changes:
        return policy
    version = policy.version
    if ApprovalPolicy.objects.filter(pk=policy.pk, version=version).update(
            **values, version=version + 1, updated_by=actor, updated_at=timezone.now()) != 1:
        raise Conflict(_("Someone changed this policy meanwhile. Reload and try again."), code="policy_changed")
    policy.refresh_from_db()
    audit_record(actor=actor, action="approvals.policy.changed", obj=policy,
                 changes={**changes, "version": {"before": version, "after": version + 1}})
    return policy


@transaction.atomic
def policy_deactivate(*, actor: User, policy_id: int) -> ApprovalPolicy:
    """Policies are never deleted (requests name them): they are switched off."""
    return policy_update(actor=actor, policy_id=policy_id, is_active=False)


# ---------------------------------------------------------------- delegations

@transaction.atomic
def delegation_create(*, actor: User, delegate_id: int | None, starts_on: dt.date | None, ends_on: dt.date | None,
                      kinds: str = "", reason: str = "", delegator_id: int | None = None) -> Delegation:
    """The actor (or, for an administrator, `delegator_id`) lets the delegate decide their steps for a period."""
    if delegator_id is not None and delegator_id != actor.pk:
        if not actor.has_right(Right.MANAGE_USERS):
            raise PermissionRefused(_("You can only delegate your own approvals."), extra={"right": "users.manage"})
        delegator = User.objects.filter(pk=delegator_id, is_active=True).first()
        if delegator is None:
            raise ValidationFailed(field_errors={"delegator": [_("Choose an active person.")]})
    else:
        if not _can_approve(actor):
            raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
        delegator = actor
    errors: dict[str, list[str]] = {}
    delegate = User.objects.filter(pk=delegate_id, is_active=True).first() if delegate_id else None
    if delegate is None or not _can_approve(delegate):
        errors["delegate"] = [_("Choose an active person who may approve.")]
    elif delegate.pk == delegator.pk:
        errors["delegate"] = [_("Choose someone else.")]
    if starts_on is None:
        errors["starts_on"] = [_("Enter the first day.")]
    if ends_on is None:
        errors["ends_on"] = [_("Enter the last day.")]
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = [_("The last day is before the first.")]
    if ends_on and ends_on < _today():
        errors["ends_on"] = [_("The period is over already.")]
    known = {k for k, _label in _kinds()}
    kind_list = [k.strip() for k in (kinds or "").split(",") if k.strip()]
    if any(k not in known for k in kind_list):
        errors["kinds"] = [_("Unknown kind of request.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    assert starts_on is not None and ends_on is not None and delegate is not None  # noqa: S101 (checked above)
    if Delegation.objects.filter(
            delegator=delegator, revoked_at__isnull=True, starts_on__lte=ends_on, ends_on__gte=starts_on).exists():
        raise ValidationFailed(_("A delegation for this person overlaps these days. Revoke it first."),
                               code="delegation_overlap", field_errors={"starts_on": [_("Overlaps a delegation.")]})
    if Delegation.objects.filter(delegator=delegate, delegate=delegator, revoked_at__isnull=True,
                                 starts_on__lte=ends_on, ends_on__gte=starts_on).exists():
        raise ValidationFailed(_("The delegate has delegated to this person for these days: that would loop."),
                               code="delegation_loop", field_errors={"delegate": [_("Delegations would loop.")]})
    delegation = Delegation.objects.create(delegator=delegator, delegate=delegate, starts_on=starts_on,
                                           ends_on=ends_on, kinds=",".join(kind_list), reason=(reason or "").strip(),
                                           created_by=actor)
    audit_record(actor=actor, action="approvals.delegation.created", obj=delegation,
                 changes={"delegator": delegator.pk, "delegate": delegate.pk, "starts_on": starts_on,
                          "ends_on": ends_on, "kinds": delegation.kinds}, reason=reason)
    return delegation


def _kinds() -> list[tuple[str, str]]:
    from kamguard.approvals.registry import registered_kinds

    return registered_kinds()


@transaction.atomic
def delegation_revoke(*, actor: User, delegation_id: int) -> Delegation:
    qs = Delegation.objects.filter(pk=delegation_id)
    if not actor.has_right(Right.MANAGE_USERS):
        qs = qs.filter(Q(delegator=actor) | Q(created_by=actor))
    delegation = qs.first()
    if delegation is None:
        raise NotFound()
    if Delegation.objects.filter(pk=delegation.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) != 1:
        raise Conflict(_("This delegation was revoked already."), code="already_revoked")
    delegation.refresh_from_db()
    audit_record(actor=actor, action="approvals.delegation.revoked", obj=delegation)
    return delegation


# ---------------------------------------------------------------- deadlines and reminders (a periodic job)

def approval_reminders_run(*, now: dt.datetime | None = None) -> dict[str, list[int]]:
    """Remind approvers of steps due soon, and flag overdue steps (once each). Safe to run twice: each step is
    claimed by a conditional update on `reminded_at` / `overdue_at` before anything is sent."""
    now = now or timezone.now()
    report: dict[str, list[int]] = {"reminded": [], "overdue": []}
    due_soon = ApprovalStep.objects.filter(status=StepStatus.PENDING, reminded_at__isnull=True, overdue_at__isnull=True,
                                           due_at__gt=now, due_at__lte=now + REMIND_BEFORE,
                                           request__status=ApprovalStatus.PENDING)
    for step_id in list(due_soon.values_list("pk", flat=True)):
        with transaction.atomic():
            if ApprovalStep.objects.filter(pk=step_id, reminded_at__isnull=True).update(reminded_at=now) != 1:
                continue
            step = ApprovalStep.objects.select_related("request__requested_by").get(pk=step_id)
            _notify(step, subject=_("Reminder: approval due %(due)s") % {
                "due": f"{timezone.localtime(step.due_at):%Y-%m-%d %H:%M}" if step.due_at else ""},
                body=_("Waiting for your decision: %(summary)s") % {"summary": step.request.summary})
            _event(step.request, action="reminded", actor=None, step=step)
        report["reminded"].append(step_id)
    overdue = ApprovalStep.objects.filter(status=StepStatus.PENDING, overdue_at__isnull=True, due_at__lte=now,
                                          request__status=ApprovalStatus.PENDING)
    for step_id in list(overdue.values_list("pk", flat=True)):
        with transaction.atomic():
            if ApprovalStep.objects.filter(pk=step_id, overdue_at__isnull=True).update(overdue_at=now) != 1:
                continue
            step = ApprovalStep.objects.select_related("request__requested_by").get(pk=step_id)
            _notify(step, subject=_("Overdue approval: %(summary)s") % {"summary": step.request.summary},
                    body=_("This approval is past its deadline: %(summary)s") % {"summary": step.request.summary})
            _event(step.request, action="overdue", actor=None, step=step)
            audit_record(actor=None, action="approvals.step.overdue", obj=step.request, changes={"step": step.pk})
        report["overdue"].append(step_id)
    return report
