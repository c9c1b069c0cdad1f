"""Every read of 360 reviews.

System reads (no viewer; the performance app decides who sees a scorecard):
- `review_summary_for(*, user_ids, start, end) -> dict[int, ReviewSummary]`
- `customer_satisfaction_for(*, user_ids, start, end) -> dict[int, tuple[Decimal, int]]`
Both count submitted reviews of *closed* cycles whose period overlaps [start, end] (an open cycle's results are
not final and are not shown to anyone yet).

Viewer reads start from the viewer: the cycles they created or whose subjects their scope covers, the reviews they
write, and results under the visibility rules (`result_for`): only after the cycle closes, to the subject, the
subject's supervisors, HR and auditors; peers only in aggregate and only when at least three answered (per question,
and with a score for the average).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kamguard.core.errors import NotFound, PermissionRefused
from kamguard.org.domain.roles import Role, Scope
from kamguard.org.models import User
from kamguard.org.scopes import person_in_scope, scope_q
from kamguard.reviews.domain.scores import (
    Completed,
    ReviewSummary,
    average,
    peers_shown,
    scale_to_percent,
    summarise,
)
from kamguard.reviews.models import (
    Answer,
    Assignment,
    AssignmentStatus,
    CycleStatus,
    Question,
    QuestionSet,
    ReviewCycle,
    ReviewSubject,
    Source,
)


def _completed_rows(*, user_ids: Sequence[int], start: dt.date, end: dt.date, source: str | None = None
                    ) -> list[tuple[int, int, str, Decimal | None]]:
    qs = Assignment.objects.filter(
        subject_id__in=list(user_ids), status=AssignmentStatus.SUBMITTED, cycle__status=CycleStatus.CLOSED,
        cycle__period_start__lte=end, cycle__period_end__gte=start)
    if source:
        qs = qs.filter(source=source)
    return list(qs.values_list("subject_id", "cycle_id", "source", "score"))


def review_summary_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, ReviewSummary]:
    """Per person with at least one completed review: the overall 360 score and each source's (average, count);
    peers' average only from cycles where at least three peers answered. People without reviews are absent."""
    if not user_ids:
        return {}
    per_person: dict[int, list[Completed]] = {}
    for subject_id, cycle_id, source, score in _completed_rows(user_ids=user_ids, start=start, end=end):
        per_person.setdefault(subject_id, []).append(Completed(cycle_id=cycle_id, source=source, score=score))
    return {uid: summarise(rows) for uid, rows in per_person.items()}


def customer_satisfaction_for(*, user_ids: Sequence[int], start: dt.date, end: dt.date
                              ) -> dict[int, tuple[Decimal, int]]:
    """Per person: the average (0..100) of customers' reviews with a score, and how many there were; absent when no
    customer answered."""
    if not user_ids:
        return {}
    scores: dict[int, list[Decimal]] = {}
    for subject_id, _cycle_id, _source, score in _completed_rows(user_ids=user_ids, start=start, end=end,
                                                                 source=Source.CUSTOMER):
        if score is not None:
            scores.setdefault(subject_id, []).append(score)
    result: dict[int, tuple[Decimal, int]] = {}
    for uid, values in scores.items():
        avg = average(values)
        if avg is not None:
            result[uid] = (avg, len(values))
    return result


# ---------------------------------------------------------------------------------------------- viewer reads

def _reader_of_everything(viewer: User) -> bool:
    """HR and auditors read every cycle's aggregates."""
    return viewer.is_authenticated and viewer.is_active and any(
        viewer.has_role(r) for r in (Role.AUDITOR, Role.EXTERNAL_AUDITOR, Role.HR))


def _supervises(viewer: User, person: User) -> bool:
    if not (viewer.is_authenticated and viewer.is_active) or viewer.pk == person.pk:
        return False
    if person.supervisor_id == viewer.pk:
        return True
    return viewer.has_role(Role.SUPERVISOR) and viewer.scope >= Scope.DEPARTMENT and person_in_scope(viewer, person)


