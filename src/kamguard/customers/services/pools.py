"""Shared pools: creation, rules, members and administrators."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from kamguard.customers.models import Pool, PoolMembership
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User

RULE_FIELDS = (
    "max_owned_a", "max_owned_b", "max_owned_c", "max_claims_per_day", "cooldown_days", "protection_days",
    "reclaim_no_followup_days_a", "reclaim_no_followup_days_b", "reclaim_no_followup_days_c",
    "reclaim_no_deal_days_a", "reclaim_no_deal_days_b", "reclaim_no_deal_days_c", "warn_days_before", "max_locks",
)
POOL_FIELDS = ("name", "region", "department", "is_active", *RULE_FIELDS)
OPTIONAL_RULES = {f for f in RULE_FIELDS if f.startswith(("max_owned", "max_claims", "reclaim_"))}


def _require_pool_admin(actor: User | None, pool: Pool | None = None) -> None:
    if actor is None:
        return
    if actor.has_right(Right.MANAGE_ORG) or (actor.scope >= Scope.DEPARTMENT and actor.has_right(
            Right.EDIT_BUSINESS_DATA)):
        return
    if pool is not None and PoolMembership.objects.filter(pool=pool, user=actor, is_admin=True).exists():
        return
    raise PermissionRefused(_("Only a pool administrator, a supervisor or an administrator can do this."),
                            extra={"right": "pool.manage"})


def _clean_rules(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for key in RULE_FIELDS:
        if key not in fields:
            continue
        value = fields[key]
        if value in ("", None):
            if key in OPTIONAL_RULES:
                fields[key] = None
                continue
            errors[key] = [_("This field is required.")]
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[key] = [_("Enter a whole number.")]
            continue
        if number < 0:
            errors[key] = [_("Days and limits cannot be negative.")]
        elif number > 100000:
            errors[key] = [_("This number is too large.")]
        fields[key] = number
    for tier in ("a", "b", "c"):
        warn = fields.get("warn_days_before")
        followup = fields.get(f"reclaim_no_followup_days_{tier}")
        if warn is not None and followup is not None and isinstance(warn, int) and isinstance(followup, int) \
                and followup and warn >= followup:
            errors.setdefault("warn_days_before", [_("The warning must come before the reclaim.")])
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            errors["name"] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    return fields


@transaction.atomic
def pool_save(*, actor: User | None, pool_id: int | None = None, **fields: Any) -> Pool:
    unknown = set(fields) - set(POOL_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    pool = Pool() if pool_id is None else Pool.objects.filter(pk=pool_id).first()
    if pool is None:
        raise NotFound()
    _require_pool_admin(actor, pool if pool_id else None)
    before = snapshot(pool, POOL_FIELDS) if pool_id else {}
    merged = {**{k: getattr(pool, k) for k in RULE_FIELDS}, **fields}
    _clean_rules(merged)
    for key in fields:
        setattr(pool, key, merged[key])
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError as exc:
        raise ValidationFailed(field_errors={"name": [_("A pool with this name exists already.")]}) from exc
    changes = diff(before, snapshot(pool, POOL_FIELDS))
    if changes:
        audit_record(actor=actor, action="customers.pool." + ("updated" if pool_id else "created"), obj=pool,
                     changes=changes)
    return pool


@transaction.atomic
def pool_member_set(*, actor: User | None, pool_id: int, user: User, is_member: bool, is_admin: bool = False) -> None:
    pool = Pool.objects.filter(pk=pool_id).first()
    if pool is None:
        raise NotFound()
    _require_pool_admin(actor, pool)
    current = PoolMembership.objects.filter(pool=pool, user=user).first()
    if not is_member:
        if current is not None:
            current.delete()
            audit_record(actor=actor, action="customers.pool.member_removed", obj=pool,
                         changes={"member": {"before": user.pk, "after": None}})
        return
    if current is None:
        PoolMembership.objects.create(pool=pool, user=user, is_admin=is_admin)
        audit_record(actor=actor, action="customers.pool.member_added", obj=pool,
                     changes={"member": {"before": None, "after": user.pk}, "is_admin": {"before": None,
                                                                                         "after": is_admin}})
    elif current.is_admin != is_admin:
        current.is_admin = is_admin
        current.save(update_fields=["is_admin"])
        audit_record(actor=actor, action="customers.pool.member_changed", obj=pool,
                     changes={"is_admin": {"before": not is_admin, "after": is_admin}}, object_label=f"{pool} · {user}")
