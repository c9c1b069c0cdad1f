"""Investigations (R3, R7): open a case from alerts, build its timeline (notes, interviews, evidence files),
share it with the person's supervisor, close it with an outcome, enter penalties in the rewards-and-penalties
register. Only internal auditors write; nobody acts on (or sees) a case about themselves."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.contracts.domain import rules as file_rules
from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, ValidationFailed
from kamguard.customers.models import Customer
from kamguard.org.models import User
from kamguard.risk.models import (
    Alert,
    AlertReview,
    AlertStatus,
    Case,
    CaseAttachment,
    CaseEntry,
    CaseOutcome,
    CaseStatus,
    EntryKind,
    Penalty,
    PenaltyKind,
    ReviewDecision,
    SubjectType,
)
from kamguard.risk.services.access import alert_visibility_q, case_visibility_q, require_investigator
from kamguard.risk.services.config import settings_row

TEXT_MAX = 20000
PENALTY_OUTCOMES = (CaseOutcome.POLICY_VIOLATION, CaseOutcome.CONFIRMED_DIVERSION)


def attachment_dir() -> Path:
    return Path(settings.DATA_DIR) / "risk-files"


def case_for(actor: User | None, case_id: int) -> Case:
    """The case if `actor` may see it; NotFound otherwise."""
    found = Case.objects.filter(case_visibility_q(actor), pk=case_id).select_related(
        "person", "customer", "shared_with").first()
    if found is None:
        raise NotFound()
    return found


def _case_to_write(actor: User, case_id: int, *, open_only: bool = True) -> Case:
    require_investigator(actor)
    case = case_for(actor, case_id)
    if open_only and case.status != CaseStatus.OPEN:
        raise Conflict(_("The case is closed. Reopen it to add to it."), code="case_closed")
    return case


def _clean(value: str | None, field: str, *, required: bool, message: str, limit: int = TEXT_MAX) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise ValidationFailed(message, code=f"{field}_required", field_errors={field: [message]})
    if len(text) > limit:
        raise ValidationFailed(field_errors={field: [_("At most %(n)s characters.") % {"n": limit}]})
    return text


def _entry(case: Case, kind: str, actor: User | None, text: str = "", **data: Any) -> CaseEntry:
    interviewee = str(data.pop("interviewee", ""))
    return CaseEntry.objects.create(case=case, kind=kind, author=actor, text=text, interviewee=interviewee,
                                    data=data)


def _next_number() -> str:
    year = timezone.localdate().year
    prefix = f"RC-{year}-"
    last = Case.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


@transaction.atomic
def case_open(*, actor: User, alert_ids: Iterable[int] = (), person_id: int | None = None, title: str = "",
              note: str = "") -> Case:
    """Open an investigation about one person, from alerts (their person concerned) or naming the person."""
    require_investigator(actor)
    ids = sorted(set(alert_ids))
    alerts = list(Alert.objects.filter(alert_visibility_q(actor), pk__in=ids)) if ids else []
    if len(alerts) != len(ids):
        raise ValidationFailed(field_errors={"alert_ids": [_("No such alert, or you may not see it.")]})
    people = {a.person_id for a in alerts}
    if person_id is not None:
        people.add(person_id)
    people.discard(None)
    if not people:
        raise ValidationFailed(_("Name the person the case is about (or open it from an alert about someone)."),
                               code="person_required", field_errors={"person_id": [_("Choose a person.")]})
    if len(people) > 1:
        raise ValidationFailed(_("These alerts concern different people; open one case per person."),
                               code="several_people", field_errors={"alert_ids": [_("Different people.")]})
    only = int(next(iter(people)))  # type: ignore[arg-type]
    if only == actor.pk:
        raise ValidationFailed(_("You cannot investigate yourself. Another auditor must open this case."),
                               code="self_investigation", field_errors={"person_id": [_("That is you.")]})
    person = User.objects.filter(pk=only).first()
    if person is None:
        raise ValidationFailed(field_errors={"person_id": [_("No such person.")]})
    in_case = [(a, a.case) for a in alerts if a.case is not None and a.case.status == CaseStatus.OPEN]
    if in_case:
        raise Conflict(_("Alert %(id)s is already in the open case %(case)s.") % {
            "id": in_case[0][0].pk, "case": in_case[0][1].number}, code="alert_in_case")
    customer = None
    customer_alerts = [a for a in alerts if a.subject_type == SubjectType.CUSTOMER]
    if customer_alerts:
        customer = Customer.objects.filter(pk=customer_alerts[0].subject_id).first()
    title = _clean(title, "title", required=False, message="", limit=200) or (
        _("Investigation of %(person)s") % {"person": person.full_name or person.username})
    note = _clean(note, "note", required=False, message="")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                case = Case.objects.create(number=_next_number(), title=title, person=person, customer=customer,
                                           opened_by=actor)
            break
        except IntegrityError:  # two auditors took the same number: take the next
            continue
    else:  # pragma: no cover - three collisions in a row
        raise Conflict(code="case_number_taken")
    _entry(case, EntryKind.OPENED, actor, note, alerts=[a.pk for a in alerts])
    for alert in alerts:
        _link(case, alert, actor)
    audit_record(actor=actor, action="risk.case.opened", obj=case, object_label=case.number,
                 changes={"person": {"before": None, "after": person.pk},
                          "alerts": {"before": None, "after": [a.pk for a in alerts]}})
    return case


def _link(case: Case, alert: Alert, actor: User) -> None:
    Alert.objects.filter(pk=alert.pk).update(case=case, updated_at=timezone.now())
    _entry(case, EntryKind.ALERT, actor, "", alert=alert.pk, subject_type=alert.subject_type,
           subject_id=alert.subject_id, label=alert.label, score=alert.score)


@transaction.atomic
def case_alert_link(*, actor: User, case_id: int, alert_id: int) -> Case:
    case = _case_to_write(actor, case_id)
    alert = Alert.objects.filter(alert_visibility_q(actor), pk=alert_id).select_related("case").first()
    if alert is None:
        raise NotFound()
    if alert.person_id not in (None, case.person_id):
        raise ValidationFailed(_("The alert concerns someone else."), code="alert_other_person",
                               field_errors={"alert_id": [_("The alert concerns someone else.")]})
    if alert.case_id == case.pk:
        return case
    if alert.case_id is not None and alert.case is not None and alert.case.status == CaseStatus.OPEN:
        raise Conflict(_("The alert is in another open case."), code="alert_in_case")
    _link(case, alert, actor)
    audit_record(actor=actor, action="risk.case.alert_linked", obj=case, object_label=case.number,
                 changes={"alert": {"before": None, "after": alert.pk}})
    return case


@transaction.atomic
def case_note_add(*, actor: User, case_id: int, text: str) -> CaseEntry:
    case = _case_to_write(actor, case_id)
    body = _clean(text, "text", required=True, message=_("Write the note."))
    entry = _entry(case, EntryKind.NOTE, actor, body)
    audit_record(actor=actor, action="risk.case.note_added", obj=case, object_label=case.number,
                 changes={"entry": {"before": None, "after": entry.pk}})
    return entry


@transaction.atomic
def case_interview_add(*, actor: User, case_id: int, interviewee: str, text: str,
                       held_on: dt.date | None = None) -> CaseEntry:
    """Interview notes: who was interviewed, when, and what was said."""
    case = _case_to_write(actor, case_id)
    who = _clean(interviewee, "interviewee", required=True, message=_("Say who was interviewed."), limit=200)
    body = _clean(text, "text", required=True, message=_("Write down what was said."))
    if held_on is not None and held_on > timezone.localdate():
        raise ValidationFailed(field_errors={"held_on": [_("An interview cannot be in the future.")]})
    entry = _entry(case, EntryKind.INTERVIEW, actor, body, interviewee=who,
                   held_on=(held_on or timezone.localdate()).isoformat())
    audit_record(actor=actor, action="risk.case.interview_added", obj=case, object_label=case.number,
                 changes={"interviewee": {"before": None, "after": who}})
    return entry


@transaction.atomic
def case_attachment_add(*, actor: User, case_id: int, filename: str, data: bytes,
                        description: str = "") -> CaseAttachment:
    """Evidence files: PDF, images, Word or Excel, judged by their content; at most 20 MB."""
    case = _case_to_write(actor, case_id)
    if not data:
        raise ValidationFailed(field_errors={"file": [_("The file is empty.")]})
    if len(data) > file_rules.ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(_("The file is larger than 20 MB."), code="file_too_large",
                               field_errors={"file": [_("The file is larger than 20 MB.")]})
    kind = file_rules.attachment_type(data[:4096], filename)
    if kind is None:
        message = _("Only PDF, PNG, JPEG, Word (.docx) and Excel (.xlsx) files, judged by their content.")
        raise ValidationFailed(message, code="file_type", field_errors={"file": [message]})
    text = _clean(description, "description", required=False, message="", limit=300)
    storage_name = f"{secrets.token_hex(16)}.{kind}"
    folder = attachment_dir()
    folder.mkdir(parents=True, exist_ok=True)
    attachment = CaseAttachment.objects.create(
        case=case, filename=file_rules.safe_filename(filename), description=text, file_type=kind, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), storage_name=storage_name, uploaded_by=actor)
    (folder / storage_name).write_bytes(data)
    _entry(case, EntryKind.ATTACHMENT, actor, text, attachment=attachment.pk, filename=attachment.filename,
           sha256=attachment.sha256)
    audit_record(actor=actor, action="risk.case.attachment_added", obj=case, object_label=case.number,
                 changes={"attachment": {"before": None, "after": attachment.filename},
                          "sha256": {"before": None, "after": attachment.sha256}})
    return attachment


@transaction.atomic
def case_attachment_open(*, actor: User, attachment_id: int) -> tuple[CaseAttachment, bytes]:
    """An evidence file's bytes for someone who may see its case; every download is audited."""
    attachment = CaseAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    case = case_for(actor, attachment.case_id)
    path = attachment_dir() / attachment.storage_name
    if not path.is_file():
        raise NotFound(_("The file is missing from the store."))
    data = path.read_bytes()
    audit_record(actor=actor, action="risk.case.attachment_downloaded", obj=case, object_label=case.number,
                 changes={"attachment": {"before": None, "after": attachment.filename}})
    return attachment, data


