"""Every write of 360 reviews: one function per use case, keyword-only, transactional, audited.

Who may do what:
- question sets: administrators and supervisors create, edit (until a review uses the set: then it is frozen and
  changed by copying it to a new version), copy and make a set the default for its source;
- review cycles: a supervisor creates a cycle for people in their scope (never themselves), edits it while it is a
  draft, adds and removes people and reviewers (the default circle or chosen ones, always inside the circle),
  opens it, closes it; only the cycle's creator changes it;
- reviewers (a person, or a customer contact through a signed link without login) submit their answers once,
  while the cycle is open;
- auditors and HR read, they write nothing.

The circle (`circle_refusal`): self = the person; supervisor = the person's supervisor, or a supervisor whose
scope covers them; peers = active people of the same team (the department when the team has fewer than
`SMALL_TEAM` people), never the person; customers = active contacts of customers the person owns or serves on
the account team. Anything else is refused with a message that says who may review.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, RateLimited, ValidationFailed
from kamguard.core.fields import clean_text
from kamguard.org.domain.roles import Right, Role, Scope
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope
from kamguard.reviews.domain.scores import review_score, scale_valid
from kamguard.reviews.models import (
    Answer,
    Assignment,
    AssignmentStatus,
    CycleStatus,
    Question,
    QuestionKind,
    QuestionSet,
    ReviewCycle,
    ReviewSubject,
    Source,
)

SMALL_TEAM = 4  # a team with fewer active people than this takes peers from the department
NAME_LIMIT = 120
TEXT_LIMIT = 5_000
QUESTION_LIMIT = 300
MAX_QUESTIONS = 40
DEFAULT_PEERS = 8
DEFAULT_CUSTOMERS = 5
LINK_SALT = "kamguard.reviews.customer-link"
LINK_MAX_AGE = int(getattr(settings, "REVIEWS_LINK_MAX_AGE", 30 * 24 * 3600))
PUBLIC_RATE = int(getattr(settings, "REVIEWS_PUBLIC_RATE", 10))
PUBLIC_WINDOW = int(getattr(settings, "REVIEWS_PUBLIC_WINDOW", 600))


# ---------------------------------------------------------------------------------------------- who may

def may_manage_question_sets(actor: User) -> bool:
    return actor.is_authenticated and actor.is_active and (
        actor.has_role(Role.ADMIN) or (actor.has_role(Role.SUPERVISOR) and actor.has_right(Right.EDIT_BUSINESS_DATA)))


def may_run_cycles(actor: User) -> bool:
    """Supervisors (with the right to edit business data) run review cycles for the people in their scope."""
    return (actor.is_authenticated and actor.is_active and actor.has_role(Role.SUPERVISOR)
            and actor.has_right(Right.EDIT_BUSINESS_DATA) and actor.scope >= Scope.DEPARTMENT)


def _require_question_sets(actor: User) -> None:
    if not may_manage_question_sets(actor):
        raise PermissionRefused(_("Only administrators and supervisors manage question sets."),
                                extra={"right": "reviews.question_sets"})


def _require_cycles(actor: User) -> None:
    if not may_run_cycles(actor):
        raise PermissionRefused(_("Only supervisors run review cycles."), extra={"right": "reviews.cycles"})


def _active_people() -> Any:
    today = timezone.localdate()
    return User.objects.filter(is_active=True).filter(Q(left_on__isnull=True) | Q(left_on__gt=today))


# ---------------------------------------------------------------------------------------------- question sets

@dataclass(frozen=True)
class QuestionIn:
    kind: str
    text_en: str
    text_zh: str
    required: bool = True


def _questions_clean(questions: Sequence[QuestionIn | Mapping[str, Any]]) -> list[QuestionIn]:
    if not questions:
        raise ValidationFailed(field_errors={"questions": [_("Add at least one question.")]})
    if len(questions) > MAX_QUESTIONS:
        raise ValidationFailed(field_errors={"questions": [_("At most %(n)s questions.") % {"n": MAX_QUESTIONS}]})
    cleaned: list[QuestionIn] = []
    errors: dict[str, list[str]] = {}
    for i, raw in enumerate(questions):
        item = raw if isinstance(raw, QuestionIn) else QuestionIn(
            kind=str(raw.get("kind") or ""), text_en=str(raw.get("text_en") or ""),
            text_zh=str(raw.get("text_zh") or ""), required=bool(raw.get("required", True)))
        if item.kind not in QuestionKind.values:
            errors[f"questions[{i}].kind"] = [_("Choose a 1–5 scale or free text.")]
        texts = {}
        for lang in ("text_en", "text_zh"):
            text = (getattr(item, lang) or "").replace("\x00", "").strip()
            if not text:
                errors[f"questions[{i}].{lang}"] = [_("Write the question in both languages.")]
            elif len(text) > QUESTION_LIMIT:
                errors[f"questions[{i}].{lang}"] = [_("At most %(n)s characters.") % {"n": QUESTION_LIMIT}]
            texts[lang] = text
        cleaned.append(QuestionIn(kind=item.kind, text_en=texts["text_en"], text_zh=texts["text_zh"],
                                  required=item.required))
    if errors:
        raise ValidationFailed(field_errors=errors)
    if not any(q.kind == QuestionKind.SCALE for q in cleaned):
        raise ValidationFailed(field_errors={"questions": [
            _("Add at least one 1–5 scale question: the review's score comes from them.")]})
    return cleaned


def _questions_write(qset: QuestionSet, questions: list[QuestionIn]) -> None:
    qset.questions.all().delete()
    Question.objects.bulk_create([
        Question(question_set=qset, position=i + 1, kind=q.kind, text_en=q.text_en, text_zh=q.text_zh,
                 required=q.required) for i, q in enumerate(questions)])


def _questions_audit(questions: Iterable[QuestionIn | Question]) -> list[dict[str, Any]]:
    return [{"kind": q.kind, "text_en": q.text_en, "text_zh": q.text_zh, "required": q.required} for q in questions]


def question_set_create(*, actor: User | None, name: str, source: str,
                        questions: Sequence[QuestionIn | Mapping[str, Any]], make_default: bool = False
                        ) -> QuestionSet:
    """A new question set (version 1 of its name) for one source; the default for new assignments of that
    source when asked, or when the source has none."""
    if actor is not None:
        _require_question_sets(actor)
    name = clean_text(name, "name", NAME_LIMIT, required=True)
    if source not in Source.values:
        raise ValidationFailed(field_errors={"source": [_("Choose self, supervisor, peers or customers.")]})
    cleaned = _questions_clean(questions)
    try:
        with transaction.atomic():
            if make_default:
                QuestionSet.objects.filter(source=source, is_active=True).update(is_active=False)
            is_default = make_default or not QuestionSet.objects.filter(source=source, is_active=True).exists()
            qset = QuestionSet.objects.create(name=name, source=source, version=1, is_active=is_default,
                                              created_by=actor)
            _questions_write(qset, cleaned)
            audit_record(actor=actor, action="reviews.question_set.create", obj=qset, changes={
                "source": {"before": None, "after": source}, "default": {"before": None, "after": is_default},
                "questions": {"before": None, "after": _questions_audit(cleaned)}})
    except IntegrityError as exc:
        raise Conflict(_("A question set with this name already exists for this source. Copy it to make a new "
                         "version instead."), code="question_set_exists",
                       field_errors={"name": [_("This name is taken for this source.")]}) from exc
    return qset


def _question_set_for(actor: User | None, set_id: int) -> QuestionSet:
    if actor is not None:
        _require_question_sets(actor)
    found = QuestionSet.objects.select_for_update().filter(pk=set_id).first()
    if found is None:
        raise NotFound()
    return found


@transaction.atomic
def question_set_update(*, actor: User | None, set_id: int, name: str | None = None,
                        questions: Sequence[QuestionIn | Mapping[str, Any]] | None = None) -> QuestionSet:
    """Change a set's name or questions while no review uses it."""
    qset = _question_set_for(actor, set_id)
    if qset.is_frozen:
        raise Conflict(_("Reviews already use this question set, so it can no longer change (their answers must "
                         "match the questions asked). Copy it to a new version and change the copy."),
                       code="question_set_frozen")
    changes: dict[str, Any] = {}
    if name is not None:
        text = clean_text(name, "name", NAME_LIMIT, required=True)
        if text != qset.name:
            changes["name"] = {"before": qset.name, "after": text}
            qset.name = text
    if questions is not None:
        cleaned = _questions_clean(questions)
        before = _questions_audit(qset.questions.order_by("position"))
        after = _questions_audit(cleaned)
        if before != after:
            changes["questions"] = {"before": before, "after": after}
            _questions_write(qset, cleaned)
    if changes:
        try:
            with transaction.atomic():
                qset.save()
        except IntegrityError as exc:
            raise Conflict(_("A question set with this name already exists for this source."),
                           code="question_set_exists") from exc
        audit_record(actor=actor, action="reviews.question_set.update", obj=qset, changes=changes)
    return qset


