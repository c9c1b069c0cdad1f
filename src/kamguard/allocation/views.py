"""Allocation pages: rule sets (versions, the rule editor, diff, activation), simulation, intake (with the public
web form), the allocation log with each decision explained, manual re-assignment, fairness, capacities and
absences.

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from kamguard.allocation import selectors
from kamguard.allocation.forms import (
    FIELD_LABELS,
    OPERATOR_LABELS,
    STRATEGY_LABELS,
    AbsenceForm,
    AcknowledgeForm,
    ActivateForm,
    CapacityForm,
    DepartureNoticeForm,
    IntakeForm,
    PublicLeadForm,
    ReassignForm,
    RuleSetCreateForm,
    SimulationForm,
    TeamSettingForm,
    choices_for,
    editor_apply,
    editor_choices,
    editor_from_post,
    editor_from_ruleset,
    editor_number,
    editor_place_problems,
    editor_to_ruleset,
)
from kamguard.allocation.models import (
    AllocationDecision,
    Intake,
    IntakeChannel,
    IntakeOutcome,
    RuleSetVersion,
    VersionStatus,
)
from kamguard.allocation.reasons import decision_sentence, skip_label
from kamguard.allocation.services import fairness as fairness_services
from kamguard.allocation.services import intake as intake_services
from kamguard.allocation.services import overrides, people, rulesets, simulation
from kamguard.allocation.services.common import (
    is_admin,
    is_supervisor,
    may_manage_person,
    may_manage_rule_set,
    may_manage_team,
)
from kamguard.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionRefused,
    RateLimited,
    ValidationFailed,
)
from kamguard.core.io.formats import FileRejected, FileTooLarge
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.customers.models import Pool, Tier
from kamguard.org.domain.roles import Right
from kamguard.org.models import Industry, Region, Team, User


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _text(data: Any, name: str) -> str:
    """A submitted text without NUL characters (PostgreSQL stores and compares none: a 500 otherwise)."""
    return str(data.get(name, "")).replace("\x00", "")


def _without_nul(data: Any) -> Any:
    clean = data.copy()
    for key in clean:
        clean.setlist(key, [v.replace("\x00", "") if isinstance(v, str) else v for v in clean.getlist(key)])
    return clean


def _int(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _date(request: HttpRequest, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


VERDICTS = {"unique": _lazy("No similar customer"), "possible_duplicate": _lazy("Possible duplicate"),
            "duplicate": _lazy("Duplicate")}


def _people_choices(viewer: User) -> Any:
    from kamguard.org import selectors as org_selectors

    return list(org_selectors.user_list(viewer=viewer, is_active=True, sort="name").values("pk", "full_name")[:500])


def _can(viewer: User) -> dict[str, bool]:
    """What the allocation tabs and buttons offer this person (the services check again)."""
    manager = is_admin(viewer) or is_supervisor(viewer)
    return {
        "see_rule_sets": True, "see_intake": viewer.has_right(Right.EDIT_BUSINESS_DATA)
        or viewer.has_right(Right.VIEW_AUDIT),
        "see_fairness": manager or viewer.has_right(Right.VIEW_AUDIT),
        "see_availability": manager or viewer.has_right(Right.VIEW_AUDIT) or viewer.has_right(Right.MANAGE_USERS),
        "create": may_manage_rule_set(viewer) or is_supervisor(viewer),
        "submit_intake": viewer.has_right(Right.EDIT_BUSINESS_DATA),
    }


# ---------------------------------------------------------------- rules in words

def _target_words(target: dict[str, Any] | None, names: dict[str, dict[int, str]]) -> str:
    if not target:
        return "—"
    kind, ident = target.get("kind"), target.get("id")
    if kind == "person":
        return _("person %(name)s") % {"name": names["people"].get(ident, f"#{ident}")}  # type: ignore[arg-type]
    if kind == "team":
        return _("team %(name)s, %(strategy)s") % {
            "name": names["teams"].get(ident, f"#{ident}"),  # type: ignore[arg-type]
            "strategy": STRATEGY_LABELS.get(str(target.get("strategy")), target.get("strategy"))}
    return _("pool %(name)s") % {"name": names["pools"].get(ident, f"#{ident}")}  # type: ignore[arg-type]


def _value_words(condition: dict[str, Any], names: dict[str, dict[Any, str]]) -> str:
    field, operator, value = condition.get("field"), condition.get("operator"), condition.get("value")
    if operator == "is_empty":
        return ""
    values = value if isinstance(value, list) else [value]
    fixed = dict(choices_for(str(field)))
    lookup = names["regions"] if field == "region" else names["industries"] if field == "industry" else {}
    words = []
    for v in values:
        if lookup:
            words.append(f"{lookup.get(str(v), v)}")
        elif fixed:
            words.append(str(fixed.get(str(v), v)))
        else:
            words.append(str(v))
    return _(" and ").join(words) if operator == "between" else ", ".join(words)


def rules_words(data: dict[str, Any] | None) -> dict[str, Any]:
    """A stored rule set as sentences: one line per rule ("Region is in or under 上海市 → team …") and the
    fallback. Names are looked up in a handful of queries, whatever the number of rules."""
    data = data or {}
    rules = data.get("rules") or []
    targets = [r.get("target") or {} for r in rules] + [data.get("fallback") or {}]
    ids: dict[str, set[Any]] = {"person": set(), "team": set(), "pool": set()}
    for t in targets:
        if t.get("kind") in ids:
            ids[t["kind"]].add(t.get("id"))
    codes: dict[str, set[str]] = {"region": set(), "industry": set()}
    for r in rules:
        for c in r.get("conditions") or []:
            if c.get("field") in codes:
                value = c.get("value")
                codes[c["field"]].update(str(v) for v in (value if isinstance(value, list) else [value]) if v)
    names: dict[str, dict[Any, str]] = {
        "people": dict(User.objects.filter(pk__in=ids["person"]).values_list("pk", "full_name")),
        "teams": dict(Team.objects.filter(pk__in=ids["team"]).values_list("pk", "name")),
        "pools": dict(Pool.objects.filter(pk__in=ids["pool"]).values_list("pk", "name")),
        "regions": dict(Region.objects.filter(code__in=codes["region"]).values_list("code", "name")),
        "industries": dict(Industry.objects.filter(code__in=codes["industry"]).values_list("code", "name")),
    }
    lines = []
    for i, r in enumerate(rules):
        conditions = [{"field": FIELD_LABELS.get(str(c.get("field")), c.get("field")),
                       "operator": OPERATOR_LABELS.get(str(c.get("operator")), c.get("operator")),
                       "value": _value_words(c, names)} for c in r.get("conditions") or []]
        lines.append({"position": i + 1, "key": r.get("key"), "name": r.get("name"), "conditions": conditions,
                      "target": _target_words(r.get("target"), names)})
    return {"rules": lines, "fallback": _target_words(data.get("fallback"), names), "names": names}


# ---------------------------------------------------------------- rule sets

@page_view(Right.VIEW_ORG)
def ruleset_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    rule_sets = selectors.rule_set_list(viewer=viewer)
    return render(request, "allocation/ruleset_list.html", {"rule_sets": rule_sets, "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
def ruleset_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not (is_admin(viewer) or is_supervisor(viewer)):
        raise PermissionRefused(_("Only an administrator or a director can write allocation rules."))
    form = RuleSetCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        department = None if is_admin(viewer) or viewer.department is None or viewer.department.parent_id is None \
            else viewer.department
        try:
            rule_set = rulesets.rule_set_create(actor=viewer, department=department, **form.cleaned_data)
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("The rule set was created. Write its first draft."))
            return redirect("allocation:draft_create", rule_set_id=rule_set.pk)
    return render(request, "allocation/form.html", {"form": form, "title": _("New rule set"),
                                                    "cancel_url": reverse("allocation:ruleset_list")})


@page_view(Right.VIEW_ORG)
def ruleset_detail(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    viewer = _viewer(request)
    rule_set = selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    versions = list(selectors.version_list(viewer=viewer, rule_set=rule_set))
    active = next((v for v in versions if v.status == VersionStatus.ACTIVE), None)
    return render(request, "allocation/ruleset_detail.html", {
        "rule_set": rule_set, "versions": versions, "active": active,
        "active_words": rules_words(active.rules) if active else None,
        "can_manage": may_manage_rule_set(viewer, rule_set), "can": _can(viewer)})


def _version(viewer: User, version_id: int) -> RuleSetVersion:
    return selectors.version_get(viewer=viewer, version_id=version_id)


@page_view(Right.VIEW_ORG)
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    viewer = _viewer(request)
    version = _version(viewer, version_id)
    previous = selectors.version_list(viewer=viewer, rule_set=version.rule_set).filter(
        number__lt=version.number).first()
    change = rulesets.rule_set_version_diff(old=previous, new=version)
    return render(request, "allocation/version_detail.html", {
        "version": version, "rule_set": version.rule_set, "words": rules_words(version.rules),
        "previous": previous, "diff": _diff_words(change), "can_manage": may_manage_rule_set(viewer, version.rule_set),
        "can_simulate": simulation.may_simulate(viewer, version), "can": _can(viewer)})


def _diff_words(change: rulesets.VersionDiff) -> dict[str, Any]:
    def rows(items: tuple[rulesets.RuleChange, ...]) -> list[dict[str, Any]]:
        out = []
        for c in items:
            before = rules_words({"rules": [c.before]})["rules"][0] if c.before else None
            after = rules_words({"rules": [c.after]})["rules"][0] if c.after else None
            out.append({"key": c.key, "name": c.name, "before": before, "after": after,
                        "position_before": None if c.position_before is None else c.position_before + 1,
                        "position_after": None if c.position_after is None else c.position_after + 1})
        return out

    return {"added": rows(change.added), "removed": rows(change.removed), "changed": rows(change.changed),
            "moved": rows(change.moved), "fallback_changed": change.fallback_changed,
            "fallback_before": rules_words({"fallback": change.fallback_before})["fallback"]
            if change.fallback_before else "—",
            "fallback_after": rules_words({"fallback": change.fallback_after})["fallback"], "is_empty": change.is_empty}


@page_view(Right.VIEW_ORG)
def version_diff(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    viewer = _viewer(request)
    rule_set = selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    versions = list(selectors.version_list(viewer=viewer, rule_set=rule_set))
    by_pk = {v.pk: v for v in versions}
    new = by_pk.get(_int(request, "new") or 0) or (versions[0] if versions else None)
    old = by_pk.get(_int(request, "old") or 0)
    if old is None and new is not None:
        old = next((v for v in versions if v.number < new.number), None)
    change = _diff_words(rulesets.rule_set_version_diff(old=old, new=new)) if new is not None else None
    return render(request, "allocation/version_diff.html", {
        "rule_set": rule_set, "versions": versions, "old": old, "new": new, "diff": change, "can": _can(viewer)})


def _editor_page(request: HttpRequest, *, rule_set: Any, version: RuleSetVersion | None,
                 start: dict[str, Any] | None, based_on_id: int | None = None) -> HttpResponse:
    """The rule editor for a new draft (version None) or an existing one; saves through the service."""
    viewer = _viewer(request)
    if not may_manage_rule_set(viewer, rule_set):
        raise PermissionRefused(_("Only an administrator or the director responsible can change allocation rules."))
    if request.method == "POST":
        editor = editor_from_post(_without_nul(request.POST))
        action = request.POST.get("action", "")
        if action != "save":
            editor_apply(editor, action)
        else:
            try:
                if version is None:
                    saved = rulesets.rule_set_version_create(
                        actor=viewer, rule_set_id=rule_set.pk, rules=editor_to_ruleset(editor), note=editor.note,
                        based_on_id=based_on_id)
                else:
                    saved = rulesets.rule_set_version_update(actor=viewer, version_id=version.pk,
                                                             rules=editor_to_ruleset(editor), note=editor.note)
            except ValidationFailed as exc:
                editor_place_problems(editor, exc.field_errors or {"": [str(exc.message)]})
            except Conflict as exc:
                editor.problems.append(str(exc.message))
            else:
                messages.success(request, _("Draft v%(n)s saved. Simulate it before you activate it.")
                                 % {"n": saved.number})
                return redirect("allocation:version_detail", version_id=saved.pk)
    else:
        editor = editor_from_ruleset(start or {"rules": [], "fallback": {"kind": "pool", "id": None}},
                                     note=version.note if version else "")
    editor_number(editor)
    _describe_values(editor)
    return render(request, "allocation/version_edit.html", {
        "rule_set": rule_set, "version": version, "editor": editor, "choices": editor_choices(), "can": _can(viewer),
        "title": (_("Edit draft v%(n)s of %(name)s") % {"n": version.number, "name": rule_set.name}) if version
        else _("New draft of %(name)s") % {"name": rule_set.name}})


def _describe_values(editor: Any) -> None:
    """Show region and industry codes by name beside the condition."""
    codes: dict[str, set[str]] = {"region": set(), "industry": set()}
    for rule in editor.rules:
        for c in rule.conditions:
            if c.field in codes:
                codes[c.field].update(v.split()[0] for v in c.values if v.strip())
    regions = dict(Region.objects.filter(code__in=codes["region"]).values_list("code", "name"))
    industries = dict(Industry.objects.filter(code__in=codes["industry"]).values_list("code", "name"))
    for rule in editor.rules:
        for c in rule.conditions:
            lookup = regions if c.field == "region" else industries if c.field == "industry" else None
            if lookup is not None and c.field == "region":
                c.display = ", ".join(lookup.get(v.split()[0], _("unknown code %(code)s") % {"code": v.split()[0]})
                                      for v in c.values if v.strip())


@page_view(Right.VIEW_ORG)
def draft_create(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    viewer = _viewer(request)
    rule_set = selectors.rule_set_get(viewer=viewer, rule_set_id=rule_set_id)
    versions = selectors.version_list(viewer=viewer, rule_set=rule_set)
    from_id = _int(request, "from")
    start_from = versions.filter(pk=from_id).first() if from_id else None
    if start_from is None:
        start_from = versions.first()
    return _editor_page(request, rule_set=rule_set, version=None, start=start_from.rules if start_from else None,
                        based_on_id=start_from.pk if start_from else None)


@page_view(Right.VIEW_ORG)
def version_edit(request: HttpRequest, version_id: int) -> HttpResponse:
    viewer = _viewer(request)
    version = _version(viewer, version_id)
    if version.status != VersionStatus.DRAFT:
        messages.warning(request, _("Only a draft can be edited. This is a new draft based on v%(n)s.")
                         % {"n": version.number})
        return redirect(f"{reverse('allocation:draft_create', args=[version.rule_set_id])}?from={version.pk}")
    return _editor_page(request, rule_set=version.rule_set, version=version, start=version.rules)


@page_view(Right.VIEW_ORG)
def version_activate(request: HttpRequest, version_id: int) -> HttpResponse:
    viewer = _viewer(request)
    version = _version(viewer, version_id)
    if not may_manage_rule_set(viewer, version.rule_set):
        raise PermissionRefused(_("Only an administrator or the director responsible can change allocation rules."))
    active = selectors.active_version(rule_set=version.rule_set)
    form = ActivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rulesets.rule_set_version_activate(actor=viewer, version_id=version.pk, note=form.cleaned_data["note"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("v%(n)s is now active: new customers are allocated by it.")
                             % {"n": version.number})
            return redirect("allocation:ruleset_detail", rule_set_id=version.rule_set_id)
    return render(request, "allocation/version_activate.html", {
        "version": version, "rule_set": version.rule_set, "active": active, "form": form,
        "diff": _diff_words(rulesets.rule_set_version_diff(old=active, new=version)), "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
@require_POST
def version_retire(request: HttpRequest, version_id: int) -> HttpResponse:
    viewer = _viewer(request)
    version = _version(viewer, version_id)
    reason = _text(request.POST, "reason").strip() or _("Discarded from the rule set page.")
    try:
        rulesets.rule_set_version_retire(actor=viewer, version_id=version.pk, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("v%(n)s was retired.") % {"n": version.number})
    return redirect("allocation:ruleset_detail", rule_set_id=version.rule_set_id)


# ---------------------------------------------------------------- simulation

@page_view(Right.VIEW_ORG)
def version_simulate(request: HttpRequest, version_id: int) -> HttpResponse:
    viewer = _viewer(request)
    version = _version(viewer, version_id)
    if not simulation.may_simulate(viewer, version):  # refused before the form is filled in, not after
        raise PermissionRefused(_("Only the rule set's managers and auditors can run simulations."))
    form = SimulationForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["source"] == "file":
                upload = data.get("file")
                if upload is None:
                    raise ValidationFailed(field_errors={"file": [_("Choose a file of leads.")]})
                if (upload.size or 0) > MAX_SIMULATION_FILE:  # as the API: never read a huge upload into memory
                    raise ValidationFailed(field_errors={"file": [str(FileTooLarge.default_message)]})
                result = simulation.simulation_run(actor=viewer, version_id=version.pk, data=upload.read(),
                                                   filename=upload.name)
            else:
                result = simulation.simulation_run(actor=viewer, version_id=version.pk,
                                                   months=data.get("months") or 3)
        except (ValidationFailed, FileRejected) as exc:
            if isinstance(exc, FileRejected):
                form.add_error("file", str(exc))
            else:
                form_apply_error(form, exc)
    return render(request, "allocation/version_simulate.html", {
        "version": version, "rule_set": version.rule_set, "form": form, "result": _simulation_view(result),
        "can": _can(viewer)})


def _simulation_view(result: Any) -> dict[str, Any] | None:
    """The service's result shaped for the page: rows per person with tier cells and the chart's bars."""
    if result is None:
        return None
    rows = list(getattr(result, "people", []) or [])
    most = max([int(getattr(r, "count", 0) or 0) for r in rows] + [1])
    names = dict(Intake.objects.filter(pk__in=[int(c["subject"].split(":")[1]) for c in result.changed_subjects[:50]
                                               if str(c["subject"]).startswith("intake:")
                                               and str(c["subject"]).split(":")[1].isdigit()])
                 .values_list("pk", "fields__name"))
    changed = [{**c, "label": names.get(int(str(c["subject"]).split(":")[1]), c["subject"])
                if str(c["subject"]).startswith("intake:") and str(c["subject"]).split(":")[1].isdigit()
                else c["subject"]} for c in result.changed_subjects[:50]]
    return {"raw": result, "rows": rows, "chart": chart_bars(rows, most), "changed": changed}


MAX_SIMULATION_FILE = 20 * 1024 * 1024  # the API's limit

CHART_ROW = 26
CHART_BAR_WIDTH = 260  # the longest bar; names take the 150 units on its left, the total the rest


def chart_bars(rows: list[Any], most: int, width: int = CHART_BAR_WIDTH) -> dict[str, Any]:
    """Horizontal bars for an SVG chart, stacked by tier (A, B, C): geometry only, no inline style (the CSP)."""
    bars = []
    for index, row in enumerate(rows):
        x = 0.0
        parts = []
        for tier in Tier.values:
            count = int((getattr(row, "count_by_tier", None) or {}).get(tier, 0))
            w = width * count / most if most else 0
            parts.append({"tier": tier, "x": round(x, 1), "width": round(w, 1), "count": count})
            x += w
        bars.append({"y": index * CHART_ROW, "label": getattr(row, "name", ""), "total": getattr(row, "count", 0),
                     "parts": parts, "end": round(x, 1) + 6})
    return {"bars": bars, "height": len(bars) * CHART_ROW + 4, "width": 150 + 10 + width + 40}


# ---------------------------------------------------------------- intake

@page_view(Right.VIEW_ORG)
def intake_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    outcome = request.GET.get("outcome", "")
    verdict = request.GET.get("verdict", "")
    channel = request.GET.get("channel", "")
    qs = selectors.intake_list(viewer=viewer, outcome=outcome if outcome in IntakeOutcome.values else "",
                               channel=channel if channel in IntakeChannel.values else "",
                               search=_text(request.GET, "q")[:100])
    if verdict in VERDICTS:
        qs = qs.filter(dedupe_verdict=verdict)
    page = paginate(request, qs)
    return render(request, "allocation/intake_list.html", {
        "page": page, "intakes": page.object_list, "total": page.paginator.count,
        "outcomes": IntakeOutcome.choices, "channels": IntakeChannel.choices,
        "verdicts": [(v, VERDICTS[v]) for v in VERDICTS], "can": _can(viewer)})


def _intake_fields(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "uscc", "address", "size", "tier", "source", "contact_name", "contact_phone", "contact_email")
    fields = {k: data[k] for k in keys if data.get(k) not in (None, "")}
    if data.get("region_code"):
        fields["region"] = data["region_code"]
    if data.get("industry"):
        fields["industry"] = data["industry"]
    if data.get("expected_value") is not None:
        fields["expected_value"] = str(data["expected_value"])
    return fields


@page_view(Right.EDIT_BUSINESS_DATA)
def intake_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            intake = intake_services.intake_submit(actor=viewer, channel=IntakeChannel.FORM,
                                                   fields=_intake_fields(form.cleaned_data),
                                                   duplicate_reason=form.cleaned_data["duplicate_reason"],
                                                   ip_address=request.META.get("REMOTE_ADDR"))
        except (ValidationFailed, Conflict) as exc:
            if "region" in exc.field_errors:
                exc.field_errors["region_code"] = exc.field_errors.pop("region")
            form_apply_error(form, exc)
        else:
            messages.success(request, _("The lead was received: %(outcome)s.")
                             % {"outcome": intake.get_outcome_display()})
            return redirect("allocation:intake_detail", intake_id=intake.pk)
    return render(request, "allocation/intake_form.html", {
        "form": form, "title": _("Register a lead"), "can": _can(viewer),
        "regions": Region.objects.filter(level__in=("province", "city")).order_by("code").only("code", "name"),
        "industries": Industry.objects.filter(is_active=True).order_by("code").only("code", "name")})


@page_view(Right.VIEW_ORG)
def intake_detail(request: HttpRequest, intake_id: int) -> HttpResponse:
    viewer = _viewer(request)
    intake = selectors.intake_get(viewer=viewer, intake_id=intake_id)
    decisions = [_decision_view(d) for d in intake.decisions.select_related(
        "person", "pool", "team", "version", "version__rule_set", "actor", "previous_owner").order_by("decided_at")]
    can_review = intake.outcome == IntakeOutcome.HELD and (
        is_admin(viewer) or is_supervisor(viewer) or (intake.submitted_by_id == viewer.pk
                                                     and viewer.has_right(Right.EDIT_BUSINESS_DATA)))
    return render(request, "allocation/intake_detail.html", {
        "intake": intake, "decisions": decisions, "can_review": can_review, "can": _can(viewer),
        "field_rows": _intake_field_rows(intake.fields or {})})


INTAKE_FIELD_LABELS = {
    "name": _lazy("Company name"), "uscc": _lazy("Unified social credit code"), "english_name": _lazy("English name"),
    "aliases": _lazy("Aliases"), "region": _lazy("Region"), "address": _lazy("Address"),
    "website": _lazy("Website or e-mail domain"), "industry": _lazy("Industry"), "size": _lazy("Size"),
    "tier": _lazy("Key-account tier"), "source": _lazy("Source"), "external_id": _lazy("External id"),
    "expected_value": _lazy("Expected value (CNY)"), "contact_name": _lazy("Contact name"),
    "contact_title": _lazy("Contact title"), "contact_phone": _lazy("Contact phone"),
    "contact_email": _lazy("Contact e-mail"), "note": _lazy("Message"),
}


def _intake_field_rows(fields: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The submitted fields in the form's order, with words for codes (region and industry by name)."""
    rows: list[tuple[Any, Any]] = []
    for key, label in INTAKE_FIELD_LABELS.items():
        value = fields.get(key)
        if value in (None, "", []):
            continue
        if key == "region":
            value = Region.objects.filter(code=value).values_list("name", flat=True).first() or value
        elif key == "industry":
            value = Industry.objects.filter(code=value).values_list("name", flat=True).first() or value
        elif key == "size":
            value = dict(choices_for("size")).get(value, value)
        elif isinstance(value, list):
            value = " | ".join(str(v) for v in value)
        rows.append((label, value))
    rows += [(key, value) for key, value in sorted(fields.items()) if key not in INTAKE_FIELD_LABELS and value]
    return rows


