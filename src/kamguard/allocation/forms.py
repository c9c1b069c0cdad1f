"""Forms of the allocation pages. They only shape input; every rule lives in the services and the engine.

The rule editor lets a director write a rule set without JSON: ordered rules, each with condition rows
(field · operator · value) and a target (person, team with its strategy, or pool), then the fallback. The
browser posts the whole editor every time; buttons (add a rule, add a condition, move up or down, remove)
change it on the server and show it again, so it works without script. `editor_to_ruleset` turns the posted
editor into the contract's JSON shape, which the service validates with the engine; the engine's problems
come back with paths such as ``rules[2].conditions[0].value`` and are shown next to the row they concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamguard.customers.models import Pool, Size, Tier
from kamguard.org.models import Team, User

# The customer fields a condition may test (the engine's FIELDS), with their words and their value widget.
FIELD_LABELS: dict[str, Any] = {
    "region": _("Region"),
    "industry": _("Industry"),
    "size": _("Size"),
    "tier": _("Key-account tier"),
    "source": _("Source"),
    "expected_value": _("Expected value"),
    "name": _("Name"),
    "channel": _("Intake channel"),
}
FIELD_OPERATORS: dict[str, tuple[str, ...]] = {
    "region": ("within", "eq", "ne", "in", "not_in", "is_empty"),
    "industry": ("eq", "ne", "in", "not_in", "is_empty"),
    "size": ("eq", "ne", "in", "not_in", "is_empty"),
    "tier": ("eq", "ne", "in", "not_in"),
    "source": ("eq", "ne", "contains", "in", "not_in", "is_empty"),
    "expected_value": ("gt", "gte", "lt", "lte", "between", "eq", "ne", "is_empty"),
    "name": ("contains", "eq", "ne", "is_empty"),
    "channel": ("eq", "ne", "in", "not_in"),
}
OPERATOR_LABELS: dict[str, Any] = {
    "eq": pgettext_lazy("rule operator", "is"),
    "ne": pgettext_lazy("rule operator", "is not"),
    "in": pgettext_lazy("rule operator", "is one of"),
    "not_in": pgettext_lazy("rule operator", "is none of"),
    "gt": pgettext_lazy("rule operator", "more than"),
    "gte": pgettext_lazy("rule operator", "at least"),
    "lt": pgettext_lazy("rule operator", "less than"),
    "lte": pgettext_lazy("rule operator", "at most"),
    "between": pgettext_lazy("rule operator", "between"),
    "contains": pgettext_lazy("rule operator", "contains"),
    "is_empty": pgettext_lazy("rule operator", "is empty"),
    "within": pgettext_lazy("rule operator", "is in or under"),
}
MULTI_OPERATORS = {"in", "not_in"}
CHANNEL_LABELS: dict[str, Any] = {
    "form": _("Internal form"), "api": _("API"), "import": _("Import"), "web": _("Public web form"),
    "manual": _("Manual"),
}
STRATEGY_LABELS: dict[str, Any] = {
    "round_robin": _("Round-robin"),
    "capacity": _("Capacity-weighted"),
    "least_loaded": _("Least loaded"),
    "first_come": _("First come (to the team's pool)"),
}
TARGET_LABELS: dict[str, Any] = {
    "person": pgettext_lazy("allocation target", "A person"),
    "team": pgettext_lazy("allocation target", "A team"),
    "pool": pgettext_lazy("allocation target", "A shared pool"),
}
SPLIT = re.compile(r"[,，、;；\n]+")


def choices_for(field_name: str) -> list[tuple[str, Any]]:
    """Fixed choices of a field's value (empty when the value is free text, a code or a number)."""
    if field_name == "size":
        return list(Size.choices)
    if field_name == "tier":
        return list(Tier.choices)
    if field_name == "channel":
        return list(CHANNEL_LABELS.items())
    return []


@dataclass
class ConditionRow:
    field: str = "region"
    operator: str = "within"
    values: list[str] = _field(default_factory=list)  # one, several (in / not_in) or two (between)
    problems: list[str] = _field(default_factory=list)
    display: str = ""  # the value in words (region and industry names), filled by the page

    @property
    def widget(self) -> str:
        if self.operator == "is_empty":
            return "none"
        if self.operator == "between":
            return "range"
        if choices_for(self.field) or self.field == "industry":
            return "choices" if self.is_multi else "choice"
        if self.field == "region":
            return "region"
        return "number" if self.field == "expected_value" else "text"

    @property
    def text(self) -> str:
        return ", ".join(self.values)

    @property
    def low(self) -> str:
        return self.values[0] if self.values else ""

    @property
    def high(self) -> str:
        return self.values[1] if len(self.values) > 1 else ""

    @property
    def choice_list(self) -> list[tuple[str, Any]]:
        return choices_for(self.field)

    @property
    def is_multi(self) -> bool:
        return self.operator in MULTI_OPERATORS

    @property
    def operators(self) -> list[tuple[str, Any]]:
        return [(op, OPERATOR_LABELS[op]) for op in FIELD_OPERATORS.get(self.field, tuple(OPERATOR_LABELS))]