@transaction.atomic
def question_set_copy(*, actor: User | None, set_id: int) -> QuestionSet:
    """The next version of a set (same name and source, the same questions), to change when the set is frozen.
    The copy is not the default until it is made so."""
    original = _question_set_for(actor, set_id)
    version = (QuestionSet.objects.filter(source=original.source, name=original.name).aggregate(
        v=Max("version"))["v"] or 0) + 1
    copy = QuestionSet.objects.create(name=original.name, source=original.source, version=version,
                                      is_active=False, created_by=actor, copied_from=original)
    Question.objects.bulk_create([
        Question(question_set=copy, position=q.position, kind=q.kind, text_en=q.text_en, text_zh=q.text_zh,
                 required=q.required) for q in original.questions.order_by("position")])
    audit_record(actor=actor, action="reviews.question_set.copy", obj=copy, changes={
        "copied_from": {"before": None, "after": original.pk}, "version": {"before": None, "after": version}})
    return copy


@transaction.atomic
def question_set_make_default(*, actor: User | None, set_id: int) -> QuestionSet:
    """New assignments of the set's source use this set; assignments made before keep theirs."""
    qset = _question_set_for(actor, set_id)
    if qset.is_active:
        return qset
    previous = QuestionSet.objects.filter(source=qset.source, is_active=True).first()
    QuestionSet.objects.filter(source=qset.source, is_active=True).update(is_active=False)
    qset.is_active = True
    qset.save(update_fields=["is_active", "updated_at"])
    audit_record(actor=actor, action="reviews.question_set.make_default", obj=qset, changes={
        "default_for": {"before": previous.pk if previous else None, "after": qset.pk}})
    return qset