def cycle_list(*, viewer: User, status: str = "", q: str = "") -> QuerySet[ReviewCycle]:
    """Cycles the viewer created, cycles reviewing them (once open), cycles over people their scope covers
    (supervisors), every cycle for HR and auditors."""
    if not (viewer.is_authenticated and viewer.is_active):
        return ReviewCycle.objects.none()
    if _reader_of_everything(viewer):
        qs = ReviewCycle.objects.all()
    else:
        cond = Q(created_by_id=viewer.pk) | Q(subjects__user_id=viewer.pk, status__in=[CycleStatus.OPEN,
                                                                                        CycleStatus.CLOSED])
        if viewer.has_role(Role.SUPERVISOR) and viewer.scope >= Scope.DEPARTMENT:
            in_scope = User.objects.filter(scope_q(viewer, owner_path="")).exclude(pk=viewer.pk)
            cond |= Q(subjects__user__in=in_scope)
        qs = ReviewCycle.objects.filter(pk__in=ReviewCycle.objects.filter(cond).values("pk"))
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(name__icontains=q[:100])
    return qs.select_related("created_by").annotate(
        subject_count=Count("subjects", distinct=True)).order_by("-period_end", "-pk")


def cycle_get(*, viewer: User, cycle_id: int) -> ReviewCycle:
    found = cycle_list(viewer=viewer).filter(pk=cycle_id).first()
    if found is None:
        raise NotFound()
    return found


def cycle_is_managed_by(cycle: ReviewCycle, viewer: User) -> bool:
    from kamguard.reviews.services import may_run_cycles

    return cycle.created_by_id == viewer.pk and may_run_cycles(viewer)


@dataclass(frozen=True)
class SubjectRow:
    """A person in a cycle with their reviews' progress per source (assigned, submitted)."""

    user: User
    progress: dict[str, tuple[int, int]]
    results_visible: bool


def cycle_subjects(*, viewer: User, cycle: ReviewCycle) -> list[SubjectRow]:
    """The people of a cycle the viewer may see (call after `cycle_get`): everyone for its creator, HR and
    auditors; the people a supervisor's scope covers; the viewer themselves."""
    rows = list(cycle.subjects.select_related("user", "user__team").order_by("user__full_name", "user_id"))
    counts: dict[tuple[int, str], list[int]] = {}
    for subject_id, source, status, n in Assignment.objects.filter(cycle=cycle).values_list(
            "subject_id", "source", "status").annotate(n=Count("pk")):
        entry = counts.setdefault((subject_id, source), [0, 0])
        entry[0] += n
        if status == AssignmentStatus.SUBMITTED:
            entry[1] += n
    result = []
    for row in rows:
        person = row.user
        if not (_result_reader(viewer=viewer, cycle=cycle, subject=person) or cycle.created_by_id == viewer.pk):
            continue
        visible = result_visible(viewer=viewer, cycle=cycle, subject=person)
        progress = {s: (counts.get((person.pk, s), [0, 0])[0], counts.get((person.pk, s), [0, 0])[1])
                    for s in Source.values}
        result.append(SubjectRow(user=person, progress=progress, results_visible=visible))
    return result


def cycle_assignments(*, viewer: User, cycle: ReviewCycle, subject_id: int | None = None) -> QuerySet[Assignment]:
    """Who reviews whom (status only, never answers): for the cycle's creator, HR and auditors. List the time of a
    submission through `submitted_at_shown` (not while the cycle is open)."""
    if not (cycle.created_by_id == viewer.pk or _reader_of_everything(viewer)):
        return Assignment.objects.none()
    qs = Assignment.objects.filter(cycle=cycle).select_related("subject", "reviewer", "contact",
                                                                 "contact__customer")
    if subject_id:
        qs = qs.filter(subject_id=subject_id)
    return qs.order_by("subject__full_name", "subject_id", "source", "pk")