@dataclass
class TargetRow:
    kind: str = "team"
    person: str = ""
    team: str = ""
    pool: str = ""
    strategy: str = "round_robin"
    problems: list[str] = _field(default_factory=list)

    @property
    def target_id(self) -> str:
        return {"person": self.person, "team": self.team, "pool": self.pool}.get(self.kind, "")


@dataclass
class RuleRow:
    key: str = ""
    name: str = ""
    conditions: list[ConditionRow] = _field(default_factory=list)
    target: TargetRow = _field(default_factory=TargetRow)
    problems: list[str] = _field(default_factory=list)
    prefix: str = ""  # the target's field names on the page: r<position>-target


@dataclass
class Editor:
    rules: list[RuleRow] = _field(default_factory=list)
    fallback: TargetRow = _field(default_factory=lambda: TargetRow(kind="pool"))
    note: str = ""
    problems: list[str] = _field(default_factory=list)  # about the whole rule set

    @property
    def problem_count(self) -> int:
        return (len(self.problems) + len(self.fallback.problems)
                + sum(len(r.problems) + len(r.target.problems) + sum(len(c.problems) for c in r.conditions)
                      for r in self.rules))


# ---------------------------------------------------------------- from stored JSON and back

def _value_texts(value: Any) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _target_row(data: Any) -> TargetRow:
    data = data if isinstance(data, dict) else {}
    kind = str(data.get("kind") or "pool")
    row = TargetRow(kind=kind, strategy=str(data.get("strategy") or ("round_robin" if kind == "team" else "")))
    if kind in ("person", "team", "pool"):
        setattr(row, kind, str(data.get("id") or ""))
    return row


def editor_from_ruleset(data: Any, note: str = "") -> Editor:
    """The editor showing a stored rule set (the contract's JSON shape)."""
    data = data if isinstance(data, dict) else {}
    rules = []
    for raw in data.get("rules") or []:
        conditions = [ConditionRow(field=str(c.get("field", "")), operator=str(c.get("operator", "")),
                                   values=_value_texts(c.get("value"))) for c in raw.get("conditions") or []]
        rules.append(RuleRow(key=str(raw.get("key", "")), name=str(raw.get("name", "")), conditions=conditions,
                             target=_target_row(raw.get("target"))))
    return Editor(rules=rules, fallback=_target_row(data.get("fallback")), note=note)


def _parse_value(row: ConditionRow) -> Any:
    """The typed value of a condition: a list for in / not_in, two bounds for between, true for is_empty."""
    values = [v.strip() for v in row.values if v.strip()]
    if row.field == "region":  # "310000 上海市" from the picker: the code is the first word
        values = [v.split()[0] for v in values]
    if row.operator == "is_empty":
        return True
    if row.operator in MULTI_OPERATORS:
        return values
    if row.operator == "between":
        return values[:2]
    return values[0] if values else ""


def _target_json(row: TargetRow) -> dict[str, Any]:
    raw = row.target_id.strip()
    target_id: Any = int(raw) if raw.isdigit() else raw or None
    return {"kind": row.kind, "id": target_id, "strategy": row.strategy if row.kind == "team" else ""}


def editor_to_ruleset(editor: Editor) -> dict[str, Any]:
    """The contract's JSON shape. Nothing is checked here: the engine says what is wrong, where."""
    return {
        "rules": [{"key": r.key.strip(), "name": r.name.strip(),
                   "conditions": [{"field": c.field, "operator": c.operator, "value": _parse_value(c)}
                                  for c in r.conditions],
                   "target": _target_json(r.target)} for r in editor.rules],
        "fallback": _target_json(editor.fallback),
    }


# ---------------------------------------------------------------- from the posted page

def _post_target(post: QueryDict, prefix: str) -> TargetRow:
    return TargetRow(kind=post.get(f"{prefix}-kind", "team"), person=post.get(f"{prefix}-person", ""),
                     team=post.get(f"{prefix}-team", ""), pool=post.get(f"{prefix}-pool", ""),
                     strategy=post.get(f"{prefix}-strategy", ""))


def _count(post: QueryDict, name: str, most: int) -> int:
    raw = post.get(name, "0")
    return min(int(raw), most) if raw.isdigit() else 0