# ---------------------------------------------------------------------------------------------- cycles

def _period_check(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    errors: dict[str, list[str]] = {}
    if start is None:
        errors["period_start"] = [_("This field is required.")]
    if end is None:
        errors["period_end"] = [_("This field is required.")]
    if start and end and end < start:
        errors["period_end"] = [_("The period ends before it starts.")]
    if start and end and (end - start).days > 366:
        errors["period_end"] = [_("A review period is at most a year.")]
    if errors:
        raise ValidationFailed(field_errors=errors)
    assert start is not None and end is not None
    return start, end


def _subjects_resolve(actor: User, subject_ids: Iterable[int]) -> list[User]:
    ids = sorted({int(i) for i in subject_ids})
    people = {u.pk: u for u in _active_people().filter(pk__in=ids)}
    errors = []
    for pk in ids:
        person = people.get(pk)
        if person is None or not person_in_scope(actor, person):
            errors.append(_("Person %(id)s is not someone you supervise.") % {"id": pk})
        elif person.pk == actor.pk:
            errors.append(_("You cannot put yourself in your own review cycle."))
    if errors:
        raise ValidationFailed(field_errors={"subjects": errors})
    return [people[pk] for pk in ids]


def cycle_create(*, actor: User, name: str, period_start: dt.date | None, period_end: dt.date | None,
                 subject_ids: Iterable[int] = ()) -> ReviewCycle:
    """A draft cycle over a period for people the supervisor's scope covers."""
    _require_cycles(actor)
    name = clean_text(name, "name", NAME_LIMIT, required=True)
    start, end = _period_check(period_start, period_end)
    subjects = _subjects_resolve(actor, subject_ids)
    with transaction.atomic():
        cycle = ReviewCycle.objects.create(name=name, period_start=start, period_end=end, created_by=actor)
        ReviewSubject.objects.bulk_create([ReviewSubject(cycle=cycle, user=u) for u in subjects])
        audit_record(actor=actor, action="reviews.cycle.create", obj=cycle, changes={
            "name": {"before": None, "after": name},
            "period": {"before": None, "after": [start.isoformat(), end.isoformat()]},
            "subjects": {"before": None, "after": [u.pk for u in subjects]}})
    return cycle


def _managed_cycle(actor: User, cycle_id: int, *, statuses: Sequence[str] | None = None) -> ReviewCycle:
    _require_cycles(actor)
    cycle = ReviewCycle.objects.select_for_update().filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound()
    if cycle.created_by_id != actor.pk:
        if not person_in_scope(actor, cycle.created_by):
            raise NotFound()
        raise PermissionRefused(_("Only the supervisor who created this cycle can change it."),
                                extra={"right": "reviews.cycles"})
    if statuses is not None and cycle.status not in statuses:
        raise Conflict(_("This cycle is %(status)s: this step is not possible now.") % {
            "status": cycle.get_status_display()}, code="cycle_status")
    return cycle


@transaction.atomic
def cycle_update(*, actor: User, cycle_id: int, name: str | None = None, period_start: dt.date | None = None,
                 period_end: dt.date | None = None) -> ReviewCycle:
    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.DRAFT])
    changes: dict[str, Any] = {}
    if name is not None:
        text = clean_text(name, "name", NAME_LIMIT, required=True)
        if text != cycle.name:
            changes["name"] = {"before": cycle.name, "after": text}
            cycle.name = text
    start, end = _period_check(period_start or cycle.period_start, period_end or cycle.period_end)
    if (start, end) != (cycle.period_start, cycle.period_end):
        changes["period"] = {"before": [cycle.period_start.isoformat(), cycle.period_end.isoformat()],
                             "after": [start.isoformat(), end.isoformat()]}
        cycle.period_start, cycle.period_end = start, end
    if changes:
        cycle.save()
        audit_record(actor=actor, action="reviews.cycle.update", obj=cycle, changes=changes)
    return cycle