def _supervisor_of(person: User) -> User | None:
    if person.supervisor_id and person.supervisor and person.supervisor.is_active:
        return person.supervisor
    if person.team_id and person.team and person.team.leader_id and person.team.leader_id != person.pk:
        return person.team.leader
    return None


@transaction.atomic
def case_share(*, actor: User, case_id: int, note: str = "") -> Case:
    """Let the person's own supervisor (or team leader) read the case."""
    case = _case_to_write(actor, case_id, open_only=False)
    supervisor = _supervisor_of(case.person)
    if supervisor is None:
        raise ValidationFailed(_("%(person)s has no supervisor or team leader to share the case with.") % {
            "person": case.person}, code="no_supervisor")
    if supervisor.pk == actor.pk:
        raise ValidationFailed(_("You are the person's supervisor: the case is yours already."), code="share_self")
    if case.shared_with_id == supervisor.pk:
        return case
    before = case.shared_with_id
    case.shared_with, case.shared_at = supervisor, timezone.now()
    case.save(update_fields=["shared_with", "shared_at"])
    _entry(case, EntryKind.SHARED, actor, _clean(note, "note", required=False, message=""), with_person=supervisor.pk,
           name=supervisor.full_name)
    audit_record(actor=actor, action="risk.case.shared", obj=case, object_label=case.number,
                 changes={"shared_with": {"before": before, "after": supervisor.pk}})
    return case


