"""Rule sets and their versions: drafts, edits, explicit activation, the diff between versions.

Public (keyword-only, audited, transactional):
- `rule_set_create(*, actor, name, description="", department=None, is_default=False, rules=None, note="")
  -> RuleSet` — with `rules`, its version 1 as a draft.
- `rule_set_update(*, actor, rule_set_id, reason="", **fields) -> RuleSet` — name, description, is_default.
- `rule_set_version_create(*, actor, rule_set_id, rules, note="", based_on_id=None) -> RuleSetVersion` — a draft.
- `rule_set_version_update(*, actor, version_id, rules, note="") -> RuleSetVersion` — drafts only.
- `rule_set_version_activate(*, actor, version_id, note="") -> RuleSetVersion` — retires the active one.
- `rule_set_version_retire(*, actor, version_id, reason) -> RuleSetVersion` — an active or draft version.
- `rules_check(*, rules) -> domain RuleSet` — the engine's parse plus the database's references (people who
  left, teams and pools that do not exist); `ValidationFailed` with `field_errors` keyed by path
  ("rules[2].target.id") and `extra["problems"]` = [{path, code, message, rule_key}].
- `rule_set_version_diff(*, old, new) -> VersionDiff` (old may be None) — rules added, removed, changed, moved,
  and whether the fallback changed. Not a write.
- `version_ruleset(version) -> domain RuleSet` — the parsed, cached rules of a saved version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.allocation.domain.rules import RuleSet as DomainRuleSet
from kamguard.allocation.domain.rules import RuleSetInvalid, ruleset_dump, ruleset_parse
from kamguard.allocation.models import RuleSet, RuleSetVersion, TeamAllocationSetting, VersionStatus
from kamguard.allocation.services.common import require_rule_set_manager
from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import Conflict, NotFound, ValidationFailed
from kamguard.customers.models import Pool
from kamguard.org.models import Department, Industry, Region, Team, User

RULE_SET_FIELDS = ("name", "description", "department", "is_default")


def _problem_messages() -> dict[str, str]:
    """The engine's problem codes in the user's language (the engine's messages are English)."""
    return {
        "bad_shape": _("The value has the wrong shape."),
        "unknown_key": _("This entry is not part of a rule set."),
        "bad_key": _("A rule needs a key: 1 to 64 letters, digits, '-', '_' or '.'."),
        "duplicate_key": _("Two rules have the same key."),
        "bad_name": _("A rule's name is text of at most 200 characters."),
        "too_many_rules": _("A rule set has at most 1,000 rules."),
        "too_many_conditions": _("A rule has at most 50 conditions."),
        "unknown_field": _("No customer field of this name can be tested."),
        "unknown_operator": _("No such operator."),
        "operator_not_allowed": _("This operator cannot be used on this field."),
        "bad_value": _("The value does not suit the field and operator."),
        "bad_range": _("'between' needs two bounds, the lower first."),
        "empty_list": _("'in' and 'not in' need at least one value."),
        "too_many_values": _("A list has at most 2,000 values."),
        "bad_target": _("The target needs a kind (person, team or pool) and an id."),
        "bad_strategy": _("A team target needs a strategy: round-robin, capacity, least loaded or first come."),
        "strategy_not_allowed": _("Only a team target has a strategy."),
        "no_fallback": _("A rule set must end in a fallback."),
    }


@dataclass(frozen=True)
class Problem:
    path: str
    code: str
    message: str
    rule_key: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message, "rule_key": self.rule_key}


def _rule_at(rules: Any, path: str) -> tuple[str, str]:
    """(key, name) of the rule a problem path points into ("rules[3]..."), or the fallback's label."""
    if path.startswith("fallback"):
        return "fallback", _("fallback")
    if path.startswith("rules[") and isinstance(rules, list):
        try:
            index = int(path[len("rules["):path.index("]")])
            raw = rules[index]
        except (ValueError, IndexError):
            return "", ""
        if isinstance(raw, Mapping):
            return str(raw.get("key") or ""), str(raw.get("name") or raw.get("key") or f"#{index + 1}")
    return "", ""


def _raise(problems: list[Problem]) -> None:
    field_errors: dict[str, list[str]] = {}
    for problem in problems:
        field_errors.setdefault(problem.path or "rules", []).append(problem.message)
    first = problems[0]
    raise ValidationFailed(
        _("The rule set cannot be used: %(first)s%(more)s") % {
            "first": first.message, "more": (_(" (and %(n)s more problems)") % {"n": len(problems) - 1})
            if len(problems) > 1 else ""},
        code="rules_invalid", field_errors=field_errors, extra={"problems": [p.as_dict() for p in problems]})