@transaction.atomic
def cycle_subjects_add(*, actor: User, cycle_id: int, subject_ids: Iterable[int]) -> list[ReviewSubject]:
    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.DRAFT, CycleStatus.OPEN])
    people = _subjects_resolve(actor, subject_ids)
    existing = set(cycle.subjects.values_list("user_id", flat=True))
    added = [ReviewSubject.objects.create(cycle=cycle, user=u) for u in people if u.pk not in existing]
    if added:
        audit_record(actor=actor, action="reviews.cycle.subjects_add", obj=cycle, changes={
            "subjects": {"before": sorted(existing), "after": sorted(existing | {s.user_id for s in added})}})
    return added


@transaction.atomic
def cycle_subject_remove(*, actor: User, cycle_id: int, subject_id: int) -> None:
    """Take a person out of a draft cycle, with their reviewers."""
    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.DRAFT])
    subject = cycle.subjects.filter(user_id=subject_id).first()
    if subject is None:
        raise NotFound()
    removed = list(cycle.assignments.filter(subject_id=subject_id).values_list("pk", flat=True))
    cycle.assignments.filter(subject_id=subject_id).delete()
    subject.delete()
    audit_record(actor=actor, action="reviews.cycle.subject_remove", obj=cycle, changes={
        "subject": {"before": subject_id, "after": None}, "assignments_removed": {"before": removed, "after": []}})


@transaction.atomic
def cycle_open(*, actor: User, cycle_id: int) -> ReviewCycle:
    """Reviewers can answer from now on; the cycle needs at least one reviewer."""
    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.DRAFT])
    if not cycle.assignments.exists():
        raise ValidationFailed(_("Add reviewers before opening the cycle (generate the default circle)."),
                               code="cycle_without_reviewers")
    cycle.status, cycle.opened_at = CycleStatus.OPEN, timezone.now()
    cycle.save(update_fields=["status", "opened_at", "updated_at"])
    audit_record(actor=actor, action="reviews.cycle.open", obj=cycle,
                 changes={"status": {"before": CycleStatus.DRAFT, "after": CycleStatus.OPEN}})
    return cycle


