"""Decisions in words: the engine's reason codes and skip codes as sentences in the user's language.

- `decision_sentence(decision: AllocationDecision) -> str` — why this person or pool, e.g. "Rule “East
  China” (east): next in turn in team 上海一组 (round-robin)."
- `skip_label(code) -> str` — absent, on leave, leaving, left, at capacity, no right, unknown.
- `Names` — a lookup of people's, teams' and pools' names shared by a batch of sentences.
- `reason_template(code) -> str` — the untranslated-parameter template for a reason code (for pages that
  render parameters themselves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

if TYPE_CHECKING:
    from kamguard.allocation.models import AllocationDecision


# The English texts, marked for translation but translated only when one is used: a batch of sentences then
# translates one template each rather than every template of the table each time.
_SKIP_LABELS: dict[str, str] = {
    "absent": N_("absent"), "on_leave": N_("on leave"), "leaving": N_("leaving"), "left": N_("has left"),
    "at_capacity": N_("at capacity"), "no_right": N_("may not own customers"), "unknown": N_("not found"),
    "": N_("considered"),
}

_FAILURE_LABELS: dict[str, str] = {
    "person_skipped": N_("the person could not take it"), "all_members_skipped": N_("nobody in the team could "
                                                                                   "take it"),
    "no_members": N_("the team has no members"), "unknown_team": N_("the team does not exist"),
    "no_team_pool": N_("the team has no pool"), "unknown_pool": N_("the pool does not exist or is closed"),
}

_REASON_TEMPLATES: dict[str, str] = {
    "rule_person": N_("Rule “%(rule)s”: goes to %(person)s."),
    "round_robin_next": N_("Rule “%(rule)s”: next in turn in team %(team)s (round-robin)."),
    "capacity_lowest_ratio": N_("Rule “%(rule)s”: lowest load for capacity in team %(team)s (%(load)s of "
                               "%(capacity)s tier %(tier)s customers)."),
    "least_loaded": N_("Rule “%(rule)s”: fewest customers in team %(team)s (%(total_load)s)."),
    "first_come_pool": N_("Rule “%(rule)s”: to team %(team)s's pool %(pool)s, first come first served."),
    "pool_target": N_("Rule “%(rule)s”: to the pool %(pool)s."),
    "fallback_person": N_("No rule matched; the fallback gives it to %(person)s."),
    "fallback_round_robin_next": N_("No rule matched; the fallback team %(team)s, next in turn."),
    "fallback_capacity_lowest_ratio": N_("No rule matched; the fallback team %(team)s, lowest load for "
                                        "capacity."),
    "fallback_least_loaded": N_("No rule matched; the fallback team %(team)s, fewest customers."),
    "fallback_first_come_pool": N_("No rule matched; to the fallback team %(team)s's pool %(pool)s."),
    "fallback_pool_target": N_("No rule matched; to the fallback pool %(pool)s."),
    "all_skipped_fallback": N_("Rules %(skipped_rules)s matched but nobody there could take it; the fallback "
                              "decided: %(person_or_pool)s."),
    "unallocated_fallback_failed": N_("No rule matched and the fallback could not take it (%(failure)s); put "
                                     "in the pool %(pool)s."),
    "unallocated_all_skipped": N_("Rules %(skipped_rules)s matched but nobody there could take it, nor the "
                                 "fallback (%(failure)s); put in the pool %(pool)s."),
    "no_active_rule_set": N_("No rule set is active; put in the pool %(pool)s."),
    "manual_override": N_("Re-assigned by %(actor)s from %(previous)s to %(person)s: %(reason)s"),
}


def skip_label(code: str) -> str:
    label = _SKIP_LABELS.get(code)
    return _(label) if label is not None else code


def failure_label(code: str) -> str:
    label = _FAILURE_LABELS.get(code)
    return _(label) if label is not None else code


def reason_template(code: str) -> str:
    template = _REASON_TEMPLATES.get(code)
    return _(template) if template is not None else code


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


class Names:
    """Names of people, teams and pools, looked up once (a batch of decisions shares one)."""

    def __init__(self) -> None:
        self.people: dict[int, str] = {}
        self.teams: dict[int, str] = {}
        self.pools: dict[int, str] = {}

    def load(self, *, people: Iterable[int | None] = (), teams: Iterable[int | None] = (),
             pools: Iterable[int | None] = ()) -> Names:
        from kamguard.customers.models import Pool
        from kamguard.org.models import Team, User

        wanted = {i for i in people if i and i not in self.people}
        if wanted:
            self.people.update(User.objects.filter(pk__in=wanted).values_list("pk", "full_name"))
        wanted = {i for i in teams if i and i not in self.teams}
        if wanted:
            self.teams.update(Team.objects.filter(pk__in=wanted).values_list("pk", "name"))
        wanted = {i for i in pools if i and i not in self.pools}
        if wanted:
            self.pools.update(Pool.objects.filter(pk__in=wanted).values_list("pk", "name"))
        return self


def _names(decision: AllocationDecision, params: Mapping[str, Any], names: Names | None) -> dict[str, str]:
    team_id = params.get("team_id") or decision.team_id
    pool_id = params.get("pool_id") or decision.pool_id
    if names is None:
        names = Names().load(people=(decision.person_id, decision.previous_owner_id, decision.actor_id),
                             teams=(team_id,), pools=(pool_id,))
    person = names.people.get(decision.person_id or 0)
    previous = names.people.get(decision.previous_owner_id or 0)
    actor = names.people.get(decision.actor_id or 0)
    team = names.teams.get(int(team_id)) if team_id else None
    pool = names.pools.get(int(pool_id)) if pool_id else None
    return {
        "person": person or "—", "team": team or "—", "pool": pool or _("shared pool"),
        "previous": previous or _("shared pool"), "actor": actor or _("the system"),
    }


def _rule_label(decision: AllocationDecision, rules_json: Mapping[str, Any] | None) -> str:
    if not decision.rule_key:
        return _("fallback")
    if rules_json is None and decision.version_id and decision.version:
        rules_json = decision.version.rules
    rules = (rules_json or {}).get("rules", [])
    for rule in rules:
        if rule.get("key") == decision.rule_key:
            name = rule.get("name") or ""
            return f"{name} ({decision.rule_key})" if name else decision.rule_key
    return decision.rule_key


def decision_sentence(decision: AllocationDecision, *, names: Names | None = None,
                      rules: Mapping[str, Any] | None = None) -> str:
    """`names`: a lookup shared by a batch (else the names are read for this decision); `rules`: the version's
    rules JSON when the caller has it (else read through `decision.version`)."""
    params = _Params({str(k): v for k, v in (decision.reason_params or {}).items()})
    found = _names(decision, params, names)
    params.update(found)
    params["rule"] = _rule_label(decision, rules)
    params["reason"] = decision.reason
    if "failure" in params:
        params["failure"] = failure_label(str(params["failure"]))
    if params.get("capacity") in (None, ""):
        params["capacity"] = _("unlimited")
    params["person_or_pool"] = found["person"] if decision.person_id else found["pool"]
    try:
        return reason_template(decision.reason_code) % params
    except (KeyError, TypeError, ValueError):
        return decision.reason_code