def _with_rule(path: str, rules: Any, message: str) -> tuple[str, str]:
    key, name = _rule_at(rules, path)
    if key == "fallback":
        return key, _("Fallback: %(message)s") % {"message": message}
    if key or name:
        return key, _("Rule “%(name)s” (%(key)s): %(message)s") % {"name": name, "key": key, "message": message}
    return "", message


def rules_check(*, rules: Any) -> DomainRuleSet:
    """Parse with the engine, then check every reference against the database. Raises ValidationFailed."""
    messages = _problem_messages()
    try:
        parsed = ruleset_parse(rules)
    except RuleSetInvalid as exc:
        problems = []
        for item in exc.problems:
            key, message = _with_rule(item.path, rules.get("rules") if isinstance(rules, Mapping) else None,
                                      messages.get(item.code, item.message))
            problems.append(Problem(item.path, item.code, message, key))
        _raise(problems)
        raise  # pragma: no cover - _raise always raises
    problems = _reference_problems(parsed)
    if problems:
        _raise(problems)
    return parsed


def _reference_problems(parsed: DomainRuleSet) -> list[Problem]:
    targets = [(f"rules[{i}].target", rule.key, rule.name, rule.target) for i, rule in enumerate(parsed.rules)]
    targets.append(("fallback", "fallback", _("fallback"), parsed.fallback))
    person_ids = {t.id for *_rest, t in targets if t.kind == "person"}
    team_ids = {t.id for *_rest, t in targets if t.kind == "team"}
    pool_ids = {t.id for *_rest, t in targets if t.kind == "pool"}
    people = {u.pk: u for u in User.objects.filter(pk__in=person_ids)}
    teams = {t.pk: t for t in Team.objects.filter(pk__in=team_ids)}
    pools = {p.pk: p for p in Pool.objects.filter(pk__in=pool_ids)}
    team_pools = dict(TeamAllocationSetting.objects.filter(team_id__in=team_ids, pool__isnull=False,
                                                           pool__is_active=True).values_list("team_id", "pool_id"))
    today = timezone.localdate()
    problems: list[Problem] = []

    def add(path: str, key: str, name: str, code: str, message: str) -> None:
        label = (_("Fallback: %(message)s") % {"message": message} if key == "fallback" else
                 _("Rule “%(name)s” (%(key)s): %(message)s") % {"name": name, "key": key, "message": message})
        problems.append(Problem(f"{path}.id", code, label, key))

    for path, key, name, target in targets:
        if target.kind == "person":
            person = people.get(target.id)
            if person is None:
                add(path, key, name, "unknown_person", _("no person has id %(id)s.") % {"id": target.id})
            elif not person.is_active or (person.left_on is not None and person.left_on <= today):
                add(path, key, name, "person_left",
                    _("%(person)s has left; choose someone who works here.") % {"person": person})
        elif target.kind == "team":
            team = teams.get(target.id)
            if team is None:
                add(path, key, name, "unknown_team", _("no team has id %(id)s.") % {"id": target.id})
            elif not team.is_active:
                add(path, key, name, "team_inactive", _("the team %(team)s is closed.") % {"team": team})
            elif target.strategy == "first_come" and target.id not in team_pools:
                add(path, key, name, "team_without_pool",
                    _("first come needs the team %(team)s to have a pool; set it in the team's allocation "
                      "settings.") % {"team": team})
        elif target.kind == "pool":
            pool = pools.get(target.id)
            if pool is None:
                add(path, key, name, "unknown_pool", _("no pool has id %(id)s.") % {"id": target.id})
            elif not pool.is_active:
                add(path, key, name, "pool_inactive", _("the pool %(pool)s is closed.") % {"pool": pool})
    problems.extend(_code_problems(parsed))
    return problems