@transaction.atomic
def cycle_close(*, actor: User, cycle_id: int) -> ReviewCycle:
    """No more answers; the people reviewed see their results. Reviews still pending stay unanswered."""
    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.OPEN])
    pending = cycle.assignments.filter(status=AssignmentStatus.PENDING).count()
    cycle.status, cycle.closed_at = CycleStatus.CLOSED, timezone.now()
    cycle.save(update_fields=["status", "closed_at", "updated_at"])
    audit_record(actor=actor, action="reviews.cycle.close", obj=cycle, changes={
        "status": {"before": CycleStatus.OPEN, "after": CycleStatus.CLOSED},
        "pending_unanswered": {"before": None, "after": pending}})
    return cycle


# ---------------------------------------------------------------------------------------------- the circle

def _customers_served(subject: User) -> Q:
    """Customers the person owns or serves on the account team (today)."""
    today = timezone.localdate()
    return Q(owner_id=subject.pk) | Q(team_members__user_id=subject.pk, team_members__start_on__lte=today) & (
        Q(team_members__end_on__isnull=True) | Q(team_members__end_on__gte=today))


def peer_pool(subject: User) -> Any:
    """The people who may review the person as peers: active people of the same team, or of the department when
    the team has fewer than `SMALL_TEAM` people; never the person nor their supervisor."""
    people = _active_people().exclude(pk=subject.pk)
    if subject.supervisor_id:
        people = people.exclude(pk=subject.supervisor_id)
    if subject.team_id:
        team = _active_people().filter(team_id=subject.team_id)
        if team.count() >= SMALL_TEAM or not subject.department_id:
            return people.filter(team_id=subject.team_id)
    if subject.department_id:
        return people.filter(department_id=subject.department_id)
    return people.none()


def circle_refusal(*, subject: User, source: str, reviewer: User | None = None, contact: Any = None) -> str | None:
    """Why this reviewer is outside the person's circle for this source (None: inside)."""
    from kamguard.customers.models import Contact

    names = {"subject": str(subject), "reviewer": str(reviewer) if reviewer else ""}
    if source == Source.CUSTOMER:
        if contact is None or reviewer is not None:
            return _("A customer review is answered by a customer contact, not by a colleague.")
        ok = Contact.objects.filter(pk=contact.pk, is_active=True).filter(
            customer__in=_customer_queryset(subject)).exists()
        if not ok:
            return _("%(contact)s is outside %(subject)s's circle: customer reviews come from contacts of customers "
                     "%(subject)s owns or serves on the account team.") % {"contact": str(contact), **names}
        return None
    if reviewer is None or contact is not None:
        return _("Choose a colleague as the reviewer.")
    if not _active_people().filter(pk=reviewer.pk).exists():
        return _("%(reviewer)s is no longer active and cannot review.") % names
    if source == Source.SELF:
        if reviewer.pk != subject.pk:
            return _("A self-review is written by %(subject)s, not by %(reviewer)s.") % names
        return None
    if reviewer.pk == subject.pk:
        return _("%(subject)s cannot review themselves as a supervisor or a peer; use the self-review.") % names
    if source == Source.SUPERVISOR:
        if reviewer.pk == subject.supervisor_id:
            return None
        if (reviewer.has_role(Role.SUPERVISOR) and reviewer.scope >= Scope.DEPARTMENT
                and person_in_scope(reviewer, subject)):
            return None
        return _("%(reviewer)s is outside %(subject)s's circle: a supervisor review comes from %(subject)s's "
                 "supervisor or a supervisor whose scope covers them.") % names
    if source == Source.PEER:
        if peer_pool(subject).filter(pk=reviewer.pk).exists():
            return None
        return _("%(reviewer)s is outside %(subject)s's circle: peers are people in the same team (or the same "
                 "department when the team is small), never their supervisor.") % names
    return _("Choose self, supervisor, peers or customers.")


def _customer_queryset(subject: User) -> Any:
    from kamguard.customers.models import Customer, CustomerStatus

    return Customer.objects.filter(_customers_served(subject), status=CustomerStatus.ACTIVE).distinct()