@page_view(Right.VIEW_ORG)
@require_POST
def intake_review(request: HttpRequest, intake_id: int) -> HttpResponse:
    viewer = _viewer(request)
    intake = selectors.intake_get(viewer=viewer, intake_id=intake_id)
    duplicate_of = request.POST.get("duplicate_of", "")
    try:
        intake_services.intake_review(actor=viewer, intake_id=intake.pk, action=request.POST.get("action", ""),
                                      reason=_text(request.POST, "reason"),
                                      duplicate_of_id=int(duplicate_of) if duplicate_of.isdigit() else None)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, " ".join([str(exc.message)] + [str(m) for ms in exc.field_errors.values() for m in ms]))
    else:
        messages.success(request, _("The lead was reviewed."))
    return redirect("allocation:intake_detail", intake_id=intake.pk)


# ---------------------------------------------------------------- the public web form (no login)

def _client_ip(request: HttpRequest) -> str | None:
    from kamguard.core.middleware import client_ip

    return client_ip(request)


def public_lead(request: HttpRequest) -> HttpResponse:
    """The public web form. It says the same thing whatever happens to the lead (new, duplicate or spam), so it
    tells nobody outside whether a company is already a customer."""
    form = PublicLeadForm(request.POST or None, initial={"shown": intake_services.web_form_token()})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data[k] for k in ("name", "contact_name", "contact_phone", "contact_email", "address")
                  if data.get(k)}
        if data.get("message"):
            fields["note"] = data["message"]
        try:
            intake_services.web_intake_submit(fields=fields, ip_address=_client_ip(request),
                                              form_token=request.POST.get("shown", ""),
                                              honeypot=data.get("website", ""))
        except RateLimited as exc:
            form.add_error(None, str(exc.message))
            status = 429
        except ValidationFailed as exc:
            if exc.code == "form_expired":  # show the form again with a fresh token: sending it again works
                fresh = request.POST.copy()
                fresh["shown"] = intake_services.web_form_token()
                form = PublicLeadForm(fresh)
                form.is_valid()
            form_apply_error(form, exc)
            status = 422
        else:
            return redirect("public_lead_thanks")
    elif request.method == "POST":
        status = 422
    return render(request, "allocation/public_lead.html", {"form": form}, status=status)