def _code_problems(parsed: DomainRuleSet) -> list[Problem]:
    """Region and industry codes in conditions that do not exist."""
    wanted: dict[str, set[str]] = {"region": set(), "industry": set()}
    where: list[tuple[str, str, str, str, str]] = []
    for index, rule in enumerate(parsed.rules):
        for c_index, condition in enumerate(rule.conditions):
            if condition.field not in wanted or condition.operator == "is_empty":
                continue
            values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
            for value in values:
                wanted[condition.field].add(str(value))
                where.append((f"rules[{index}].conditions[{c_index}].value", rule.key, rule.name, condition.field,
                              str(value)))
    if not where:
        return []
    known_regions = set(Region.objects.filter(code__in=wanted["region"]).values_list("code", flat=True))
    known_industries = set(Industry.objects.filter(code__in=wanted["industry"]).values_list("code", flat=True))
    problems = []
    for path, key, name, field_name, value in where:
        known = known_regions if field_name == "region" else known_industries
        if value not in known:
            message = (_("no region has the code %(code)s.") if field_name == "region"
                       else _("no industry has the code %(code)s.")) % {"code": value}
            problems.append(Problem(path, f"unknown_{field_name}",
                                    _("Rule “%(name)s” (%(key)s): %(message)s") % {
                                        "name": name, "key": key, "message": message}, key))
    return problems


_PARSED: dict[tuple[int, str], DomainRuleSet] = {}