def default_circle(subject: User, *, supervisor_fallback: User | None = None) -> list[tuple[str, User | None, Any]]:
    """(source, reviewer, contact) of the usual circle: self, the supervisor (the cycle's creator when the person
    has none), up to `DEFAULT_PEERS` peers and one contact (the decision-maker first) of up to
    `DEFAULT_CUSTOMERS` customers served."""
    from kamguard.customers.models import Contact

    circle: list[tuple[str, User | None, Any]] = [(Source.SELF, subject, None)]
    supervisor = subject.supervisor if subject.supervisor_id else supervisor_fallback
    if supervisor is not None and circle_refusal(subject=subject, source=Source.SUPERVISOR, reviewer=supervisor) is None:
        circle.append((Source.SUPERVISOR, supervisor, None))
    supervisor_id = supervisor.pk if supervisor else None
    for peer in peer_pool(subject).exclude(pk=supervisor_id).order_by("full_name", "pk")[:DEFAULT_PEERS]:
        circle.append((Source.PEER, peer, None))
    customers = list(_customer_queryset(subject).order_by("tier", "name", "pk").values_list("pk", flat=True)[
        :DEFAULT_CUSTOMERS])
    contacts = Contact.objects.filter(customer_id__in=customers, is_active=True).order_by(
        "customer_id", "-is_decision_maker", "pk")
    seen: set[int] = set()
    for contact in contacts:
        if contact.customer_id not in seen:
            seen.add(contact.customer_id)
            circle.append((Source.CUSTOMER, None, contact))
    return circle


def _default_set(source: str) -> QuestionSet:
    found = QuestionSet.objects.filter(source=source, is_active=True).first()
    if found is None:
        raise ValidationFailed(_("There is no question set for %(source)s yet. Ask an administrator or a supervisor "
                                 "to create one.") % {"source": Source(source).label}, code="no_question_set")
    return found


def _assignment_audit(a: Assignment) -> dict[str, Any]:
    return {"subject": a.subject_id, "source": a.source, "reviewer": a.reviewer_id, "contact": a.contact_id,
            "question_set": a.question_set_id}


@transaction.atomic
def assignments_generate(*, actor: User, cycle_id: int, subject_ids: Iterable[int] | None = None) -> list[Assignment]:
    """Add each person's default circle (skipping reviewers already assigned) in a draft or open cycle."""
    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.DRAFT, CycleStatus.OPEN])
    subjects = cycle.subjects.select_related("user", "user__supervisor")
    if subject_ids is not None:
        wanted = {int(i) for i in subject_ids}
        subjects = subjects.filter(user_id__in=wanted)
    existing: set[tuple[int, str, int | None, int | None]] = set(
        cycle.assignments.values_list("subject_id", "source", "reviewer_id", "contact_id"))
    sets: dict[str, QuestionSet] = {}
    created: list[Assignment] = []
    for subject in subjects:
        for source, reviewer, contact in default_circle(subject.user, supervisor_fallback=actor):
            key = (subject.user_id, str(source), reviewer.pk if reviewer else None, contact.pk if contact else None)
            if key in existing:
                continue
            if source not in sets:
                sets[source] = _default_set(source)
            created.append(Assignment(cycle=cycle, subject=subject.user, source=source, reviewer=reviewer,
                                      contact=contact, question_set=sets[source], created_by=actor))
            existing.add(key)
    Assignment.objects.bulk_create(created)
    if created:
        audit_record(actor=actor, action="reviews.assignments.generate", obj=cycle, changes={
            "assignments": {"before": None, "after": [_assignment_audit(a) for a in created]}})
    return created


