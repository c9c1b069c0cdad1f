"""Simulation: dry-run a rule set version against past intake or a file of leads. Nothing is written.

- `simulation_run(*, actor, version_id, months=3, data=None, filename="", file_format=None, on=None)
  -> SimulationResult` — subjects: the allocated or pooled intake of the last `months` months (oldest first),
  or the rows of an uploaded file in the `customers` import columns (name required; region, industry, size,
  tier, source, expected_value optional). Both the version and the active version of its rule set run on
  their own copy of the state as of now. A file in the wrong format raises FileRejected/ValidationFailed
  naming the row and column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.allocation.domain.engine import Decision, allocate_many
from kamguard.allocation.domain.fairness import (
    Comparison,
    Figures,
    Received,
    fairness_figures,
    simulation_compare,
)
from kamguard.allocation.domain.rules import Subject
from kamguard.allocation.models import Intake, IntakeOutcome, RuleSetVersion, VersionStatus
from kamguard.allocation.services.common import may_manage_rule_set
from kamguard.allocation.services.rulesets import version_ruleset
from kamguard.allocation.services.state import state_load, subject_build
from kamguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from kamguard.core.io.formats import FileRejected, format_infer, table_read
from kamguard.customers.models import Pool, Size, Tier
from kamguard.org.domain.roles import Scope
from kamguard.org.models import Industry, Region, User

MAX_MONTHS = 24
MAX_FILE_ROWS = 50000
FILE_COLUMNS = ("name", "region", "industry", "size", "tier", "source", "expected_value")


@dataclass(frozen=True)
class PersonResult:
    person_id: int
    name: str
    team: str
    count: int
    value: Decimal
    count_by_tier: dict[str, int]
    value_by_tier: dict[str, Decimal]
    active_count: int
    active_value: Decimal


@dataclass
class SimulationResult:
    version: RuleSetVersion
    active_version: RuleSetVersion | None
    subjects: int
    source: str  # "intake" or "file"
    period: tuple[dt.date, dt.date] | None
    people: list[PersonResult]
    pools: dict[str, tuple[int, int]]  # pool name -> (active count, draft count)
    unallocated: tuple[int, int]
    figures: Figures
    active_figures: Figures | None
    comparison: Comparison | None
    decisions: list[Decision] = field(default_factory=list)
    changed_subjects: list[dict[str, Any]] = field(default_factory=list)


def may_simulate(actor: User, version: RuleSetVersion) -> bool:
    return may_manage_rule_set(actor, version.rule_set) or actor.scope == Scope.ALL


def _intake_subjects(since: dt.datetime, until: dt.datetime) -> list[Subject]:
    rows = Intake.objects.filter(submitted_at__gte=since, submitted_at__lt=until,
                                 outcome__in=[IntakeOutcome.ALLOCATED, IntakeOutcome.POOL]).order_by(
        "submitted_at", "pk").values_list("pk", "fields", "channel", "expected_value")
    subjects = []
    for pk, fields, channel, value in rows.iterator(chunk_size=2000):
        data = dict(fields or {})
        if value is not None:
            data["expected_value"] = value
        subjects.append(subject_build(ref=f"intake:{pk}", fields=data, channel=channel))
    return subjects


def _file_subjects(data: bytes, filename: str, file_format: str | None) -> list[Subject]:
    table = table_read(data, format_infer(filename, file_format))
    if "name" not in table.columns:
        raise FileRejected(_("The file needs a column “name” (the columns of the customers import: name, region, "
                             "industry, size, tier, source, expected_value)."), code="missing_column")
    if len(table.rows) > MAX_FILE_ROWS:
        raise FileRejected(_("At most %(n)s rows can be simulated at once.") % {"n": MAX_FILE_ROWS},
                           code="too_many_rows")
    if not table.rows:
        raise FileRejected(_("The file has no rows below the header."), code="no_rows")
    regions = {code: code for code in Region.objects.values_list("code", flat=True)}
    region_names = dict(Region.objects.order_by("-code").values_list("name", "code"))
    industries = {code: code for code in Industry.objects.values_list("code", flat=True)}
    industry_names = dict(Industry.objects.values_list("name", "code"))
    errors: list[str] = []
    subjects = []
    for number, row in table.rows:
        fields: dict[str, Any] = {k: row.get(k, "") for k in FILE_COLUMNS}
        problems = []
        if not fields["name"]:
            problems.append(_("name is empty"))
        if fields["region"]:
            code = regions.get(fields["region"]) or region_names.get(fields["region"])
            if code is None:
                problems.append(_("region %(value)s is unknown") % {"value": fields["region"]})
            fields["region"] = code or ""
        if fields["industry"]:
            code = industries.get(fields["industry"]) or industry_names.get(fields["industry"])
            if code is None:
                problems.append(_("industry %(value)s is unknown") % {"value": fields["industry"]})
            fields["industry"] = code or ""
        if fields["size"] and fields["size"] not in Size.values:
            problems.append(_("size must be one of %(choices)s") % {"choices": ", ".join(Size.values)})
        if fields["tier"] and fields["tier"] not in Tier.values:
            problems.append(_("tier must be one of %(choices)s") % {"choices": ", ".join(Tier.values)})
        if fields["expected_value"]:
            try:
                value = Decimal(fields["expected_value"].replace(",", ""))
                if not value.is_finite() or value < 0:
                    raise ValueError
            except (ArithmeticError, ValueError):
                problems.append(_("expected_value %(value)s is not an amount") % {"value": fields["expected_value"]})
        if problems:
            errors.append(_("row %(row)s: %(problems)s") % {"row": number, "problems": "; ".join(problems)})
            continue
        subjects.append(subject_build(ref=f"row:{number}", fields=fields, channel="import"))
    if errors:
        shown = errors[:20]
        raise ValidationFailed(_("The file has rows that cannot be simulated: %(rows)s%(more)s") % {
            "rows": " · ".join(shown), "more": _(" (and %(n)s more)") % {"n": len(errors) - 20}
            if len(errors) > 20 else ""}, code="file_rows_invalid", field_errors={"file": shown})
    return subjects


def _received(decisions: list[Decision], sizes: dict[str, str]) -> list[Received]:
    return [Received(person_id=d.person_id, tier=d.tier or "", size=sizes.get(d.subject_ref, ""), value=d.value)
            for d in decisions if d.outcome == "person" and d.person_id is not None]


def simulation_run(*, actor: User, version_id: int, months: int = 3, data: bytes | None = None, filename: str = "",
                   file_format: str | None = None, on: dt.datetime | None = None) -> SimulationResult:
    version = RuleSetVersion.objects.select_related("rule_set", "rule_set__department").filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    if not may_simulate(actor, version):
        raise PermissionRefused(_("Only the rule set's managers and auditors can run simulations."),
                                extra={"right": "allocation.simulate"})
    now = on or timezone.now()
    period = None
    if data is not None:
        subjects = _file_subjects(data, filename, file_format)
        source = "file"
    else:
        try:
            months = int(months)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(field_errors={"months": [_("Enter a number of months.")]}) from exc
        if months < 1 or months > MAX_MONTHS:
            raise ValidationFailed(field_errors={"months": [_("Between 1 and %(n)s months.") % {"n": MAX_MONTHS}]})
        since = now - dt.timedelta(days=round(months * 30.44))
        subjects = _intake_subjects(since, now)
        source = "intake"
        period = (timezone.localdate(since), timezone.localdate(now))
    draft_rules = version_ruleset(version)
    draft_state = state_load(ruleset=draft_rules, on=timezone.localdate(now))
    draft = allocate_many(subjects, draft_rules, draft_state.state.copy())
    active_version = RuleSetVersion.objects.filter(rule_set=version.rule_set, status=VersionStatus.ACTIVE).first()
    active: list[Decision] | None = None
    active_state = None
    if active_version is not None and active_version.pk != version.pk:
        active_rules = version_ruleset(active_version)
        active_state = state_load(ruleset=active_rules, on=timezone.localdate(now))
        active = allocate_many(subjects, active_rules, active_state.state.copy())
    people_ids = sorted(set(draft_state.state.people) | (set(active_state.state.people) if active_state else set()))
    group = [p for p in people_ids if draft_state.state.people.get(p) is None or draft_state.state.people[p].available]
    sizes = {s.ref: str(s.fields.get("size") or "") for s in subjects}
    figures = fairness_figures(_received(draft, sizes), group)
    active_figures = fairness_figures(_received(active, sizes), group) if active is not None else None
    comparison = simulation_compare(active, draft) if active is not None else None
    names: dict[int | None, dict[str, Any]] = {
        pk: {"full_name": full_name, "team__name": team_name}
        for pk, full_name, team_name in User.objects.filter(pk__in=people_ids).values_list("pk", "full_name",
                                                                                         "team__name")}
    active_by_person = {p.person_id: p for p in active_figures.people} if active_figures else {}
    results = []
    for person in figures.people:
        other = active_by_person.get(person.person_id)
        info: dict[str, Any] = names.get(person.person_id, {})
        results.append(PersonResult(
            person_id=person.person_id, name=info.get("full_name", "") or str(person.person_id),
            team=info.get("team__name") or "", count=person.count, value=person.value,
            count_by_tier=dict(person.count_by_tier), value_by_tier=dict(person.value_by_tier),
            active_count=other.count if other else 0, active_value=other.value if other else Decimal(0)))
    pool_names = dict(Pool.objects.values_list("pk", "name"))
    pools: dict[str, tuple[int, int]] = {}
    for decisions, side in ((active or [], 0), (draft, 1)):
        for decision in decisions:
            if decision.outcome == "pool" and decision.pool_id is not None:
                key = pool_names.get(decision.pool_id, str(decision.pool_id))
                counts = list(pools.get(key, (0, 0)))
                counts[side] += 1
                pools[key] = (counts[0], counts[1])
    unallocated = (sum(1 for d in active or [] if d.outcome == "unallocated"),
                   sum(1 for d in draft if d.outcome == "unallocated"))
    changed = []
    if comparison is not None:
        for change in comparison.changes[:200]:
            changed.append({"subject": change.subject_ref,
                            "active": names.get(change.active_person_id, {}).get("full_name")
                            or pool_names.get(change.active_pool_id or 0) or change.active_outcome,
                            "draft": names.get(change.draft_person_id, {}).get("full_name")
                            or pool_names.get(change.draft_pool_id or 0) or change.draft_outcome})
    return SimulationResult(version=version, active_version=active_version, subjects=len(subjects), source=source,
                            period=period, people=results, pools=pools, unallocated=unallocated, figures=figures,
                            active_figures=active_figures, comparison=comparison, decisions=draft,
                            changed_subjects=changed)