@transaction.atomic
def case_unshare(*, actor: User, case_id: int, reason: str = "") -> Case:
    case = _case_to_write(actor, case_id, open_only=False)
    if case.shared_with_id is None:
        return case
    before = case.shared_with_id
    case.shared_with, case.shared_at = None, None
    case.save(update_fields=["shared_with", "shared_at"])
    _entry(case, EntryKind.UNSHARED, actor, _clean(reason, "reason", required=False, message=""), was=before)
    audit_record(actor=actor, action="risk.case.unshared", obj=case, object_label=case.number, reason=reason,
                 changes={"shared_with": {"before": before, "after": None}})
    return case


@transaction.atomic
def case_close(*, actor: User, case_id: int, outcome: str, findings: str) -> Case:
    """Close with an outcome (cleared, policy violation, confirmed diversion) and the findings. The linked alerts
    still open are reviewed with it: confirmed unless cleared, a false alarm when cleared."""
    case = _case_to_write(actor, case_id)
    if not outcome:
        raise ValidationFailed(_("Choose an outcome before closing the case: cleared, policy violation or "
                                 "confirmed diversion."), code="outcome_required",
                               field_errors={"outcome": [_("Choose an outcome.")]})
    if outcome not in CaseOutcome.values:
        raise ValidationFailed(field_errors={"outcome": [_("Not an outcome: %(value)s.") % {"value": outcome}]},
                               code="outcome_invalid")
    text = _clean(findings, "findings", required=True, message=_("Write down the findings that support the outcome."))
    now = timezone.now()
    updated = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
        status=CaseStatus.CLOSED, outcome=outcome, outcome_note=text, closed_by=actor, closed_at=now)
    if not updated:
        raise Conflict(_("The case was closed meanwhile; reload the page."), code="case_closed")
    _entry(case, EntryKind.CLOSED, actor, text, outcome=outcome)
    status, decision = ((AlertStatus.FALSE, ReviewDecision.FALSE) if outcome == CaseOutcome.CLEARED
                        else (AlertStatus.CONFIRMED, ReviewDecision.CONFIRMED))
    version = settings_row().version
    for alert in Alert.objects.filter(case=case, status__in=(AlertStatus.OPEN, AlertStatus.SUPPRESSED)):
        Alert.objects.filter(pk=alert.pk).update(status=status, status_reason=text[:2000], reviewed_by=actor,
                                                 reviewed_at=now, updated_at=now)
        AlertReview.objects.create(alert=alert, decision=decision, reason=_("Case %(number)s closed: %(outcome)s") % {
            "number": case.number, "outcome": CaseOutcome(outcome).label}, reviewer=actor, score=alert.score,
            signals=alert.signals, settings_version=version)
    audit_record(actor=actor, action="risk.case.closed", obj=case, object_label=case.number, reason=text[:500],
                 changes={"status": {"before": CaseStatus.OPEN, "after": CaseStatus.CLOSED},
                          "outcome": {"before": "", "after": outcome}})
    case.refresh_from_db()
    return case


