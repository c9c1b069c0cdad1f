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
    "auth.totp.failed": _("Second factor code refused"),
    "auth.totp.enrolment_failed": _("Second factor enrolment code refused"),
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
    "customers.customer.unlocked": _("Customer unlocked"),
    "customers.transfer.rejected": _("Transfer rejected"),
    # activities: visits and contacts
    "activities.visit.planned": _("Visit planned"),
    "activities.visit.cancelled": _("Planned visit cancelled"),
    "activities.visit.checked_in": _("Checked in at a visit"),
    "activities.visit.checked_out": _("Checked out of a visit"),
    "activities.visit.accompanied": _("Visit accompanied by the supervisor"),
    "activities.visit.recorded": _("Visit recorded"),
    "activities.contact.recorded": _("Customer contact recorded"),
    "activities.contact.imported": _("Customer contacts imported"),
    "activities.contact.import_updated": _("Customer contact updated by an import"),
    # allocation
    "allocation.intake.allocated": _("New customer allocated"),
    "allocation.intake.held": _("New customer held for review"),
    "allocation.intake.duplicate": _("Incoming customer already known (sent to its owner)"),
    "allocation.intake.rejected": _("Incoming customer rejected"),
    "allocation.rule_set.created": _("Allocation rule set created"),
    "allocation.rule_set.updated": _("Allocation rule set changed"),
    "allocation.rule_set.version_created": _("Rule set draft version created"),
    "allocation.rule_set.version_updated": _("Rule set draft version changed"),
    "allocation.rule_set.activated": _("Rule set version activated"),
    "allocation.rule_set.retired": _("Rule set version retired"),
    "allocation.fairness.alert": _("Allocation fairness alert raised"),
    "allocation.fairness.acknowledged": _("Allocation fairness alert acknowledged"),
    "allocation.capacity.set": _("Allocation capacity set"),
    "allocation.absence.added": _("Absence recorded"),
    "allocation.absence.removed": _("Absence removed"),
    "allocation.departure_notice.set": _("Departure notice recorded"),
    "allocation.departure_notice.removed": _("Departure notice removed"),
    "allocation.team_setting.saved": _("Team allocation settings saved"),
    "allocation.decision.overridden": _("Allocation overridden (customer reassigned)"),
    # approvals
    "approvals.request.submitted": _("Approval requested"),
    "approvals.request.auto_approved": _("Approved automatically (no approval needed)"),
    "approvals.request.approved": _("Approval request approved"),
    "approvals.request.rejected": _("Approval request rejected"),
    "approvals.request.withdrawn": _("Approval request withdrawn"),
    "approvals.step.approved": _("Approval step approved"),
    "approvals.step.rejected": _("Approval step rejected"),
    "approvals.step.overdue": _("Approval step overdue"),
    "approvals.policy.created": _("Approval policy created"),
    "approvals.policy.changed": _("Approval policy changed"),
    "approvals.delegation.created": _("Approval delegation created"),
    "approvals.delegation.revoked": _("Approval delegation revoked"),
    # contracts, orders and payments
    "contracts.contract.created": _("Contract drafted"),
    "contracts.contract.updated": _("Contract changed"),
    "contracts.contract.submitted": _("Contract submitted for approval"),
    "contracts.contract.approved": _("Contract approved"),
    "contracts.contract.rejected": _("Contract rejected"),
    "contracts.contract.withdrawn": _("Contract approval withdrawn"),
    "contracts.contract.signed": _("Contract signed"),
    "contracts.contract.cancelled": _("Contract cancelled"),
    "contracts.attachment.added": _("Contract attachment added"),
    "contracts.attachment.downloaded": _("Contract attachment downloaded"),
    "contracts.finding.resolved": _("Data quality finding resolved"),
    "contracts.order.created": _("Order created"),
    "contracts.order.updated": _("Order changed by an import"),
    "contracts.order.imported": _("Order imported"),
    "contracts.order.cancelled": _("Order cancelled"),
    "contracts.delivery.recorded": _("Delivery recorded"),
    "contracts.payment.recorded": _("Payment recorded"),
    "contracts.payment.updated": _("Payment changed"),
    "contracts.payment.confirmed": _("Payment confirmed by finance"),
    "contracts.payment.rejected": _("Payment rejected by finance"),
    "contracts.webhook_secret.created": _("Webhook secret created"),
    "contracts.webhook_secret.revoked": _("Webhook secret revoked"),
    # goals and targets
    "goals.target.set": _("Sales target set"),
    "goals.target.remove": _("Sales target removed"),
    "goals.objective.create": _("Objective created"),
    "goals.objective.update": _("Objective changed"),
    "goals.objective.status": _("Objective status changed"),
    "goals.key_result.create": _("Key result added"),
    "goals.key_result.update": _("Key result changed"),
    "goals.key_result.delete": _("Key result removed"),
    "goals.key_result.check_in": _("Key result progress updated"),
    # meetings
    "meetings.meeting.create": _("Meeting minutes created"),
    "meetings.meeting.update": _("Meeting minutes changed"),
    "meetings.meeting.delete": _("Meeting minutes deleted"),
    "meetings.meeting.guide": _("Supervisor guidance given on a meeting"),
    "meetings.item.create": _("Action item added"),
    "meetings.item.update": _("Action item changed"),
    "meetings.item.done": _("Action item done"),
    "meetings.item.reopen": _("Action item reopened"),
    # performance
    "performance.scheme.create": _("Performance scheme created"),
    "performance.scheme.version": _("Performance scheme version created"),
    "performance.scheme.activate": _("Performance scheme activated"),
    "performance.period.create": _("Performance period opened"),
    "performance.period.score": _("Performance period scored"),
    "performance.scorecard.manual_score": _("Manual score given"),
    "performance.scorecard.calibrate": _("Score calibrated"),
    "performance.period.calibration_submit": _("Calibration handed to the director"),
    "performance.period.release": _("Performance results released"),
    "performance.period.sign_off": _("Performance period signed off"),
    "performance.feedback.record": _("Feedback meeting recorded"),
    "performance.scorecard.acknowledge": _("Scorecard acknowledged"),
    "performance.appeal.file": _("Appeal filed"),
    "performance.appeal.resolve": _("Appeal decided"),
    "performance.improvement.start": _("Improvement plan started"),
    "performance.improvement.follow_up": _("Improvement plan follow-up recorded"),
    "performance.improvement.close": _("Improvement plan closed"),
    "performance.payroll.export": _("Payroll rows exported"),
    # monthly plans
    "plans.plan.create": _("Monthly plan started"),
    "plans.plan.update": _("Monthly plan changed"),
    "plans.plan.submit": _("Monthly plan submitted"),
    "plans.plan.approve": _("Monthly plan approved"),
    "plans.plan.return": _("Monthly plan returned for changes"),
    "plans.plan.result_comment": _("Plan-versus-actual comment given"),
    "plans.day.save": _("Daily plan saved"),
    "plans.day.remove": _("Daily plan removed"),
    "plans.visit.add": _("Visit added to the plan"),
    "plans.visit.remove": _("Visit taken out of the plan"),
    # work records and market information
    "records.record.create": _("Work record kept"),
    "records.record.update": _("Work record changed"),
    "records.attachment.add": _("Work record attachment added"),
    "records.attachment.download": _("Work record attachment downloaded"),
    "records.market.create": _("Market information recorded"),
    "records.market.update": _("Market information changed"),
    # information relay forms
    "relay.form.send": _("Relay form sent"),
    "relay.form.receive": _("Relay form received"),
    "relay.form.handle": _("Relay form handled"),
    "relay.form.feedback": _("Relay form result fed back"),
    "relay.category.create": _("Relay category created"),
    "relay.category.update": _("Relay category changed"),
    "relay.rule.create": _("Routing rule created"),
    "relay.rule.update": _("Routing rule changed"),
    "relay.rule.delete": _("Routing rule deleted"),
    "relay.report.record": _("Relay daily figures kept"),
    # 360° reviews
    "reviews.question_set.create": _("Question set created"),
    "reviews.question_set.update": _("Question set changed"),
    "reviews.question_set.copy": _("Question set new version created"),
    "reviews.question_set.make_default": _("Question set made the default"),
    "reviews.cycle.create": _("Review cycle created"),
    "reviews.cycle.update": _("Review cycle changed"),
    "reviews.cycle.subjects_add": _("People added to a review cycle"),
    "reviews.cycle.subject_remove": _("Person removed from a review cycle"),
    "reviews.cycle.open": _("Review cycle opened"),
    "reviews.cycle.close": _("Review cycle closed"),
    "reviews.assignments.generate": _("Reviewers generated"),
    "reviews.assignment.add": _("Reviewer added"),
    "reviews.assignment.remove": _("Reviewer removed"),
    "reviews.assignment.submit": _("Review submitted"),
    "reviews.customer_link.issue": _("Customer review link issued"),
    # risk: alerts, cases and penalties
    "risk.scan.completed": _("Risk scan completed"),
    "risk.settings.updated": _("Risk settings changed"),
    "risk.alert.raised": _("Alert raised"),
    "risk.alert.read": _("Alert evidence viewed"),
    "risk.alert.suppressed": _("Alert suppressed"),
    "risk.alert.confirmed": _("Alert confirmed"),
    "risk.alert.false": _("Alert marked as a false alarm"),
    "risk.alert.reopened": _("Alert reopened"),
    "risk.case.opened": _("Case opened"),
    "risk.case.read": _("Case viewed"),
    "risk.case.alert_linked": _("Alert linked to a case"),
    "risk.case.note_added": _("Case note added"),
    "risk.case.interview_added": _("Interview notes added to a case"),
    "risk.case.attachment_added": _("Evidence file added to a case"),
    "risk.case.attachment_downloaded": _("Case evidence file downloaded"),
    "risk.case.shared": _("Case shared with the supervisor"),
    "risk.case.unshared": _("Case no longer shared with the supervisor"),
    "risk.case.closed": _("Case closed"),
    "risk.case.reopened": _("Case reopened"),
    "risk.penalty.recorded": _("Penalty entered"),
    # sales: opportunities, quotes and forecasts
    "sales.opportunity.create": _("Opportunity created"),
    "sales.opportunity.update": _("Opportunity changed"),
    "sales.opportunity.import": _("Opportunity imported"),
    "sales.opportunity.stage": _("Opportunity stage changed"),
    "sales.opportunity.won": _("Opportunity won"),
    "sales.opportunity.lost": _("Opportunity lost"),
    "sales.quote.create": _("Quote created"),
    "sales.quote.update": _("Quote changed"),
    "sales.quote.submit": _("Quote submitted for approval"),
    "sales.quote.approve": _("Quote approved"),
    "sales.quote.reject": _("Quote rejected"),
    "sales.quote.withdraw": _("Quote approval withdrawn"),
    "sales.forecast.submit": _("Sales forecast given"),
    "sales.forecast.lock": _("Sales forecasts locked"),
    "sales.forecast.accuracy": _("Forecast accuracy computed"),
    "sales.product.create": _("Product created"),
    "sales.product.update": _("Product changed"),
    "sales.stage.create": _("Sales stage created"),
    "sales.stage.update": _("Sales stage changed"),
    "sales.authority.create": _("Discount authority set"),
    "sales.authority.update": _("Discount authority changed"),
    "sales.authority.delete": _("Discount authority removed"),
    "sales.settings.update": _("Sales settings changed"),
    # work logs
    "worklogs.log.create": _("Work log written"),
    "worklogs.log.update": _("Work log changed"),
    "worklogs.log.submit": _("Work log submitted"),
    "worklogs.log.review": _("Work log reviewed"),
    "worklogs.log.mark_missing": _("Work log marked missing"),
    "worklogs.deadline.set": _("Work log deadline set"),
    "worklogs.deadline.remove": _("Work log deadline removed"),
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
