"""Evidence sentences read as sentences: counts take the right form, contact fields their labels."""

from __future__ import annotations

from django.utils import translation

from kamguard.risk.explain import explain
from kamguard.risk.views import _ref_label


def test_one_decision_maker_is_singular_and_several_plural() -> None:
    with translation.override("en"):
        assert explain("contact_hijack.decision_makers_removed",
                       {"decision_makers_removed": 1, "decision_makers_left": 0}) == \
            "1 decision-maker removed; 0 left."
        assert explain("contact_hijack.decision_makers_removed",
                       {"decision_makers_removed": 3, "decision_makers_left": 1}) == \
            "3 decision-makers removed; 1 left."
    with translation.override("zh-hans"):
        assert explain("contact_hijack.decision_makers_removed",
                       {"decision_makers_removed": 1, "decision_makers_left": 0}) == "移除了 1 位决策人；剩余 0 位。"


def test_changed_contact_fields_are_named_in_the_readers_language() -> None:
    numbers = {"fields": "email, phone", "decision_makers_removed": 2}
    with translation.override("en"):
        assert explain("contact_hijack.identity_and_removal", numbers) == (
            "A contact's e-mail, phone was changed to an employee's and 2 decision-makers were removed.")
        assert _ref_label({"kind": "contact", "id": 7, "label": "is_decision_maker"}) == "#7 decision-maker"
    with translation.override("zh-hans"):
        assert explain("contact_hijack.identity_and_removal", numbers) == (
            "联系人的 邮箱、电话 被改成了员工的，且移除了 2 位决策人。")
        assert _ref_label({"kind": "contact", "id": 7, "label": "is_decision_maker"}) == "#7 决策人"
        assert _ref_label({"kind": "order", "id": 9}) == "#9"
