"""The engine's configuration: signal weights, alert thresholds per subject and every signal's parameters.

Stored as a plain mapping (JSON); `config_from_mapping` checks it completely and names every problem by its path
with a stable code, so a negative weight, a threshold of 2 or a ramp whose start is above its end is refused
with a message the settings page can show next to the field:

    {"weights": {"orders_collapse": 0.8, …}, "thresholds": {"customer": 0.5, …},
     "rollup": {"weight": 0.7, "top": 3}, "params": {"orders_collapse": {"drop_start": 0.5, …}, …}}

Weights are between 0 and 1: how much a signal at full strength counts on its own (0 switches it off).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kamguard.risk.domain.evidence import Signal, SubjectType
from kamguard.risk.domain.signals import (
    AccessParams,
    ClusterParams,
    CollapseParams,
    HijackParams,
    HoardingParams,
    LossParams,
    PriceParams,
    ResultsParams,
    ThirdPartyParams,
    TransferParams,
)

DEFAULT_WEIGHTS: dict[Signal, float] = {
    Signal.ORDERS_COLLAPSE: 0.8,
    Signal.LATE_STAGE_LOSSES: 0.6,
    Signal.PRICE_OUTLIER: 0.6,
    Signal.DISCOUNT_CLUSTERING: 0.5,
    Signal.THIRD_PARTY: 0.8,
    Signal.CONTACT_HIJACK: 0.9,
    Signal.RESULTS_ANOMALY: 0.5,
    Signal.DATA_ACCESS: 0.7,
    Signal.HOARDING: 0.4,
    Signal.POST_TRANSFER_DROP: 0.7,
}
DEFAULT_THRESHOLDS: dict[SubjectType, float] = {
    SubjectType.CUSTOMER: 0.5,
    SubjectType.MANAGER: 0.5,
    SubjectType.ORDER: 0.5,
}
PARAM_TYPES: dict[Signal, type[Any]] = {
    Signal.ORDERS_COLLAPSE: CollapseParams,
    Signal.LATE_STAGE_LOSSES: LossParams,
    Signal.PRICE_OUTLIER: PriceParams,
    Signal.DISCOUNT_CLUSTERING: ClusterParams,
    Signal.THIRD_PARTY: ThirdPartyParams,
    Signal.CONTACT_HIJACK: HijackParams,
    Signal.RESULTS_ANOMALY: ResultsParams,
    Signal.DATA_ACCESS: AccessParams,
    Signal.HOARDING: HoardingParams,
    Signal.POST_TRANSFER_DROP: TransferParams,
}
# (start, full) pairs that must rise, per parameter group.
RAMPS: dict[Signal, tuple[tuple[str, str], ...]] = {
    Signal.ORDERS_COLLAPSE: (("drop_start", "drop_full"),),
    Signal.LATE_STAGE_LOSSES: (("z_start", "z_full"), ("competitor_share_start", "competitor_share_full")),
    Signal.PRICE_OUTLIER: (("z_start", "z_full"),),
    Signal.DISCOUNT_CLUSTERING: (("z_start", "z_full"), ("share_start", "share_full")),
    Signal.THIRD_PARTY: (("share_start", "share_full"),),
    Signal.RESULTS_ANOMALY: (("z_start", "z_full"),),
    Signal.DATA_ACCESS: (("ratio_start", "ratio_full"), ("notice_ratio_start", "notice_ratio_full")),
    Signal.HOARDING: (("share_start", "share_full"),),
    Signal.POST_TRANSFER_DROP: (("normal_drop_low", "normal_drop_high"), ("normal_drop_high", "drop_full")),
}
# Parameters that are shares or probabilities: at most 1.
AT_MOST_ONE = {"drop_start", "drop_full", "contact_keep_ratio", "competitor_share_start", "competitor_share_full",
               "competitor_boost", "above_norm_factor", "share_start", "share_full", "own_identity_score",
               "colleague_identity_score", "removal_score", "growth_factor", "normal_drop_low", "normal_drop_high"}
# Counts that must be at least 1.
AT_LEAST_ONE = {"recent_buckets", "baseline_buckets", "period_buckets", "history_buckets", "norm_buckets",
                "judge_buckets", "window_buckets", "window_days", "baseline_days", "recent_days", "min_group",
                "min_quotes", "min_closed", "min_peers", "before_buckets", "min_after_buckets", "lookback_buckets",
                "removals_full", "min_stale"}
# (min_active_buckets and min_active_before may be 0: judge every customer, one-off orders included.)


@dataclass(frozen=True)
class Problem:
    path: str  # e.g. "weights.orders_collapse", "params.hoarding.share_full"
    code: str  # negative, above_one, not_a_number, unknown, ramp_order, below_one, not_an_integer, not_a_mapping
    limit: float | None = None


class ConfigError(ValueError):
    """The configuration is not acceptable; `problems` names each one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.path}: {p.code}" for p in problems))


