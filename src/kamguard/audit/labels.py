"""Human labels for what the trail stores as codes: actions, object types and field names.

Unknown codes are shown raw, so a new action is never hidden, only unlabelled until added here.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Any] = {
    # sign-in and sessions
    "auth.login.succeeded": _("Signed in"),
    "auth.login.failed": _("Sign-in failed"),
    "auth.login.locked_out": _("Sign-in locked out"),
    "auth.logout": _("Signed out"),
    "auth.session.ended": _("Session ended"),
    "auth.sessions_ended": _("All sessions ended"),
    "auth.token.created": _("Access token created"),
    "auth.token.revoked": _("Access token revoked"),
    "auth.totp.enrolment_started": _("Second factor enrolment started"),
    "auth.totp.enrolled": _("Second factor enrolled"),
    "auth.secrets.resealed": _("Stored secrets re-sealed with a new key"),
    "auth.totp.verified": _("Second factor verified"),
    "auth.totp.reset": _("Second factor reset"),
    # access
    "permission.refused": _("Action refused (no right)"),
    "pii.revealed": _("Personal data revealed"),
    # organisation
    "org.department.created": _("Department created"),
    "org.department.updated": _("Department changed"),
    "org.team.created": _("Team created"),
    "org.team.updated": _("Team changed"),
    "org.industry.created": _("Industry created"),
    "org.industry.updated": _("Industry changed"),
    "org.post.created": _("Post created"),
    "org.post.updated": _("Post changed"),
    "org.grade.created": _("Grade created"),
    "org.grade.updated": _("Grade changed"),
    "org.user.created": _("Person added"),
    "org.user.updated": _("Person changed"),
    "org.user.roles_changed": _("Roles changed"),
    "org.user.password_set": _("Password set"),
    "org.role_conflict.added": _("Incompatible roles declared"),
    "org.role_conflict.removed": _("Incompatible roles removed"),
    # customers and ownership
    "customers.customer.created": _("Customer registered"),
    "customers.customer.updated": _("Customer changed"),
    "customers.customer.bulk_created": _("Customers registered in bulk"),
    "customers.customer.locked": _("Customer locked"),
    "customers.customer.merged": _("Customers merged"),
    "customers.customer.reclaim_warned": _("Reclaim warning sent"),
    "customers.ownership.registered": _("Owner set at registration"),
    "customers.ownership.claim": _("Claimed from the pool"),
    "customers.ownership.release": _("Released to the pool"),
    "customers.ownership.reclaim": _("Reclaimed to the pool"),
    "customers.ownership.transfer": _("Ownership transferred"),
    "customers.ownership.dispute": _("Ownership decided in a dispute"),
    "customers.ownership.merge": _("Ownership changed by a merge"),
    "customers.ownership.import": _("Ownership imported"),
    "customers.ownership.allocation": _("Customer allocated"),
    "customers.ownership.handover": _("Customer handed over at departure"),
    "customers.account_team.set": _("Account team member set"),
    "customers.account_team.removed": _("Account team member removed"),
    "customers.contact.created": _("Contact added"),
    "customers.contact.updated": _("Contact changed"),
    "customers.pool.created": _("Pool created"),
    "customers.pool.updated": _("Pool changed"),
    "customers.pool.member_added": _("Pool member added"),
    "customers.pool.members_added": _("Pool members added"),
    "customers.pool.member_changed": _("Pool member changed"),
    "customers.pool.member_removed": _("Pool member removed"),
    "customers.transfer.requested": _("Transfer requested"),
    "customers.transfer.approved": _("Transfer approved"),
    "customers.transfer.cancelled": _("Transfer cancelled"),
    "customers.dispute.filed": _("Ownership dispute filed"),
    "customers.dispute.answered": _("Ownership dispute answered"),
    "customers.dispute.decided": _("Ownership dispute decided"),
    "customers.dispute.withdrawn": _("Ownership dispute withdrawn"),
    "customers.dispute_report.exported": _("Dispute report exported"),
    # the audit trail itself
    "audit.events.exported": _("Audit trail exported"),
    "audit.chain.verified": _("Audit chain verified"),
}

# How a chain breaks (kamguard.core.domain.audit_chain kinds), in words for people.
BREAK_LABELS: dict[str, Any] = {
    "missing": _("an event before it is missing (deleted)"),
    "out_of_order": _("sequence numbers repeat or go back"),
    "link_broken": _("it does not link to the event before it (moved, inserted, or an earlier event replaced)"),
    "digest_mismatch": _("its content does not match its digest (edited or forged)"),
}

OBJECT_TYPE_LABELS: dict[str, Any] = {
    "request": _("Request"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    if label is not None:
        return str(label)
    kind, _dot, verb = code.rpartition(".")
    if kind and "." not in kind and verb in ("exported", "imported"):  # kamguard export/import KIND
        text = _("Data exported: %(kind)s") if verb == "exported" else _("Data imported: %(kind)s")
        return str(text) % {"kind": kind}
    return code


def action_choices() -> list[tuple[str, str]]:
    """(prefix, label) pairs for the action filter: the known codes and their families."""
    families = sorted({code.rsplit(".", 1)[0] + "." for code in ACTION_LABELS})
    return [(f, f + "*") for f in families] + sorted(((c, str(v)) for c, v in ACTION_LABELS.items()),
                                                     key=lambda pair: pair[0])


def break_label(kind: str, reason: str) -> str:
    label = BREAK_LABELS.get(kind)
    return str(label) if label is not None else reason


def _model(object_type: str) -> Any:
    if object_type.count(".") != 1:
        return None
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def object_type_label(object_type: str) -> str:
    if object_type in OBJECT_TYPE_LABELS:
        return str(OBJECT_TYPE_LABELS[object_type])
    model = _model(object_type)
    return str(model._meta.verbose_name) if model is not None else object_type


def field_label(object_type: str, name: str) -> str:
    model = _model(object_type)
    if model is None:
        return name
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))