def version_ruleset(version: RuleSetVersion) -> DomainRuleSet:
    """The parsed rules of a saved version (cached per process; active and retired versions never change)."""
    stamp = (version.changed_at or version.created_at).isoformat() if version.created_at else ""
    key = (version.pk, stamp)
    found = _PARSED.get(key)
    if found is None:
        found = ruleset_parse(version.rules)
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def _get_rule_set(rule_set_id: int, *, for_update: bool = False) -> RuleSet:
    qs = RuleSet.objects.select_related("department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    found = qs.filter(pk=rule_set_id).first()
    if found is None:
        raise NotFound()
    return found


def _get_version(version_id: int) -> RuleSetVersion:
    found = RuleSetVersion.objects.select_related("rule_set", "rule_set__department").filter(pk=version_id).first()
    if found is None:
        raise NotFound()
    return found


def _clean_rule_set_fields(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in fields:
        fields["name"] = " ".join(str(fields["name"] or "").split())
        if not fields["name"]:
            errors["name"] = [_("Give the rule set a name.")]
        elif len(fields["name"]) > 120:
            errors["name"] = [_("At most 120 characters.")]
    if "description" in fields:
        fields["description"] = str(fields["description"] or "").strip()
    if "department" in fields and fields["department"] is not None and not isinstance(fields["department"],
                                                                                      Department):
        errors["department"] = [_("Choose a department.")]
    if "is_default" in fields:
        fields["is_default"] = bool(fields["is_default"])
    if errors:
        raise ValidationFailed(field_errors=errors)
    return fields


def _clear_other_default(rule_set_pk: int | None) -> None:
    others = RuleSet.objects.filter(is_default=True)
    if rule_set_pk is not None:
        others = others.exclude(pk=rule_set_pk)
    others.update(is_default=False,
                                                                           updated_at=timezone.now())


@transaction.atomic
def rule_set_create(*, actor: User | None, name: str, description: str = "", department: Department | None = None,
                    is_default: bool = False, rules: Any = None, note: str = "") -> RuleSet:
    require_rule_set_manager(actor, department=department)
    fields = _clean_rule_set_fields({"name": name, "description": description, "department": department,
                                     "is_default": is_default})
    if RuleSet.objects.filter(name=fields["name"]).exists():
        raise ValidationFailed(field_errors={"name": [_("Another rule set has this name.")]})
    if fields["is_default"]:
        _clear_other_default(None)
    try:
        with transaction.atomic():
            rule_set = RuleSet.objects.create(**fields, created_by=actor)
    except IntegrityError as exc:
        raise Conflict(_("Another rule set has this name, or was made the default meanwhile.")) from exc
    audit_record(actor=actor, action="allocation.rule_set.created", obj=rule_set,
                 changes=diff({}, snapshot(rule_set, RULE_SET_FIELDS)))
    if rules is not None:
        rule_set_version_create(actor=actor, rule_set_id=rule_set.pk, rules=rules, note=note)
    return rule_set


@transaction.atomic
def rule_set_update(*, actor: User | None, rule_set_id: int, reason: str = "", **fields: Any) -> RuleSet:
    rule_set = _get_rule_set(rule_set_id, for_update=True)
    require_rule_set_manager(actor, rule_set)
    unknown = set(fields) - {"name", "description", "is_default"}
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    fields = _clean_rule_set_fields(fields)
    if "name" in fields and RuleSet.objects.filter(name=fields["name"]).exclude(pk=rule_set.pk).exists():
        raise ValidationFailed(field_errors={"name": [_("Another rule set has this name.")]})
    before = snapshot(rule_set, RULE_SET_FIELDS)
    if fields.get("is_default"):
        _clear_other_default(rule_set.pk)
    for key, value in fields.items():
        setattr(rule_set, key, value)
    try:
        with transaction.atomic():
            rule_set.save()
    except IntegrityError as exc:
        raise Conflict(_("Another rule set was made the default meanwhile. Reload and try again.")) from exc
    changes = diff(before, snapshot(rule_set, RULE_SET_FIELDS))
    if changes:
        audit_record(actor=actor, action="allocation.rule_set.updated", obj=rule_set, changes=changes, reason=reason)
    return rule_set


def _rules_json(parsed: DomainRuleSet) -> dict[str, Any]:
    return dict(ruleset_dump(parsed))


@transaction.atomic
def rule_set_version_create(*, actor: User | None, rule_set_id: int, rules: Any, note: str = "",
                            based_on_id: int | None = None) -> RuleSetVersion:
    """A new draft. `rules` is checked in full first: nothing is saved when any rule is wrong."""
    rule_set = _get_rule_set(rule_set_id, for_update=True)
    require_rule_set_manager(actor, rule_set)
    parsed = rules_check(rules=rules)
    based_on = None
    if based_on_id is not None:
        based_on = RuleSetVersion.objects.filter(pk=based_on_id, rule_set=rule_set).first()
        if based_on is None:
            raise ValidationFailed(field_errors={"based_on": [_("Choose a version of this rule set.")]})
    number = (RuleSetVersion.objects.filter(rule_set=rule_set).aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            version = RuleSetVersion.objects.create(
                rule_set=rule_set, number=number, status=VersionStatus.DRAFT, rules=_rules_json(parsed),
                note=(note or "").strip(), based_on=based_on, created_by=actor)
    except IntegrityError as exc:
        raise Conflict(_("Someone saved a version of this rule set at the same moment. Reload and try again.")) from exc
    audit_record(actor=actor, action="allocation.rule_set.version_created", obj=version,
                 object_label=f"{rule_set} v{number}", reason=version.note,
                 changes={"number": {"before": None, "after": number},
                          "rules": {"before": None, "after": version.rules}})
    return version


@transaction.atomic
def rule_set_version_update(*, actor: User | None, version_id: int, rules: Any, note: str = "") -> RuleSetVersion:
    """Edit a draft. Active and retired versions never change: start a new draft from them instead."""
    version = _get_version(version_id)
    require_rule_set_manager(actor, version.rule_set)
    parsed = rules_check(rules=rules)
    now = timezone.now()
    before = version.rules
    new_rules = _rules_json(parsed)
    updated = RuleSetVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT).update(
        rules=new_rules, note=(note or version.note).strip(), changed_by=actor, changed_at=now)
    if updated != 1:
        raise Conflict(_("Only a draft can be edited; this version is %(status)s. Start a new draft from it.")
                       % {"status": version.get_status_display()}, code="not_a_draft")
    version.refresh_from_db()
    audit_record(actor=actor, action="allocation.rule_set.version_updated", obj=version,
                 object_label=f"{version.rule_set} v{version.number}", reason=version.note,
                 changes={"rules": {"before": before, "after": new_rules}} if before != new_rules else {})
    return version


@transaction.atomic
def rule_set_version_activate(*, actor: User | None, version_id: int, note: str = "") -> RuleSetVersion:
    """Make a draft the active version; the previous active version is retired. Checked again first (people
    may have left since the draft was written). The unique constraint keeps one active version even when two
    directors activate at once."""
    version = _get_version(version_id)
    require_rule_set_manager(actor, version.rule_set)
    if version.status != VersionStatus.DRAFT:
        raise Conflict(_("Only a draft can be activated; this version is %(status)s.")
                       % {"status": version.get_status_display()}, code="not_a_draft")
    rules_check(rules=version.rules)
    now = timezone.now()
    previous = RuleSetVersion.objects.filter(rule_set=version.rule_set, status=VersionStatus.ACTIVE).first()
    if previous is not None:
        RuleSetVersion.objects.filter(pk=previous.pk, status=VersionStatus.ACTIVE).update(
            status=VersionStatus.RETIRED, retired_at=now)
    try:
        with transaction.atomic():
            updated = RuleSetVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT).update(
                status=VersionStatus.ACTIVE, activated_by=actor, activated_at=now)
    except IntegrityError as exc:
        raise Conflict(_("Another version was activated at the same moment. Reload and try again."),
                       code="activation_race") from exc
    if updated != 1:
        raise Conflict(_("This version changed meanwhile. Reload and try again."), code="not_a_draft")
    version.refresh_from_db()
    change = rule_set_version_diff(old=previous, new=version)
    audit_record(actor=actor, action="allocation.rule_set.activated", obj=version,
                 object_label=f"{version.rule_set} v{version.number}", reason=(note or "").strip(),
                 changes={"active_version": {"before": previous.number if previous else None,
                                             "after": version.number}, "diff": change.as_dict()})
    return version


@transaction.atomic
def rule_set_version_retire(*, actor: User | None, version_id: int, reason: str) -> RuleSetVersion:
    """Retire a draft or the active version (intake then falls back to the default pool until another is
    activated)."""
    version = _get_version(version_id)
    require_rule_set_manager(actor, version.rule_set)
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why this version is retired.")]})
    updated = RuleSetVersion.objects.filter(pk=version.pk, status__in=[VersionStatus.DRAFT, VersionStatus.ACTIVE]
                                            ).update(status=VersionStatus.RETIRED, retired_at=timezone.now())
    if updated != 1:
        raise Conflict(_("This version is already retired."), code="already_retired")
    before = version.status
    version.refresh_from_db()
    audit_record(actor=actor, action="allocation.rule_set.retired", obj=version,
                 object_label=f"{version.rule_set} v{version.number}", reason=reason.strip(),
                 changes={"status": {"before": before, "after": version.status}})
    return version


# ---------------------------------------------------------------- diff

@dataclass(frozen=True)
class RuleChange:
    key: str
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    position_before: int | None
    position_after: int | None


@dataclass(frozen=True)
class VersionDiff:
    added: tuple[RuleChange, ...] = ()
    removed: tuple[RuleChange, ...] = ()
    changed: tuple[RuleChange, ...] = ()
    moved: tuple[RuleChange, ...] = ()
    fallback_before: dict[str, Any] | None = None
    fallback_after: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def fallback_changed(self) -> bool:
        return self.fallback_before != self.fallback_after

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved or self.fallback_changed)

    def as_dict(self) -> dict[str, Any]:
        def rows(items: tuple[RuleChange, ...]) -> list[dict[str, Any]]:
            return [{"key": c.key, "name": c.name, "position_before": c.position_before,
                     "position_after": c.position_after} for c in items]

        return {"added": rows(self.added), "removed": rows(self.removed), "changed": rows(self.changed),
                "moved": rows(self.moved), "fallback_changed": self.fallback_changed}