@dataclass(frozen=True)
class RiskConfig:
    weights: Mapping[Signal, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    thresholds: Mapping[SubjectType, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    rollup_weight: float = 0.7  # how much a manager's riskiest customers and orders add to their own score
    rollup_top: int = 3  # how many of them count
    collapse: CollapseParams = CollapseParams()
    losses: LossParams = LossParams()
    prices: PriceParams = PriceParams()
    clustering: ClusterParams = ClusterParams()
    third_party: ThirdPartyParams = ThirdPartyParams()
    hijack: HijackParams = HijackParams()
    results: ResultsParams = ResultsParams()
    access: AccessParams = AccessParams()
    hoarding: HoardingParams = HoardingParams()
    transfer: TransferParams = TransferParams()

    def params_for(self, signal: Signal) -> Any:
        return getattr(self, PARAM_ATTRIBUTES[signal])

    def threshold(self, subject: SubjectType) -> float:
        return self.thresholds[subject]

    @property
    def buckets_needed(self) -> int:
        """How many 30-day buckets of orders the engine reads back from the as-of date."""
        return max(self.collapse.recent_buckets + self.collapse.baseline_buckets,
                   self.results.recent_buckets + self.results.baseline_buckets,
                   self.transfer.lookback_buckets + self.transfer.before_buckets + 1,
                   self.prices.norm_buckets, self.third_party.window_buckets)


PARAM_ATTRIBUTES: dict[Signal, str] = {
    Signal.ORDERS_COLLAPSE: "collapse",
    Signal.LATE_STAGE_LOSSES: "losses",
    Signal.PRICE_OUTLIER: "prices",
    Signal.DISCOUNT_CLUSTERING: "clustering",
    Signal.THIRD_PARTY: "third_party",
    Signal.CONTACT_HIJACK: "hijack",
    Signal.RESULTS_ANOMALY: "results",
    Signal.DATA_ACCESS: "access",
    Signal.HOARDING: "hoarding",
    Signal.POST_TRANSFER_DROP: "transfer",
}

DEFAULT_CONFIG = RiskConfig()


def _number(value: Any, path: str, problems: list[Problem]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                problems.append(Problem(path, "not_a_number"))
                return None
        else:
            problems.append(Problem(path, "not_a_number"))
            return None
    number = float(value)
    if not math.isfinite(number):
        problems.append(Problem(path, "not_a_number"))
        return None
    return number


def _share(value: Any, path: str, problems: list[Problem]) -> float | None:
    number = _number(value, path, problems)
    if number is None:
        return None
    if number < 0:
        problems.append(Problem(path, "negative", 0.0))
        return None
    if number > 1:
        problems.append(Problem(path, "above_one", 1.0))
        return None
    return number


def _mapping(value: Any, path: str, problems: list[Problem]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "not_a_mapping"))
        return {}
    return value


def _params(signal: Signal, current: Any, overrides: Mapping[str, Any], problems: list[Problem]) -> Any:
    known = {f.name: f for f in dataclasses.fields(current)}
    changes: dict[str, Any] = {}
    for name, raw in overrides.items():
        path = f"params.{signal.value}.{name}"
        if name not in known:
            problems.append(Problem(path, "unknown"))
            continue
        number = _number(raw, path, problems)
        if number is None:
            continue
        if number < 0:
            problems.append(Problem(path, "negative", 0.0))
            continue
        if name in AT_MOST_ONE and number > 1:
            problems.append(Problem(path, "above_one", 1.0))
            continue
        if isinstance(getattr(current, name), int):
            if number != int(number):
                problems.append(Problem(path, "not_an_integer"))
                continue
            if name in AT_LEAST_ONE and number < 1:
                problems.append(Problem(path, "below_one", 1.0))
                continue
            changes[name] = int(number)
        else:
            changes[name] = number
    result = dataclasses.replace(current, **changes)
    for start, full in RAMPS.get(signal, ()):
        if getattr(result, full) <= getattr(result, start):
            problems.append(Problem(f"params.{signal.value}.{full}", "ramp_order", float(getattr(result, start))))
    return result


def config_from_mapping(data: Mapping[str, Any] | None, *, base: RiskConfig = DEFAULT_CONFIG) -> RiskConfig:
    """The configuration `data` describes, on top of `base` (parts left out keep their values). Raises
    ConfigError naming every problem."""
    problems: list[Problem] = []
    data = _mapping(data, "", problems)
    for key in data:
        if key not in {"weights", "thresholds", "rollup", "params"}:
            problems.append(Problem(str(key), "unknown"))
    weights = dict(base.weights)
    for name, raw in _mapping(data.get("weights"), "weights", problems).items():
        path = f"weights.{name}"
        try:
            signal = Signal(name)
        except ValueError:
            problems.append(Problem(path, "unknown"))
            continue
        value = _share(raw, path, problems)
        if value is not None:
            weights[signal] = value
    thresholds = dict(base.thresholds)
    for name, raw in _mapping(data.get("thresholds"), "thresholds", problems).items():
        path = f"thresholds.{name}"
        try:
            subject = SubjectType(name)
        except ValueError:
            problems.append(Problem(path, "unknown"))
            continue
        value = _share(raw, path, problems)
        if value is not None:
            if value == 0:
                problems.append(Problem(path, "zero_threshold"))
            else:
                thresholds[subject] = value
    rollup = _mapping(data.get("rollup"), "rollup", problems)
    rollup_weight, rollup_top = base.rollup_weight, base.rollup_top
    for key in rollup:
        if key not in {"weight", "top"}:
            problems.append(Problem(f"rollup.{key}", "unknown"))
    if "weight" in rollup:
        value = _share(rollup["weight"], "rollup.weight", problems)
        rollup_weight = value if value is not None else rollup_weight
    if "top" in rollup:
        number = _number(rollup["top"], "rollup.top", problems)
        if number is not None:
            if number != int(number):
                problems.append(Problem("rollup.top", "not_an_integer"))
            elif number < 1:
                problems.append(Problem("rollup.top", "below_one", 1.0))
            else:
                rollup_top = int(number)
    params = _mapping(data.get("params"), "params", problems)
    groups: dict[str, Any] = {}
    for name, overrides in params.items():
        try:
            signal = Signal(name)
        except ValueError:
            problems.append(Problem(f"params.{name}", "unknown"))
            continue
        attribute = PARAM_ATTRIBUTES[signal]
        groups[attribute] = _params(signal, getattr(base, attribute),
                                    _mapping(overrides, f"params.{name}", problems), problems)
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(base, weights=weights, thresholds=thresholds, rollup_weight=rollup_weight,
                               rollup_top=rollup_top, **groups)


def config_to_mapping(config: RiskConfig) -> dict[str, Any]:
    """The whole configuration as plain JSON (every value, defaults included)."""
    return {
        "weights": {signal.value: config.weights.get(signal, 0.0) for signal in Signal},
        "thresholds": {subject.value: config.thresholds[subject] for subject in SubjectType},
        "rollup": {"weight": config.rollup_weight, "top": config.rollup_top},
        "params": {signal.value: dataclasses.asdict(config.params_for(signal)) for signal in Signal},
    }