@transaction.atomic
def case_reopen(*, actor: User, case_id: int, reason: str) -> Case:
    case = _case_to_write(actor, case_id, open_only=False)
    text = _clean(reason, "reason", required=True, message=_("Say why the case is reopened."))
    if case.penalties.exists():
        raise Conflict(_("Penalties were entered on this closed case; open a new case instead."),
                       code="case_has_penalties")
    updated = Case.objects.filter(pk=case.pk, status=CaseStatus.CLOSED).update(
        status=CaseStatus.OPEN, outcome="", closed_by=None, closed_at=None)
    if not updated:
        raise Conflict(_("The case is open already."), code="case_open")
    _entry(case, EntryKind.REOPENED, actor, text, previous_outcome=case.outcome)
    audit_record(actor=actor, action="risk.case.reopened", obj=case, object_label=case.number, reason=text,
                 changes={"status": {"before": CaseStatus.CLOSED, "after": CaseStatus.OPEN},
                          "outcome": {"before": case.outcome, "after": ""}})
    case.refresh_from_db()
    return case


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(field_errors={"amount": [_("Not an amount; write it like 5000.00.")]}) from exc
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(field_errors={"amount": [_("Not an amount; write it like 5000.00.")]})
    return amount


@transaction.atomic
def penalty_record(*, actor: User, case_id: int, kind: str, effective_on: dt.date, amount: Any = None,
                   note: str = "", currency: str = "CNY") -> Penalty:
    """Enter a penalty decided by a closed case (policy violation or confirmed diversion) in the rewards-and-
    penalties register: an economic penalty (with its amount), a demotion or the termination of the labour
    contract."""
    case = _case_to_write(actor, case_id, open_only=False)
    if case.status != CaseStatus.CLOSED or case.outcome not in PENALTY_OUTCOMES:
        raise Conflict(_("A penalty follows a closed case whose outcome is a policy violation or a confirmed "
                         "diversion. Close the case first."), code="penalty_needs_outcome")
    if kind not in PenaltyKind.values:
        raise ValidationFailed(field_errors={"kind": [_("Choose economic penalty, demotion or termination.")]},
                               code="penalty_kind_invalid")
    value = _amount(amount)
    if kind == PenaltyKind.ECONOMIC:
        if value is None or value <= 0:
            raise ValidationFailed(_("An economic penalty needs an amount above zero."), code="amount_required",
                                   field_errors={"amount": [_("Enter the amount.")]})
        if value > Decimal("9999999999.99"):
            raise ValidationFailed(field_errors={"amount": [_("The amount is too large.")]})
    elif value is not None:
        raise ValidationFailed(field_errors={"amount": [_("Only an economic penalty has an amount.")]},
                               code="amount_not_allowed")
    if not isinstance(effective_on, dt.date):
        raise ValidationFailed(field_errors={"effective_on": [_("Enter the date the penalty takes effect.")]})
    text = _clean(note, "note", required=True, message=_("Write down the decision (who decided it, on what basis)."))
    penalty = Penalty.objects.create(person=case.person, case=case, kind=kind, amount=value,
                                     currency=(currency or "CNY")[:3].upper(), effective_on=effective_on, note=text,
                                     recorded_by=actor)
    _entry(case, EntryKind.PENALTY, actor, text, penalty=penalty.pk, penalty_kind=kind,
           amount=str(value) if value is not None else None, effective_on=effective_on.isoformat())
    audit_record(actor=actor, action="risk.penalty.recorded", obj=penalty, object_label=f"{case.number} · {case.person}",
                 changes={"kind": {"before": None, "after": kind},
                          "amount": {"before": None, "after": str(value) if value is not None else None},
                          "effective_on": {"before": None, "after": effective_on.isoformat()}})
    return penalty


def case_read_record(*, actor: User, case: Case) -> None:
    """Opening a case is a sensitive read: audited."""
    audit_record(actor=actor, action="risk.case.read", obj=case, object_label=case.number)
