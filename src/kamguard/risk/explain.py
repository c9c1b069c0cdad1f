"""Evidence into sentences in the reader's language: each explanation key of risk.domain has a template over its
numbers. Shares are shown as percentages, amounts rounded, z scores with one decimal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

SIGNAL_LABELS = {
    "orders_collapse": gettext_lazy("Orders collapse while contact continues"),
    "late_stage_losses": gettext_lazy("Late-stage losses"),
    "price_outlier": gettext_lazy("Price far from the norm"),
    "discount_clustering": gettext_lazy("Discounts just under the approval threshold"),
    "third_party": gettext_lazy("Payer or delivery address not the customer's"),
    "contact_hijack": gettext_lazy("Contact details changed or decision-makers removed"),
    "results_anomaly": gettext_lazy("Abnormal growth or fall"),
    "data_access": gettext_lazy("Unusual viewing or exporting"),
    "hoarding": gettext_lazy("Customers left without follow-up"),
    "post_transfer_drop": gettext_lazy("Orders fell after a transfer"),
}

REF_KINDS = {
    "customer": gettext_lazy("customer"), "contact": gettext_lazy("contact"), "person": gettext_lazy("person"),
    "order": pgettext_lazy("risk subject", "order"), "payment": gettext_lazy("payment"),
    "delivery": gettext_lazy("delivery"), "opportunity": gettext_lazy("opportunity"), "quote": gettext_lazy("quote"),
    "ownership_change": gettext_lazy("owner change"),
}
CONTACT_FIELDS = {
    "phone": gettext_lazy("phone"), "email": gettext_lazy("e-mail"), "wechat": gettext_lazy("WeChat"),
    "is_decision_maker": gettext_lazy("decision-maker"), "is_active": pgettext_lazy("contact", "active"),
}


def ref_kind_label(kind: str) -> str:
    label = REF_KINDS.get(kind)
    return str(label) if label is not None else kind


def contact_field_label(field: str) -> str:
    label = CONTACT_FIELDS.get(field)
    return str(label) if label is not None else field


class Plural(NamedTuple):
    """A template whose words follow a count among its numbers ("1 decision-maker", "2 decision-makers")."""

    singular: str
    plural: str
    count_key: str


TEMPLATES: dict[str, Any] = {
    "orders_collapse.contact_continues": gettext_lazy(
        "Orders fell from %(baseline_orders)s to %(recent_orders)s per 30 days (−%(drop)s; −%(adjusted_drop)s after "
        "the market's own move) while contacts went on at %(recent_contacts)s per 30 days."),
    "orders_collapse.contact_stopped": gettext_lazy(
        "Orders and contacts both stopped: looks like a customer that closed, not a diversion."),
    "orders_collapse.market": gettext_lazy(
        "Orders fell −%(drop)s, but the customer's market fell as much (market ratio %(market_ratio)s)."),
    "orders_collapse.normal": gettext_lazy("Orders within the usual range."),
    "orders_collapse.too_small": gettext_lazy("Too few orders to judge."),
    "orders_collapse.irregular": gettext_lazy(
        "Ordered in only %(active_buckets)s of the %(baseline_buckets)s earlier periods: too irregular to judge."),
    "late_stage_losses.same_competitor": gettext_lazy(
        "Lost %(late_lost)s of %(late_closed)s late-stage opportunities (%(rate)s; peers %(peer_rate)s), "
        "%(top_competitor_losses)s of them to %(top_competitor)s."),
    "late_stage_losses.above_peers": gettext_lazy(
        "Lost %(late_lost)s of %(late_closed)s late-stage opportunities (%(rate)s) against %(peer_rate)s for peers "
        "(z %(z)s)."),
    "late_stage_losses.normal": gettext_lazy("Late-stage losses within the usual range."),
    "late_stage_losses.too_few": gettext_lazy("Too few late-stage opportunities closed to judge."),
    "price_outlier.below_norm": gettext_lazy(
        "%(product)s for a tier %(tier)s customer at a %(discount)s discount; the norm is %(norm_discount)s "
        "(%(group)s lines, z %(z)s)."),
    "price_outlier.above_norm": gettext_lazy(
        "%(product)s for a tier %(tier)s customer priced far above the norm (discount %(discount)s against "
        "%(norm_discount)s)."),
    "discount_clustering.under_threshold": gettext_lazy(
        "%(just_under)s of %(quotes)s quotes (%(share)s) have a discount within %(band)s points under the approval "
        "threshold; expected %(reference_share)s."),
    "discount_clustering.normal": gettext_lazy("Discounts spread as usual."),
    "discount_clustering.too_few": gettext_lazy("Too few quotes to judge."),
    "third_party.payer": gettext_lazy(
        "%(third_party_payments)s payments (%(payment_share)s of the money) came from someone else: %(payers)s."),
    "third_party.address": gettext_lazy(
        "%(orders_elsewhere)s of %(orders_delivered)s orders delivered to addresses never used before: %(addresses)s."),
    "third_party.payer_and_address": gettext_lazy(
        "Paid by someone else (%(payers)s; %(payment_share)s of the money) and delivered elsewhere "
        "(%(addresses)s)."),
    "third_party.order_address": gettext_lazy("Delivered to an address never used for this customer: %(address)s."),
    "third_party.none": gettext_lazy("Paid and delivered as usual."),
    "contact_hijack.own_identity": gettext_lazy(
        "A contact's %(fields)s was changed to the manager's own."),
    "contact_hijack.colleague_identity": gettext_lazy("A contact's %(fields)s was changed to an employee's."),
    "contact_hijack.decision_makers_removed": Plural(
        "%(decision_makers_removed)s decision-maker removed; %(decision_makers_left)s left.",
        "%(decision_makers_removed)s decision-makers removed; %(decision_makers_left)s left.",
        "decision_makers_removed"),
    "contact_hijack.identity_and_removal": Plural(
        "A contact's %(fields)s was changed to an employee's and %(decision_makers_removed)s decision-maker was "
        "removed.",
        "A contact's %(fields)s was changed to an employee's and %(decision_makers_removed)s decision-makers were "
        "removed.",
        "decision_makers_removed"),
    "contact_hijack.none": gettext_lazy("No suspicious contact changes."),
    "results_anomaly.fall": gettext_lazy(
        "Results changed %(own_change)s while the market changed %(market_change)s: far below peers "
        "(z %(z)s, %(peers)s peers)."),
    "results_anomaly.growth": gettext_lazy(
        "Results changed %(own_change)s while the market changed %(market_change)s: far above peers "
        "(z %(z)s, %(peers)s peers)."),
    "results_anomaly.normal": gettext_lazy("Results in line with the market and peers."),
    "results_anomaly.too_small": gettext_lazy("Too small a book to judge."),
    "results_anomaly.too_few_peers": gettext_lazy("Too few peers to compare with."),
    "data_access.after_notice": gettext_lazy(
        "%(recent_events)s sensitive reads in %(recent_days)s days, %(ratio)s× the usual rate, after the resignation "
        "notice of %(notice_on)s."),
    "data_access.spike": gettext_lazy(
        "%(recent_events)s sensitive reads in %(recent_days)s days, %(ratio)s× the usual rate."),
    "data_access.normal": gettext_lazy("Viewing and exporting as usual."),
    "data_access.few": gettext_lazy("Few sensitive reads."),
    "hoarding.stale_customers": gettext_lazy(
        "%(stale)s of %(judged)s owned customers (%(share)s) without follow-up for more than %(stale_days)s days."),
    "hoarding.normal": gettext_lazy("Owned customers are followed up."),
    "post_transfer_drop.beyond_normal": gettext_lazy(
        "After the owner change of %(effective_on)s orders fell −%(adjusted_drop)s (market-adjusted), beyond the "
        "normal %(normal_drop_low)s–%(normal_drop_high)s."),
    "post_transfer_drop.within_normal": gettext_lazy(
        "Orders fell within the normal drop after an owner change."),
    "post_transfer_drop.normal": gettext_lazy("Orders held up after the owner change."),
    "post_transfer_drop.too_early": gettext_lazy("Too early after the owner change to judge."),
    "post_transfer_drop.irregular": gettext_lazy("Too few orders before the owner change to judge."),
}
PERCENT = {"drop", "adjusted_drop", "rate", "peer_rate", "history_rate", "share", "reference_share", "payment_share",
           "delivery_share", "top_competitor_share", "own_change", "market_change", "normal_drop_low",
           "normal_drop_high"}
ONE_DECIMAL = {"z", "z_peer", "ratio", "market_ratio", "recent_contacts", "baseline_contacts", "band", "discount",
               "norm_discount"}


def format_number(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name == "fields" and isinstance(value, str):
        return pgettext("list separator", ", ").join(contact_field_label(f.strip()) for f in value.split(",") if f.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if name in PERCENT:
        return f"{value * 100:.0f}%"
    if name in {"discount", "norm_discount"}:
        return f"{value:.1f}%"
    if name in ONE_DECIMAL:
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return f"{value:,}"


def explain(key: str, numbers: Mapping[str, Any]) -> str:
    """The sentence for an evidence key; the key itself when there is no template (never an error)."""
    template = TEMPLATES.get(key)
    if template is None:
        return key
    values = {name: format_number(name, value) for name, value in numbers.items()}
    try:
        if isinstance(template, Plural):
            count = numbers.get(template.count_key)
            return ngettext(template.singular, template.plural, count if isinstance(count, int) else 2) % values
        return str(template) % values
    except (KeyError, ValueError, TypeError):
        text = template.plural if isinstance(template, Plural) else str(template)
        return text.split("%(")[0].strip() or key


def signal_label(code: str) -> str:
    label = SIGNAL_LABELS.get(code)
    return str(label) if label is not None else code


def evidence_view(item: Mapping[str, Any], contributions: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A stored evidence item ready for a page or the command: label, sentence, numbers, references."""
    code = str(item.get("signal", ""))
    numbers = item.get("numbers") or {}
    return {"signal": code, "label": signal_label(code), "score": item.get("score", 0.0),
            "contribution": (contributions or {}).get(code), "key": item.get("key", ""),
            "text": explain(str(item.get("key", "")), numbers), "numbers": numbers, "refs": item.get("refs") or [],
            "series": item.get("series") or {}, "labels": item.get("labels") or []}