def editor_from_post(post: QueryDict) -> Editor:
    rules = []
    for i in range(_count(post, "rule_count", 1000)):
        p = f"r{i}"
        conditions = []
        for j in range(_count(post, f"{p}-cond_count", 50)):
            c = f"{p}-c{j}"
            field_name = post.get(f"{c}-field", "")
            operator = post.get(f"{c}-operator", "")
            if operator not in FIELD_OPERATORS.get(field_name, ()):  # the field changed: its first operator
                operator = FIELD_OPERATORS.get(field_name, ("eq",))[0]
            if operator == "between":
                values = [post.get(f"{c}-low", ""), post.get(f"{c}-high", "")]
            elif operator in MULTI_OPERATORS and choices_for(field_name) or (
                    field_name == "industry" and operator in MULTI_OPERATORS):
                values = post.getlist(f"{c}-choice")
            elif operator in MULTI_OPERATORS:
                values = [v.strip() for v in SPLIT.split(post.get(f"{c}-value", "")) if v.strip()]
            elif choices_for(field_name) or field_name == "industry":
                values = [post.get(f"{c}-choice", "")]
            else:
                values = [post.get(f"{c}-value", "")]
            conditions.append(ConditionRow(field=field_name, operator=operator, values=values))
        rules.append(RuleRow(key=post.get(f"{p}-key", ""), name=post.get(f"{p}-name", ""), conditions=conditions,
                             target=_post_target(post, f"{p}-target")))
    return Editor(rules=rules, fallback=_post_target(post, "fallback"), note=post.get("note", "")[:1000])


def _next_key(editor: Editor) -> str:
    used = {r.key for r in editor.rules}
    n = len(editor.rules) + 1
    while f"rule-{n}" in used:
        n += 1
    return f"rule-{n}"


def editor_apply(editor: Editor, action: str) -> bool:
    """Apply an editing button (``add_rule``, ``add_condition:2``, ``up:3`` …); False when it was not one."""
    verb, _sep, args = action.partition(":")
    numbers = [int(a) for a in args.split(":") if a.isdigit()]
    rules = editor.rules
    if verb == "add_rule":
        rules.append(RuleRow(key=_next_key(editor), conditions=[ConditionRow()]))
        return True
    if not numbers or numbers[0] >= len(rules):
        return verb == "refresh"
    i = numbers[0]
    if verb == "add_condition":
        rules[i].conditions.append(ConditionRow())
    elif verb == "remove_condition" and len(numbers) == 2 and numbers[1] < len(rules[i].conditions):
        del rules[i].conditions[numbers[1]]
    elif verb == "remove_rule":
        del rules[i]
    elif verb == "up" and i > 0:
        rules[i - 1], rules[i] = rules[i], rules[i - 1]
    elif verb == "down" and i + 1 < len(rules):
        rules[i + 1], rules[i] = rules[i], rules[i + 1]
    elif verb not in ("up", "down"):
        return False
    return True


PATH = re.compile(r"^rules\[(\d+)\](?:\.conditions\[(\d+)\])?(?:\.(\w+))?")


def editor_number(editor: Editor) -> Editor:
    """Name each rule's target fields after its position (after moving rules around)."""
    for i, rule in enumerate(editor.rules):
        rule.prefix = f"r{i}-target"
    return editor


def editor_place_problems(editor: Editor, problems: dict[str, list[str]]) -> None:
    """Put each problem beside the rule, condition or target it names (paths like ``rules[3].target.id``)."""
    for path, messages in problems.items():
        match = PATH.match(path)
        if match:
            i = int(match.group(1))
            if i < len(editor.rules):
                rule = editor.rules[i]
                if match.group(2) is not None and int(match.group(2)) < len(rule.conditions):
                    rule.conditions[int(match.group(2))].problems.extend(messages)
                elif match.group(3) == "target" or path.startswith(f"rules[{i}].target"):
                    rule.target.problems.extend(messages)
                else:
                    rule.problems.extend(messages)
                continue
        if path.startswith("fallback"):
            editor.fallback.problems.extend(messages)
        else:
            editor.problems.extend(messages)


def editor_choices() -> dict[str, Any]:
    """What the editor's pickers offer: people, teams, pools, regions (provinces and cities), industries."""
    from kamguard.org.models import Industry, Region

    return {
        "people": list(User.objects.filter(is_active=True).select_related("team").order_by("full_name")
                       .only("pk", "full_name", "team__name")[:2000]),
        "teams": list(Team.objects.filter(is_active=True).order_by("name").only("pk", "name")),
        "pools": list(Pool.objects.filter(is_active=True).order_by("name").only("pk", "name")),
        "regions": list(Region.objects.filter(level__in=("province", "city")).order_by("code").only("code", "name")),
        "industries": list(Industry.objects.filter(is_active=True).order_by("code").only("code", "name")),
        "fields": list(FIELD_LABELS.items()),
        "target_kinds": list(TARGET_LABELS.items()),
        "strategies": list(STRATEGY_LABELS.items()),
        "sizes": list(Size.choices), "tiers": list(Tier.choices), "channels": list(CHANNEL_LABELS.items()),
    }


