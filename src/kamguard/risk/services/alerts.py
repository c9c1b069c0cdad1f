"""Reviewing alerts: suppress with a reason, confirm, mark false with feedback, reopen. Each decision is stored
with the score and signals the reviewer saw (`AlertReview`, the feedback used for tuning) and audited. Status
changes are conditional updates, so two reviewers cannot both decide the same alert."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, ValidationFailed
from kamguard.org.models import User
from kamguard.risk.models import Alert, AlertReview, AlertStatus, ReviewDecision
from kamguard.risk.services.access import alert_visibility_q, require_investigator
from kamguard.risk.services.config import settings_row

REASON_MAX = 2000


def alert_for(actor: User | None, alert_id: int) -> Alert:
    """The alert if `actor` may see it; NotFound otherwise (missing and forbidden look the same)."""
    found = Alert.objects.filter(alert_visibility_q(actor), pk=alert_id).first()
    if found is None:
        raise NotFound()
    return found


def _text(value: str | None, field: str, *, required: bool, message: str = "") -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise ValidationFailed(message or _("Say why."), code=f"{field}_required",
                               field_errors={field: [message or _("Say why.")]})
    if len(text) > REASON_MAX:
        raise ValidationFailed(field_errors={field: [_("At most %(n)s characters.") % {"n": REASON_MAX}]})
    return text


def _decide(*, actor: User, alert_id: int, allowed: tuple[str, ...], status: str, decision: str, reason: str,
            action: str) -> Alert:
    require_investigator(actor)
    alert = alert_for(actor, alert_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            updated = Alert.objects.filter(pk=alert.pk, status__in=allowed).update(
                status=status, status_reason=reason, reviewed_by=actor, reviewed_at=now, updated_at=now)
    except IntegrityError as exc:  # reopening while the scan raised a newer live alert for the subject
        raise Conflict(_("This subject already has a newer open alert; review that one."),
                       code="alert_live_exists") from exc
    if not updated:
        raise Conflict(_("This alert is %(status)s already; reload the page.") % {
            "status": alert.get_status_display().lower()}, code="alert_already_decided")
    AlertReview.objects.create(alert=alert, decision=decision, reason=reason, reviewer=actor, score=alert.score,
                               signals=alert.signals, settings_version=settings_row().version)
    audit_record(actor=actor, action=action, obj=alert, object_label=f"{alert.subject_type} {alert.external_id}",
                 reason=reason, changes={"status": {"before": alert.status, "after": status}})
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_suppress(*, actor: User, alert_id: int, reason: str) -> Alert:
    """Hide an open alert from the inbox, with the reason (e.g. a known seasonal customer). Later scans refresh
    its score but do not reopen it."""
    text = _text(reason, "reason", required=True, message=_("Say why the alert is suppressed."))
    return _decide(actor=actor, alert_id=alert_id, allowed=(AlertStatus.OPEN,), status=AlertStatus.SUPPRESSED,
                   decision=ReviewDecision.SUPPRESSED, reason=text, action="risk.alert.suppressed")


@transaction.atomic
def alert_confirm(*, actor: User, alert_id: int, reason: str = "") -> Alert:
    """The alert points at something real (to be investigated or already in a case)."""
    text = _text(reason, "reason", required=False)
    return _decide(actor=actor, alert_id=alert_id, allowed=(AlertStatus.OPEN, AlertStatus.SUPPRESSED),
                   status=AlertStatus.CONFIRMED, decision=ReviewDecision.CONFIRMED, reason=text,
                   action="risk.alert.confirmed")


@transaction.atomic
def alert_mark_false(*, actor: User, alert_id: int, feedback: str) -> Alert:
    """A false alarm, with what the engine got wrong (kept for tuning the weights and thresholds)."""
    text = _text(feedback, "feedback", required=True,
                 message=_("Say what the engine got wrong, so the settings can be tuned."))
    return _decide(actor=actor, alert_id=alert_id, allowed=(AlertStatus.OPEN, AlertStatus.SUPPRESSED),
                   status=AlertStatus.FALSE, decision=ReviewDecision.FALSE, reason=text, action="risk.alert.false")


@transaction.atomic
def alert_reopen(*, actor: User, alert_id: int, reason: str) -> Alert:
    text = _text(reason, "reason", required=True, message=_("Say why the alert is reopened."))
    return _decide(actor=actor, alert_id=alert_id,
                   allowed=(AlertStatus.SUPPRESSED, AlertStatus.CONFIRMED, AlertStatus.FALSE),
                   status=AlertStatus.OPEN, decision=ReviewDecision.REOPENED, reason=text, action="risk.alert.reopened")


def alert_read_record(*, actor: User, alert: Alert) -> None:
    """Opening an alert's evidence is a sensitive read: audited."""
    audit_record(actor=actor, action="risk.alert.read", obj=alert,
                 object_label=f"{alert.subject_type} {alert.external_id}")