def rule_set_version_diff(*, old: RuleSetVersion | None, new: RuleSetVersion) -> VersionDiff:
    """What `new` changes compared with `old` (None: everything is added). Rules are matched by key."""
    old_rules = list((old.rules or {}).get("rules", [])) if old is not None else []
    new_rules = list((new.rules or {}).get("rules", []))
    old_by_key = {r.get("key"): (i, r) for i, r in enumerate(old_rules)}
    new_by_key = {r.get("key"): (i, r) for i, r in enumerate(new_rules)}
    added, removed, changed, moved = [], [], [], []
    for key, (i, rule) in new_by_key.items():
        if key not in old_by_key:
            added.append(RuleChange(str(key), str(rule.get("name", "")), None, rule, None, i))
            continue
        j, before = old_by_key[key]
        body_before = {k: v for k, v in before.items() if k != "key"}
        body_after = {k: v for k, v in rule.items() if k != "key"}
        if body_before != body_after:
            changed.append(RuleChange(str(key), str(rule.get("name", "")), before, rule, j, i))
    for key, (j, rule) in old_by_key.items():
        if key not in new_by_key:
            removed.append(RuleChange(str(key), str(rule.get("name", "")), rule, None, j, None))
    # Moved: the relative order of the rules both versions have changed.
    common_old = [r.get("key") for r in old_rules if r.get("key") in new_by_key]
    common_new = [r.get("key") for r in new_rules if r.get("key") in old_by_key]
    if common_old != common_new:
        for position, key in enumerate(common_new):
            if common_old[position] != key:
                j, before = old_by_key[key]
                i, after = new_by_key[key]
                moved.append(RuleChange(str(key), str(after.get("name", "")), before, after, j, i))
    return VersionDiff(added=tuple(added), removed=tuple(removed), changed=tuple(changed), moved=tuple(moved),
                       fallback_before=(old.rules or {}).get("fallback") if old is not None else None,
                       fallback_after=(new.rules or {}).get("fallback"))