def decimal_or_none(raw: str) -> Decimal | None:
    try:
        return Decimal(raw) if raw.strip() else None
    except InvalidOperation:
        return None


# ---------------------------------------------------------------- plain forms

class DateInput(forms.DateInput):
    input_type = "date"


class RuleSetCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=1000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))


class ActivateForm(forms.Form):
    confirm = forms.BooleanField(label=_("I have checked the simulation and want new customers allocated by "
                                         "this version from now on."))
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SimulationForm(forms.Form):
    SOURCE_CHOICES = [("months", _("Intake of the last months")), ("file", _("A file of leads"))]
    source = forms.ChoiceField(label=_("Simulate against"), choices=SOURCE_CHOICES, initial="months",
                               widget=forms.RadioSelect)
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=24, initial=3, required=False)
    file = forms.FileField(label=_("File (CSV, XLSX or JSON Lines, customer columns)"), required=False)


class IntakeForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)
    region_code = forms.CharField(label=_("Region code"), max_length=12, required=False,
                                  help_text=_("Leave empty to derive it from the address or the name."))
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    industry = forms.CharField(label=_("Industry code"), max_length=32, required=False)
    size = forms.ChoiceField(label=_("Size"), choices=[("", "—"), *Size.choices], required=False)
    tier = forms.ChoiceField(label=_("Key-account tier"), choices=Tier.choices, initial=Tier.C)
    expected_value = forms.DecimalField(label=_("Expected value (CNY)"), required=False, min_value=0,
                                        max_digits=16, decimal_places=2)
    source = forms.CharField(label=_("Source"), max_length=120, required=False,
                             help_text=_("Where the lead came from: a fair, a referral, a campaign."))
    contact_name = forms.CharField(label=_("Contact name"), max_length=120, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    contact_email = forms.CharField(label=_("Contact e-mail"), max_length=254, required=False)
    duplicate_reason = forms.CharField(
        label=_("Why is this a different company?"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
        max_length=1000, help_text=_("Needed only when similar customers exist; it is recorded."))


class PublicLeadForm(forms.Form):
    """The public web form: few fields, a honeypot (``website``) and the time the form was shown."""

    name = forms.CharField(label=_("Company name"), max_length=200)
    contact_name = forms.CharField(label=_("Your name"), max_length=120)
    contact_phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    contact_email = forms.EmailField(label=_("E-mail"), max_length=254, required=False)
    address = forms.CharField(label=_("City or address"), max_length=300, required=False)
    message = forms.CharField(label=_("What can we do for you?"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))
    website = forms.CharField(required=False, label=_("Leave this empty"))  # the honeypot
    shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("contact_phone") and not data.get("contact_email"):
            self.add_error("contact_phone", _("Give a phone number or an e-mail address so we can reply."))
        return data


class ReassignForm(forms.Form):
    to_owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.filter(is_active=True).order_by(
        "full_name"))
    reason = forms.CharField(label=_("Reason (required; it is recorded and counted as a manual override)"),
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class CapacityForm(forms.Form):
    capacity_a = forms.IntegerField(label=_("Most tier A customers"), required=False, min_value=0)
    capacity_b = forms.IntegerField(label=_("Most tier B customers"), required=False, min_value=0)
    capacity_c = forms.IntegerField(label=_("Most tier C customers"), required=False, min_value=0)


class AbsenceForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.filter(is_active=True).order_by(
        "full_name"))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("absent", _("Absent")), ("on_leave", _("On leave"))])
    starts_on = forms.DateField(label=_("From"), widget=DateInput)
    ends_on = forms.DateField(label=_("Until"), widget=DateInput)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class DepartureNoticeForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.filter(is_active=True).order_by(
        "full_name"))
    noticed_on = forms.DateField(label=_("Notice given on"), widget=DateInput)
    leaves_on = forms.DateField(label=_("Leaves on"), widget=DateInput, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class TeamSettingForm(forms.Form):
    pool = forms.ModelChoiceField(label=_("Team pool (first come)"), queryset=Pool.objects.filter(is_active=True)
                                  .order_by("name"), required=False,
                                  help_text=_("Where first-come allocation puts the team's customers to be claimed."))
    max_gini_count = forms.DecimalField(label=_("Highest Gini of counts"), required=False, min_value=0, max_value=1,
                                        decimal_places=3, help_text=_("0 to 1; empty: not monitored."))
    max_gini_value = forms.DecimalField(label=_("Highest Gini of values"), required=False, min_value=0, max_value=1,
                                        decimal_places=3, help_text=_("0 to 1; empty: not monitored."))
    max_spread_count = forms.IntegerField(label=_("Largest max–min spread of counts"), required=False, min_value=0,
                                          help_text=_("Customers per month; empty: not monitored."))


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