@transaction.atomic
def assignment_add(*, actor: User, cycle_id: int, subject_id: int, source: str, reviewer_id: int | None = None,
                   contact_id: int | None = None) -> Assignment:
    """One reviewer for one person, inside the person's circle (refused with the reason otherwise)."""
    from kamguard.customers.models import Contact

    cycle = _managed_cycle(actor, cycle_id, statuses=[CycleStatus.DRAFT, CycleStatus.OPEN])
    subject_row = cycle.subjects.select_related("user").filter(user_id=subject_id).first()
    if subject_row is None:
        raise ValidationFailed(field_errors={"subject": [_("This person is not in the cycle; add them first.")]})
    if source not in Source.values:
        raise ValidationFailed(field_errors={"source": [_("Choose self, supervisor, peers or customers.")]})
    reviewer = User.objects.filter(pk=reviewer_id).first() if reviewer_id else None
    contact = Contact.objects.select_related("customer").filter(pk=contact_id).first() if contact_id else None
    if reviewer_id and reviewer is None:
        raise ValidationFailed(field_errors={"reviewer": [_("No such person.")]})
    if contact_id and contact is None:
        raise ValidationFailed(field_errors={"contact": [_("No such contact.")]})
    refusal = circle_refusal(subject=subject_row.user, source=source, reviewer=reviewer, contact=contact)
    if refusal:
        field = "contact" if source == Source.CUSTOMER else "reviewer"
        raise ValidationFailed(refusal, code="outside_circle", field_errors={field: [refusal]})
    assignment = Assignment(cycle=cycle, subject=subject_row.user, source=source, reviewer=reviewer,
                            contact=contact, question_set=_default_set(source), created_by=actor)
    try:
        with transaction.atomic():
            assignment.save()
    except IntegrityError as exc:
        raise Conflict(_("This reviewer already reviews this person in this cycle."),
                       code="assignment_exists") from exc
    audit_record(actor=actor, action="reviews.assignment.add", obj=assignment,
                 changes={k: {"before": None, "after": v} for k, v in _assignment_audit(assignment).items()})
    return assignment


@transaction.atomic
def assignment_remove(*, actor: User, assignment_id: int) -> None:
    """Take out a reviewer who has not answered yet."""
    assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound()
    _managed_cycle(actor, assignment.cycle_id, statuses=[CycleStatus.DRAFT, CycleStatus.OPEN])
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise Conflict(_("This reviewer has already answered; the answers stay."), code="already_submitted")
    audit_record(actor=actor, action="reviews.assignment.remove", obj=assignment,
                 changes={k: {"before": v, "after": None} for k, v in _assignment_audit(assignment).items()})
    assignment.delete()


# ---------------------------------------------------------------------------------------------- answering

def answers_clean(questions: Sequence[Question], answers: Mapping[Any, Any]) -> list[tuple[Question, int | None, str]]:
    """Each question with its answer (scale 1..5 or text), or field errors named "q<question id>"."""
    by_key = {str(k).removeprefix("q"): v for k, v in answers.items()}
    known = {str(q.pk) for q in questions}
    errors: dict[str, list[str]] = {}
    for key in by_key:
        if key not in known:
            errors[f"q{key}"] = [_("This is not a question of this review.")]
    cleaned: list[tuple[Question, int | None, str]] = []
    for q in questions:
        raw = by_key.get(str(q.pk))
        text = "" if raw is None else str(raw).replace("\x00", "").strip()
        field = f"q{q.pk}"
        if not text:
            if q.required:
                errors[field] = [_("This question needs an answer.")]
            continue
        if q.kind == QuestionKind.SCALE:
            # Only ASCII 1..5: str.isdigit() accepts "²" or "٣", which int() then refuses or reads as digits.
            if isinstance(raw, bool) or not re.fullmatch(r"[1-5]", text) or not scale_valid(int(text)):
                errors[field] = [_("Answer with a whole number from 1 to 5.")]
                continue
            cleaned.append((q, int(text), ""))
        else:
            if len(text) > TEXT_LIMIT:
                errors[field] = [_("At most %(n)s characters.") % {"n": TEXT_LIMIT}]
                continue
            cleaned.append((q, None, text))
    if errors:
        raise ValidationFailed(field_errors=errors)
    return cleaned


