"""Every action code the code base writes has a label in both languages (kamguard/audit/labels.py).

Strict for every app: a new unlabelled action, or a new code built at run time that this test does not know how to
expand, fails the build. The codes are read from the source with `ast`: `action=` arguments (literals, conditional
expressions, concatenations, f-strings), names assigned a code (`action = "..."`, `ownership_action = f"..."`), and the
few helpers that take the code positionally.
"""

from __future__ import annotations

import ast
import itertools
import pathlib
import re

import pytest
from django.utils import translation

from kamguard.approvals.models import ApprovalStatus
from kamguard.customers.models import OwnershipKind
from kamguard.org.services import REFERENCE_MODELS

from ..labels import ACTION_LABELS, action_choices, action_label

ROOT = pathlib.Path(__file__).resolve().parents[2]
CODE = re.compile(r"[a-z_]+(\.[a-z_]+)+")

# f-strings the source cannot expand by itself ("{}" stands for a run-time part), with every code they make.
DYNAMIC: dict[str, tuple[str, ...]] = {
    "approvals.request.{}": tuple(f"approvals.request.{s}" for s in ApprovalStatus.values
                                  if s != ApprovalStatus.PENDING),  # approvals.services._finish
    "customers.ownership.{}": tuple(f"customers.ownership.{k}" for k in OwnershipKind.values),
    # sales.services.opportunities._verb; the demo writes won and lost
    "sales.opportunity.{}": ("sales.opportunity.won", "sales.opportunity.lost", "sales.opportunity.stage"),
    "sales.quote.{}": ("sales.quote.approve", "sales.quote.reject", "sales.quote.withdraw"),  # quote_decided
    "org.{}.{}": tuple(f"org.{k}.{v}" for k in REFERENCE_MODELS for v in ("created", "updated")),  # reference_save
    "activities.{}": (),  # the codes come from the `_audit(actor, "<code>", ...)` calls (HELPERS)
    "{}.exported": ("customers.exported", "contracts.exported"),  # `kamguard export KIND`: worded for any kind
}
# Helpers that take the code as their second positional argument: (app, function) -> prefix.
HELPERS: dict[tuple[str, str], str] = {("activities", "_audit"): "activities.", ("accounts", "_code_refused"): ""}


def _expand(node: ast.expr) -> list[str] | None:
    """The strings `node` can evaluate to, or None when it is not built from literals alone."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _expand(node.body), _expand(node.orelse)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _expand(node.left), _expand(node.right)
        return None if left is None or right is None else [a + b for a, b in itertools.product(left, right)]
    if isinstance(node, ast.JoinedStr):
        parts: list[list[str]] = []
        for value in node.values:
            expanded = _expand(value.value if isinstance(value, ast.FormattedValue) else value)
            if expanded is None:
                return None
            parts.append(expanded)
        return ["".join(p) for p in itertools.product(*parts)]
    return None


def _template(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore[misc]


def _codes(source: str, app: str, where: str) -> tuple[set[str], set[str]]:
    """(codes written, f-string templates not expandable and not in DYNAMIC) of one module."""
    codes: set[str] = set()
    unknown: set[str] = set()

    def take(node: ast.expr) -> None:
        values = _expand(node)
        if values is not None:
            codes.update(v for v in values if CODE.fullmatch(v))
        elif isinstance(node, ast.JoinedStr):
            template = _template(node)
            if template in DYNAMIC:
                codes.update(DYNAMIC[template])
            else:
                unknown.add(f"{where}: {template}")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "action":
            take(node.value)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith("action")
                                                  for t in node.targets):
            take(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (app, node.func.id) in HELPERS:
            if len(node.args) > 1 and (values := _expand(node.args[1])) is not None:
                codes.update(HELPERS[app, node.func.id] + v for v in values)
    return codes, unknown


def _written() -> tuple[set[str], set[str]]:
    codes: set[str] = set()
    unknown: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        rel = path.relative_to(ROOT)
        found, templates = _codes(path.read_text(encoding="utf-8"), rel.parts[0], str(rel))
        codes |= found
        unknown |= templates
    return codes, unknown


def test_every_code_written_by_the_code_base_has_a_label():
    codes, unknown = _written()
    assert unknown == set(), "codes built at run time: list the values they take in DYNAMIC (this test)"
    assert sorted(c for c in codes if action_label(c) == c) == []
    # the scan sees the codes of every app, including the ones only built at run time
    assert {"risk.case.shared", "performance.period.sign_off", "approvals.request.withdrawn",
            "contracts.contract.withdrawn", "contracts.payment.confirmed", "sales.quote.withdraw",
            "sales.opportunity.won", "activities.visit.checked_in", "relay.category.create",
            "auth.totp.failed", "customers.pool.created", "customers.ownership.handover"} <= codes


def test_the_scan_fails_on_an_unlabelled_or_unknown_code():
    source = ('audit_record(action="risk.case.teleported")\n'
              'audit_record(action="a.b" if x else "sales.quote.create")\n'
              'audit_record(action=f"risk.case.{verb}")\n')
    codes, unknown = _codes(source, "risk", "risk/x.py")
    assert codes == {"risk.case.teleported", "a.b", "sales.quote.create"}
    assert unknown == {"risk/x.py: risk.case.{}"}
    assert action_label("risk.case.teleported") == "risk.case.teleported"


def test_every_dynamic_value_has_a_label():
    for template, values in DYNAMIC.items():
        for code in values:
            assert action_label(code) != code, (template, code)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_label_is_translated_and_the_filter_lists_it(language):
    with translation.override(language):
        choices = dict(action_choices())
        for code in ACTION_LABELS:
            assert choices[code] == action_label(code) != code
            assert code.rsplit(".", 1)[0] + "." in choices
    if language == "zh-hans":
        with translation.override("en"):
            english = {code: action_label(code) for code in ACTION_LABELS}
        with translation.override(language):
            untranslated = [c for c in ACTION_LABELS if action_label(c) == english[c] and re.search("[a-z]{3}",
                                                                                                    english[c])]
        assert untranslated == []


@pytest.mark.parametrize(("language", "label"), [("en", "Case shared with the supervisor"),
                                                 ("zh-hans", "案件已共享给主管")])
def test_an_app_action_is_labelled_and_filtered_on_the_trail_page(world, client_for, language, label):
    from django.urls import reverse

    from kamguard.core.audit import audit_record

    audit_record(actor=world.audrey, action="risk.case.shared", object_type="risk.case", object_id="7",
                 object_label="case 7")
    audit_record(actor=world.audrey, action="performance.period.sign_off", object_type="performance.period",
                 object_id="3", object_label="period 3")
    response = client_for(world.audrey).get(reverse("audit:event_list"), {"action": "risk.case."},
                                            HTTP_ACCEPT_LANGUAGE=language)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<option value="risk.case.shared">{label}</option>' in body  # the filter's suggestions
    assert '<option value="risk.case.">risk.case.*</option>' in body
    results = body[body.index('<div class="panel">', body.index("</form>")):]
    assert label in results and "case 7" in results and "period 3" not in results