def my_pending(*, viewer: User) -> QuerySet[Assignment]:
    """Reviews the viewer still has to write, in open cycles."""
    return Assignment.objects.filter(reviewer_id=viewer.pk, status=AssignmentStatus.PENDING,
                                     cycle__status=CycleStatus.OPEN).select_related(
        "cycle", "subject").order_by("cycle__period_end", "subject__full_name", "pk")


def my_written(*, viewer: User) -> QuerySet[Assignment]:
    return Assignment.objects.filter(reviewer_id=viewer.pk, status=AssignmentStatus.SUBMITTED).select_related(
        "cycle", "subject").order_by("-submitted_at", "-pk")


def assignment_for_reviewer(*, viewer: User, assignment_id: int) -> Assignment:
    """A review the viewer writes or wrote (their own answers only)."""
    found = Assignment.objects.select_related("cycle", "subject", "question_set").filter(
        pk=assignment_id, reviewer_id=viewer.pk).first()
    if found is None:
        raise NotFound()
    return found


def assignment_questions(assignment: Assignment) -> list[tuple[Question, Answer | None]]:
    """The questions of a review with its answers (call after `assignment_for_reviewer` or for a customer link)."""
    answers = {a.question_id: a for a in Answer.objects.filter(assignment=assignment)}
    return [(q, answers.get(q.pk)) for q in assignment.question_set.questions.order_by("position")]


def _result_reader(*, viewer: User, cycle: ReviewCycle, subject: User) -> bool:
    """Who reads a person's results once the cycle is closed: the person; the cycle's creator; their supervisors;
    HR and auditors."""
    if not (viewer.is_authenticated and viewer.is_active):
        return False
    if viewer.pk == subject.pk or _reader_of_everything(viewer):
        return True
    if cycle.created_by_id == viewer.pk and viewer.has_role(Role.SUPERVISOR):
        return True
    return _supervises(viewer, subject)


def result_visible(*, viewer: User, cycle: ReviewCycle, subject: User) -> bool:
    """Results are shown only once the cycle is closed — to nobody before, not even the supervisor, HR or
    auditors: watching a live average move as each named reviewer answers would reveal that reviewer's score."""
    return cycle.status == CycleStatus.CLOSED and _result_reader(viewer=viewer, cycle=cycle, subject=subject)


def submitted_at_shown(assignment: Assignment, cycle: ReviewCycle) -> dt.datetime | None:
    """When a review was submitted, as listed to the cycle's readers: only once the cycle is closed."""
    return assignment.submitted_at if cycle.status == CycleStatus.CLOSED else None


@dataclass(frozen=True)
class QuestionResult:
    text: str
    kind: str
    average: Decimal | None  # 0..100 over the scale answers
    answered: int
    texts: tuple[str, ...]  # free-text answers, in alphabetical order (never in the order reviewers answered)
    shown: bool = True  # peers: False when fewer than three answered this question (average and texts withheld)
    note: str = ""


@dataclass(frozen=True)
class SourceResult:
    source: str
    label: str
    assigned: int
    answered: int
    average: Decimal | None
    shown: bool
    note: str  # why nothing is shown
    questions: tuple[QuestionResult, ...]


@dataclass(frozen=True)
class Result:
    cycle: ReviewCycle
    subject: User
    summary: ReviewSummary
    sources: tuple[SourceResult, ...]


def _question_result(source: str, question: Question, scales: list[int], texts: list[str]) -> QuestionResult:
    """One question's answers of one source. Peers' answers to a question are shown only when at least three peers
    answered that question (an optional question one peer answered would otherwise show that peer's answer)."""
    answered = len(scales) + len(texts)
    if source == Source.PEER and not peers_shown(answered):
        return QuestionResult(text=question.text, kind=question.kind, average=None, answered=answered, texts=(),
                              shown=False, note=_("Fewer than three peers answered — not shown."))
    return QuestionResult(text=question.text, kind=question.kind,
                          average=average(scale_to_percent(v) for v in scales), answered=answered,
                          texts=tuple(sorted(texts)))