def _submit(assignment: Assignment, answers: Mapping[Any, Any], *, actor: User | None, channel: str) -> Assignment:
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise Conflict(_("This review was already submitted; answers cannot be sent twice."), code="already_submitted")
    if assignment.cycle.status != CycleStatus.OPEN:
        raise Conflict(_("This review cycle is not open for answers."), code="cycle_not_open")
    questions = list(assignment.question_set.questions.order_by("position"))
    cleaned = answers_clean(questions, answers)
    Answer.objects.bulk_create([Answer(assignment=assignment, question=q, scale=s, text=t) for q, s, t in cleaned])
    assignment.score = review_score(s for _q, s, _t in cleaned if s is not None)
    assignment.status, assignment.submitted_at = AssignmentStatus.SUBMITTED, timezone.now()
    assignment.save(update_fields=["score", "status", "submitted_at", "updated_at"])
    # The audit trail records that a review was submitted, not its answers: peers' answers stay anonymous.
    audit_record(actor=actor, action="reviews.assignment.submit", obj=assignment, changes={
        "status": {"before": AssignmentStatus.PENDING, "after": AssignmentStatus.SUBMITTED},
        "answers": {"before": 0, "after": len(cleaned)}, "channel": {"before": None, "after": channel}})
    return assignment


@transaction.atomic
def assignment_submit(*, actor: User, assignment_id: int, answers: Mapping[Any, Any]) -> Assignment:
    """The reviewer's answers, once."""
    assignment = Assignment.objects.select_for_update(of=("self",)).select_related("cycle", "question_set").filter(
        pk=assignment_id, reviewer_id=actor.pk).first()
    if assignment is None:
        raise NotFound()
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    return _submit(assignment, answers, actor=actor, channel="person")


# ---------------------------------------------------------------------------------------------- customer links

@transaction.atomic
def customer_link_issue(*, actor: User, assignment_id: int, renew: bool = False) -> str:
    """The signed token of a customer's review link (valid `LINK_MAX_AGE` seconds). `renew` makes a new one and
    stops every earlier link of this review."""
    assignment = Assignment.objects.select_for_update().filter(pk=assignment_id, source=Source.CUSTOMER).first()
    if assignment is None:
        raise NotFound()
    _managed_cycle(actor, assignment.cycle_id, statuses=[CycleStatus.DRAFT, CycleStatus.OPEN])
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise Conflict(_("The customer has already answered."), code="already_submitted")
    if renew or not assignment.link_nonce:
        before = bool(assignment.link_nonce)
        assignment.link_nonce = secrets.token_hex(8)
        assignment.save(update_fields=["link_nonce", "updated_at"])
        audit_record(actor=actor, action="reviews.customer_link.issue", obj=assignment,
                     changes={"renewed": {"before": before, "after": True}})
    return signing.dumps({"a": assignment.pk, "n": assignment.link_nonce}, salt=LINK_SALT)


def customer_link_assignment(token: str, *, lock: bool = False) -> Assignment:
    """The customer review a link points at; refused when tampered with, expired or replaced."""
    try:
        data = signing.loads(token or "", salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationFailed(_("This link has expired. Ask your account manager for a new one."),
                               code="link_expired") from exc
    except signing.BadSignature as exc:
        raise NotFound(_("This link is not valid. Check that you copied all of it."), code="link_invalid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise NotFound(_("This link is not valid. Check that you copied all of it."), code="link_invalid")
    qs = Assignment.objects.select_related("cycle", "question_set", "subject", "contact", "contact__customer")
    if lock:
        qs = qs.select_for_update(of=("self",))
    assignment = qs.filter(pk=data["a"], source=Source.CUSTOMER).first()
    if assignment is None or not assignment.link_nonce or assignment.link_nonce != data.get("n"):
        raise NotFound(_("This link is no longer valid. Ask your account manager for a new one."),
                       code="link_replaced")
    return assignment


def _public_rate_limited(ip_address: str | None) -> bool:
    key = f"kamguard:reviews:public:{ip_address or 'unknown'}"
    if cache.add(key, 1, timeout=PUBLIC_WINDOW):
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=PUBLIC_WINDOW)
        return False
    return count > PUBLIC_RATE


def customer_answer_submit(*, token: str, answers: Mapping[Any, Any], ip_address: str | None,
                           rate_limit: bool = True) -> Assignment:
    """A customer's answers through their link (no login), once; rate-limited per address (the web page and the
    API; `rate_limit=False` only for the system itself, e.g. the demo builder)."""
    if rate_limit and _public_rate_limited(ip_address):
        raise RateLimited(_("Too many attempts from your address. Wait a few minutes and try again."))
    with transaction.atomic():
        assignment = customer_link_assignment(token, lock=True)
        return _submit(assignment, answers, actor=None, channel="customer_link")
