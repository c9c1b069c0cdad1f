"""Words for the quality score's items, dimensions and grades (the pure domain has codes and numbers only)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.supervision.domain.quality import QualityItem

DIMENSION_LABELS = {
    "complete": gettext_lazy("Complete"),
    "correct": gettext_lazy("Correct"),
    "classified": gettext_lazy("Classified"),
    "kept": gettext_lazy("Kept on time"),
}
ITEM_LABELS = {
    "records_complete": gettext_lazy("Contact records complete"),
    "customers_complete": gettext_lazy("Customer basic data complete"),
    "checkins_correct": gettext_lazy("Visits checked in at the customer"),
    "records_classified": gettext_lazy("Other records classified"),
    "logs_on_time": gettext_lazy("Work logs on time"),
    "relay_on_time": gettext_lazy("Relay forms handled in time"),
}
GRADE_LABELS = {
    "excellent": gettext_lazy("Excellent"),
    "good": gettext_lazy("Good"),
    "fair": gettext_lazy("Fair"),
    "poor": gettext_lazy("Poor"),
    "none": gettext_lazy("Nothing to measure"),
}


def item_explanation(item: QualityItem) -> str:
    """One sentence with the item's numbers: what was counted and what fell short."""
    if not item.available:
        return _("Not measured: this kind of record is not available yet.")
    if not item.denominator:
        return _("Nothing to measure in this period; the item does not count.")
    d = item.details
    n, total = item.numerator, item.denominator
    if item.key == "records_complete":
        return _("%(n)s of %(total)s done contacts have an outcome and a next step (visits also a location); "
                 "missing outcome %(o)s, next step %(s)s, location %(l)s.") % {
            "n": n, "total": total, "o": d.get("missing_outcome", 0), "s": d.get("missing_next_step", 0),
            "l": d.get("missing_location", 0)}
    if item.key == "customers_complete":
        return _("%(n)s of %(total)s customers have contacts, USCC, tier and region; without contacts %(c)s, "
                 "without USCC %(u)s, without region %(r)s.") % {
            "n": n, "total": total, "c": d.get("missing_contacts", 0), "u": d.get("missing_uscc", 0),
            "r": d.get("missing_region", 0)}
    if item.key == "checkins_correct":
        return _("%(n)s of %(total)s done visits were checked in near the customer; without a location %(x)s, "
                 "far away %(f)s.") % {"n": n, "total": total, "x": d.get("not_located", 0), "f": d.get("far", 0)}
    if item.key == "records_classified":
        return _("%(n)s of %(total)s other records have a category; unclassified %(u)s.") % {
            "n": n, "total": total, "u": d.get("unclassified", 0)}
    if item.key == "logs_on_time":
        return _("%(n)s of %(total)s work logs due were submitted on time; late %(l)s, missing %(m)s.") % {
            "n": n, "total": total, "l": d.get("late", 0), "m": d.get("missing", 0)}
    return _("%(n)s of %(total)s relay forms went through every step in time.") % {"n": n, "total": total}


def item_rows(items: Any) -> list[dict[str, Any]]:
    return [{"item": i, "label": ITEM_LABELS[i.key], "dimension": DIMENSION_LABELS[i.dimension],
             "explanation": item_explanation(i),
             "percent": None if i.share is None else round(i.share * 100)} for i in items]