def public_lead_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "allocation/public_thanks.html")


# ---------------------------------------------------------------- the allocation log

def _decision_view(d: AllocationDecision) -> dict[str, Any]:
    candidates = []
    people_names = dict(User.objects.filter(pk__in=[c.get("person_id") for c in d.candidates or []])
                        .values_list("pk", "full_name"))
    for c in d.candidates or []:
        candidates.append({**c, "name": people_names.get(c.get("person_id"), f"#{c.get('person_id')}"),
                           "skipped_label": skip_label(str(c.get("skipped") or "")) if c.get("skipped") else ""})
    return {"decision": d, "sentence": decision_sentence(d), "candidates": candidates}


@page_view(Right.VIEW_ORG)
def decision_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    start, end = _date(request, "start"), _date(request, "end")
    manual = {"1": True, "0": False}.get(request.GET.get("manual", ""))
    qs = selectors.decision_list(viewer=viewer, since=start, until=end, team_id=_int(request, "team"),
                                 person_id=_int(request, "person"), manual=manual)
    rule_key, search = _text(request.GET, "rule").strip()[:80], _text(request.GET, "q").strip()[:100]
    if rule_key:
        qs = qs.filter(rule_key=rule_key)
    if search:
        qs = qs.filter(customer__name__icontains=search)
    page = paginate(request, qs)
    decisions = list(page.object_list)
    for d in decisions:
        d.strategy_label = STRATEGY_LABELS.get(d.strategy, d.strategy)  # type: ignore[attr-defined]
    return render(request, "allocation/decision_list.html", {
        "page": page, "decisions": decisions, "total": page.paginator.count, "start": start, "end": end,
        "teams": selectors.fairness_team_list(viewer=viewer), "people": _people_choices(viewer),
        "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
def decision_detail(request: HttpRequest, decision_id: int) -> HttpResponse:
    viewer = _viewer(request)
    decision = selectors.decision_get(viewer=viewer, decision_id=decision_id)
    return render(request, "allocation/decision_detail.html", {
        "decision": decision, "view": _decision_view(decision), "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
def customer_decisions(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The allocation section of a customer page (a fragment the customer page loads with htmx). A customer the
    viewer may not see is not found, as on the customer page itself."""
    viewer = _viewer(request)
    from kamguard.customers import selectors as customer_selectors

    customer_selectors.customer_get(viewer=viewer, customer_id=customer_id)
    decisions = [_decision_view(d) for d in selectors.decision_list(viewer=viewer, customer_id=customer_id)[:20]]
    template = "allocation/_customer_decisions.html" if request.htmx else "allocation/customer_decisions.html"  # type: ignore[attr-defined]
    return render(request, template, {"decisions": decisions, "customer_id": customer_id,
                                      "can_reassign": is_admin(viewer) or is_supervisor(viewer), "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
def customer_reassign(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = _viewer(request)
    from kamguard.customers import selectors as customer_selectors

    customer = customer_selectors.customer_get(viewer=viewer, customer_id=customer_id)
    if not (is_admin(viewer) or is_supervisor(viewer)):
        raise PermissionRefused(_("Only a supervisor or an administrator can re-assign a customer."))
    from kamguard.org import selectors as org_selectors

    form = ReassignForm(request.POST or None)
    # A supervisor may re-assign only to people in their scope (the service refuses anyone else)
    if not is_admin(viewer):
        form.fields["to_owner"].queryset = org_selectors.user_list(  # type: ignore[attr-defined]
            viewer=viewer, is_active=True, sort="name")
    if request.method == "POST" and form.is_valid():
        try:
            overrides.customer_reassign(actor=viewer, customer_id=customer.pk,
                                        new_owner=form.cleaned_data["to_owner"], reason=form.cleaned_data["reason"])
        except (ValidationFailed, Conflict, PermissionRefused) as exc:
            if "new_owner" in exc.field_errors:
                exc.field_errors["to_owner"] = exc.field_errors.pop("new_owner")
            if isinstance(exc, PermissionRefused):
                form.add_error("to_owner", str(exc.message))
            else:
                form_apply_error(form, exc)
        else:
            messages.success(request, _("%(name)s was re-assigned; the reason is in the allocation log.")
                             % {"name": customer.name})
            return redirect("customers:customer_detail", customer_id=customer.pk)
    return render(request, "allocation/form.html", {
        "form": form, "title": _("Re-assign %(name)s") % {"name": customer.name},
        "intro": _("A manual re-assignment overrides the rules: it is recorded with your reason and counted in the "
                   "fairness report."),
        "cancel_url": reverse("customers:customer_detail", args=[customer.pk]), "submit_label": _("Re-assign")})


# ---------------------------------------------------------------- fairness

def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    start, end = _date(request, "start"), _date(request, "end")
    if start is None:
        start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1) if today.day < 8 else today.replace(day=1)
    if end is None or end < start:
        end = today
    return start, end


@page_view(Right.VIEW_ORG)
def fairness(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    start, end = _period(request)
    teams = list(selectors.fairness_team_list(viewer=viewer))
    team_id = _int(request, "team") or (teams[0].pk if teams else None)
    report, error = None, ""
    if team_id:
        try:
            report = fairness_services.fairness_report(viewer=viewer, team_id=team_id, since=start, until=end)
        except ValidationFailed as exc:
            error = " ".join([str(exc.message)] + [str(m) for ms in exc.field_errors.values() for m in ms])
    rows = list(getattr(report, "people", []) or []) if report else []
    most = max([int(getattr(r, "count", 0) or 0) for r in rows] + [1])
    alerts = selectors.fairness_alert_list(viewer=viewer)[:20]
    team = next((t for t in teams if t.pk == team_id), None)
    setting_form = None
    if team is not None and may_manage_team(viewer, team):
        from kamguard.allocation.models import TeamAllocationSetting

        current = TeamAllocationSetting.objects.filter(team=team).first()
        setting_form = TeamSettingForm(initial={
            "pool": current.pool_id if current else None,
            "max_gini_count": current.max_gini_count if current else None,
            "max_gini_value": current.max_gini_value if current else None,
            "max_spread_count": current.max_spread_count if current else None})
    return render(request, "allocation/fairness.html", {
        "setting_form": setting_form, "acknowledge_form": AcknowledgeForm(),
        "start": start, "end": end, "teams": teams, "team": team, "report": report, "rows": rows, "error": error,
        "chart": chart_bars(rows, most), "alerts": alerts, "can_manage_team": bool(team and may_manage_team(
            viewer, team)), "can": _can(viewer)})


@page_view(Right.VIEW_ORG)
@require_POST
def team_setting_save(request: HttpRequest, team_id: int) -> HttpResponse:
    viewer = _viewer(request)
    team = selectors.fairness_team_list(viewer=viewer).filter(pk=team_id).first()
    if team is None:
        raise NotFound()
    form = TeamSettingForm(request.POST)
    if form.is_valid():
        try:
            people.team_setting_save(actor=viewer, team=team, **form.cleaned_data)
        except ValidationFailed as exc:
            messages.error(request, _errors_text(exc))
        else:
            messages.success(request, _("Settings of %(team)s saved.") % {"team": team.name})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(f"{reverse('allocation:fairness')}?team={team.pk}")


@page_view(Right.VIEW_ORG)
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = AcknowledgeForm(request.POST)
    team_id = ""
    if form.is_valid():
        try:
            alert = fairness_services.fairness_alert_acknowledge(actor=viewer, alert_id=alert_id,
                                                                 note=form.cleaned_data["note"])
        except (ValidationFailed, Conflict) as exc:
            messages.error(request, _errors_text(exc))
        else:
            team_id = str(alert.team_id)
            messages.success(request, _("The alert is answered."))
    else:
        messages.error(request, _("Say what was done about it (e.g. which rule was adjusted)."))
    return redirect(f"{reverse('allocation:fairness')}?team={team_id}" if team_id else reverse("allocation:fairness"))


def _errors_text(exc: DomainError) -> str:
    return " ".join([str(exc.message)] + [str(m) for ms in exc.field_errors.values() for m in ms])


# ---------------------------------------------------------------- capacity and absences

@page_view(Right.VIEW_ORG)
def availability(request: HttpRequest) -> HttpResponse:
    from django.db.models import Count

    from kamguard.allocation.models import Absence, DepartureNotice, PersonCapacity
    from kamguard.customers.models import Customer
    from kamguard.org import selectors as org_selectors

    viewer = _viewer(request)
    people_qs = org_selectors.user_list(viewer=viewer, is_active=True, team_id=_int(request, "team"),
                                        search=_text(request.GET, "q")[:100], sort="name")
    page = paginate(request, people_qs)
    persons = list(page.object_list)
    ids = [p.pk for p in persons]
    today = timezone.localdate()
    capacities = {(c.person_id, c.tier): c.capacity for c in PersonCapacity.objects.filter(person_id__in=ids)}
    loads = {(row["owner_id"], row["tier"]): row["n"] for row in Customer.objects.filter(
        owner_id__in=ids, status="active").order_by().values("owner_id", "tier").annotate(n=Count("pk"))}
    away = {a.person_id: a.get_kind_display() for a in Absence.objects.filter(
        person_id__in=ids, starts_on__lte=today, ends_on__gte=today)}
    leaving = set(DepartureNotice.objects.filter(person_id__in=ids, noticed_on__lte=today).values_list(
        "person_id", flat=True))
    rows = [{"person": p, "tiers": [{"tier": t, "load": loads.get((p.pk, t), 0), "capacity": capacities.get((p.pk, t))}
                                    for t in Tier.values],
             "unavailable": away.get(p.pk) or (_("leaving") if p.pk in leaving else ""),
             "can_manage": may_manage_person(viewer, p)} for p in persons]
    absences = list(selectors.absence_list(viewer=viewer).filter(ends_on__gte=today)[:50])
    can = {**_can(viewer), "manage_absences": is_admin(viewer) or is_supervisor(viewer) or viewer.has_right(
        Right.MANAGE_USERS)}
    in_scope = org_selectors.user_list(viewer=viewer, is_active=True, sort="name")
    form = AbsenceForm(initial={"starts_on": today, "ends_on": today})
    form.fields["person"].queryset = in_scope  # type: ignore[attr-defined]
    notice_form = DepartureNoticeForm(initial={"noticed_on": today}, prefix="notice")
    notice_form.fields["person"].queryset = in_scope  # type: ignore[attr-defined]
    return render(request, "allocation/availability.html", {
        "page": page, "rows": rows, "absences": absences, "teams": selectors.fairness_team_list(viewer=viewer),
        "absence_form": form, "notice_form": notice_form, "can": can,
        "notices": list(selectors.departure_notice_list(viewer=viewer).filter(person__is_active=True)[:50])})


@page_view(Right.VIEW_ORG)
def capacity_edit(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer = _viewer(request)
    from kamguard.org import selectors as org_selectors

    person = org_selectors.user_get(viewer=viewer, user_id=person_id)
    if not may_manage_person(viewer, person):
        raise PermissionRefused(_("Only the person's supervisor, HR or an administrator can change this."))
    current = {c.tier: c.capacity for c in person.allocation_capacities.all()}
    form = CapacityForm(request.POST or None, initial={f"capacity_{t.lower()}": current.get(t) for t in Tier.values})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # all three tiers or none: a refused one undoes those before it
                for tier in Tier.values:
                    value = form.cleaned_data[f"capacity_{tier.lower()}"]
                    if value != current.get(tier):
                        people.capacity_set(actor=viewer, person=person, tier=tier, capacity=value)
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Capacity of %(name)s saved.") % {"name": person.full_name})
            return redirect("allocation:availability")
    return render(request, "allocation/form.html", {
        "form": form, "title": _("Capacity of %(name)s") % {"name": person.full_name},
        "intro": _("How many customers of each tier this person may own; empty means no limit. Capacity-weighted "
                   "allocation gives the next customer to the person with the lowest load for their capacity, and "
                   "skips people at capacity."),
        "cancel_url": reverse("allocation:availability")})


@page_view(Right.VIEW_ORG)
@require_POST
def absence_add(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = AbsenceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            people.absence_add(actor=viewer, person=data["person"], kind=data["kind"], starts_on=data["starts_on"],
                               ends_on=data["ends_on"], note=data["note"])
        except (ValidationFailed, PermissionRefused) as exc:
            if isinstance(exc, PermissionRefused):
                raise
            messages.error(request, " ".join([str(exc.message)] + [str(m) for ms in exc.field_errors.values()
                                                                    for m in ms]))
        else:
            messages.success(request, _("Absence recorded: allocation skips %(name)s in that period.")
                             % {"name": data["person"].full_name})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("allocation:availability")


@page_view(Right.VIEW_ORG)
@require_POST
def absence_remove(request: HttpRequest, absence_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        people.absence_remove(actor=viewer, absence_id=absence_id, reason=_text(request.POST, "reason"))
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The absence was removed."))
    return redirect("allocation:availability")



@page_view(Right.VIEW_ORG)
@require_POST
def departure_notice_add(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = DepartureNoticeForm(request.POST, prefix="notice")
    if form.is_valid():
        data = form.cleaned_data
        try:
            people.departure_notice_set(actor=viewer, person=data["person"], noticed_on=data["noticed_on"],
                                        leaves_on=data["leaves_on"], note=data["note"])
        except ValidationFailed as exc:
            messages.error(request, _errors_text(exc))
        else:
            messages.success(request, _("Notice recorded: allocation gives %(name)s no new customers from %(day)s.")
                             % {"name": data["person"].full_name, "day": data["noticed_on"].isoformat()})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("allocation:availability")


@page_view(Right.VIEW_ORG)
@require_POST
def departure_notice_remove(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer = _viewer(request)
    from kamguard.org import selectors as org_selectors

    person = org_selectors.user_get(viewer=viewer, user_id=person_id)
    try:
        people.departure_notice_remove(actor=viewer, person=person, reason=_text(request.POST, "reason"))
    except ValidationFailed as exc:
        messages.error(request, _errors_text(exc))
    else:
        messages.success(request, _("The notice was withdrawn."))
    return redirect("allocation:availability")
