"""The engine's settings: read them as a checked `RiskConfig`, change them (audited, versioned)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kamguard.core.audit import audit_record
from kamguard.core.errors import ValidationFailed
from kamguard.org.models import User
from kamguard.risk.domain.config import (
    DEFAULT_CONFIG,
    ConfigError,
    Problem,
    RiskConfig,
    config_from_mapping,
    config_to_mapping,
)
from kamguard.risk.models import RiskSettings
from kamguard.risk.services.access import require_configure

PROBLEM_MESSAGES = {
    "negative": gettext_noop("Cannot be negative. Use 0 to switch a signal off."),
    "above_one": gettext_noop("At most 1."),
    "not_a_number": gettext_noop("Enter a number."),
    "not_an_integer": gettext_noop("Enter a whole number."),
    "below_one": gettext_noop("At least 1."),
    "zero_threshold": gettext_noop("A threshold of 0 would raise an alert for everyone; use a value above 0."),
    "ramp_order": gettext_noop("Must be greater than the value where the score starts (%(limit)s)."),
    "unknown": gettext_noop("Unknown setting."),
    "not_a_mapping": gettext_noop("Expected a group of settings."),
}


def problem_message(problem: Problem) -> str:
    message = _(PROBLEM_MESSAGES.get(problem.code, gettext_noop("Not valid.")))
    if "%(limit)s" in message:
        message = message % {"limit": f"{problem.limit:g}" if problem.limit is not None else "?"}
    return message


def config_errors(error: ConfigError) -> ValidationFailed:
    field_errors: dict[str, list[str]] = {}
    for problem in error.problems:
        field_errors.setdefault(problem.path or "config", []).append(problem_message(problem))
    codes = {p.code for p in error.problems}
    code = "negative_weight" if any(p.code == "negative" and p.path.startswith("weights.") for p in error.problems) \
        else "settings_invalid"
    message = (_("A weight cannot be negative. Use 0 to switch a signal off.") if code == "negative_weight"
               else _("Some settings are not valid. Correct the fields shown and try again."))
    return ValidationFailed(message, code=code, field_errors=field_errors, extra={"codes": sorted(codes)})


def settings_row() -> RiskSettings:
    row, _created = RiskSettings.objects.get_or_create(pk=1)
    return row


def settings_get() -> tuple[RiskSettings, RiskConfig]:
    """The stored settings and the configuration they describe (defaults where nothing is stored). Stored
    settings that no longer parse (a parameter removed in an upgrade) fall back to the defaults, loudly."""
    row = settings_row()
    try:
        return row, config_from_mapping(row.config)
    except ConfigError:
        import logging

        logging.getLogger(__name__).exception("Stored risk settings are not valid; using the defaults")
        return row, DEFAULT_CONFIG


def _overrides(config: RiskConfig) -> dict[str, Any]:
    """Only what differs from the defaults, so later changes of the defaults reach installations."""
    full, default = config_to_mapping(config), config_to_mapping(DEFAULT_CONFIG)
    result: dict[str, Any] = {}
    for section in ("weights", "thresholds", "rollup"):
        diff = {k: v for k, v in full[section].items() if default[section].get(k) != v}
        if diff:
            result[section] = diff
    params = {}
    for signal, values in full["params"].items():
        diff = {k: v for k, v in values.items() if default["params"][signal].get(k) != v}
        if diff:
            params[signal] = diff
    if params:
        result["params"] = params
    return result


@transaction.atomic
def settings_update(*, actor: User | None, changes: Mapping[str, Any], reason: str = "") -> RiskSettings:
    """Change weights, thresholds, the roll-up or parameters (only the parts given). Every problem is named by
    its path (e.g. `weights.hoarding`); nothing is saved unless all of it is valid."""
    require_configure(actor)
    row = RiskSettings.objects.select_for_update().filter(pk=1).first() or settings_row()
    _row, current = settings_get()
    try:
        config = config_from_mapping(changes, base=current)
    except ConfigError as error:
        raise config_errors(error) from error
    before = row.config
    after = _overrides(config)
    if after == before:
        return row
    row.config = after
    row.version += 1
    row.updated_by = actor
    row.save()
    audit_record(actor=actor, action="risk.settings.updated", obj=row, reason=reason,
                 changes={"config": {"before": before, "after": after}, "version": {"before": row.version - 1,
                                                                                  "after": row.version}})
    return row