def result_for(*, viewer: User, cycle_id: int, subject_id: int) -> Result:
    """A person's results in a cycle, aggregated per source and per question. Peers are shown only when at least
    three answered, and never one by one: no row anywhere says which peer answered what."""
    cycle = cycle_get(viewer=viewer, cycle_id=cycle_id)
    row = ReviewSubject.objects.select_related("user").filter(cycle=cycle, user_id=subject_id).first()
    if row is None:
        raise NotFound()
    subject = row.user
    if not _result_reader(viewer=viewer, cycle=cycle, subject=subject):
        raise NotFound()
    if not result_visible(viewer=viewer, cycle=cycle, subject=subject):
        message = (_("Your results are shown once the cycle is closed.") if viewer.pk == subject.pk
                   else _("Results are shown once the cycle is closed."))
        raise PermissionRefused(message, code="cycle_not_closed", extra={"right": "reviews.results"})
    assignments = list(Assignment.objects.filter(cycle=cycle, subject=subject).values_list(
        "pk", "source", "status", "score"))
    summary = summarise(Completed(cycle_id=cycle.pk, source=s, score=score)
                        for _pk, s, status, score in assignments if status == AssignmentStatus.SUBMITTED)
    submitted = {pk: s for pk, s, status, _score in assignments if status == AssignmentStatus.SUBMITTED}
    answers = Answer.objects.filter(assignment_id__in=list(submitted)).select_related("question").order_by(
        "question__position", "question_id")
    per_question: dict[str, dict[int, tuple[Question, list[int], list[str]]]] = {}
    for answer in answers:
        source = submitted[answer.assignment_id]
        bucket = per_question.setdefault(source, {}).setdefault(answer.question_id, (answer.question, [], []))
        if answer.scale is not None:
            bucket[1].append(answer.scale)
        if answer.text:
            bucket[2].append(answer.text)
    sources = []
    for source in Source.values:
        assigned = sum(1 for _pk, s, _st, _sc in assignments if s == source)
        average_, answered = summary.by_source.get(source, (None, 0))
        shown = answered > 0 and (source != Source.PEER or peers_shown(answered))
        note = ""
        if source == Source.PEER and answered and not shown:
            note = _("Fewer than three peers answered — not shown.")
        elif not answered:
            note = _("Nobody answered.") if assigned else _("Nobody was asked.")
        questions: tuple[QuestionResult, ...] = ()
        if shown:
            questions = tuple(_question_result(source, q, scales, texts)
                              for q, scales, texts in per_question.get(source, {}).values())
        # The summary's peer average is None unless at least three peers' reviews have a score.
        sources.append(SourceResult(source=source, label=str(Source(source).label), assigned=assigned,
                                    answered=answered, average=average_ if shown else None, shown=shown, note=note,
                                    questions=questions))
    return Result(cycle=cycle, subject=subject, summary=summary, sources=tuple(sources))


def question_set_list(*, viewer: User, source: str = "") -> QuerySet[QuestionSet]:
    if not (viewer.is_authenticated and viewer.is_active):
        return QuestionSet.objects.none()
    qs = QuestionSet.objects.annotate(question_count=Count("questions", distinct=True),
                                      use_count=Count("assignments", distinct=True))
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("source", "-is_active", "name", "-version", "pk")


def question_set_get(*, viewer: User, set_id: int) -> QuestionSet:
    found = question_set_list(viewer=viewer).filter(pk=set_id).first()
    if found is None:
        raise NotFound()
    return found


def subject_choices(*, viewer: User) -> QuerySet[User]:
    """The people a supervisor may put in a cycle: active, in their scope, not themselves."""
    from django.utils import timezone

    today = timezone.localdate()
    return User.objects.filter(scope_q(viewer, owner_path=""), is_active=True).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=today)).exclude(pk=viewer.pk).select_related("team").order_by(
        "full_name", "pk")
