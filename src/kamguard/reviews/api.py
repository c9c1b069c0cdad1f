"""HTTP API of 360 reviews: the same services and selectors as the pages.

Cycles (list, create, read with the people and their progress, change while draft, people, reviewers — the
default circle or one inside it —, customer links, open, close), a person's results (peers only together and only
from three answers; no endpoint returns one peer's answers), the reviews you write and their answers, question sets,
and the customer's link (no login).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictInt, StrictStr

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.core.errors import NotFound
from kamguard.reviews import selectors, services
from kamguard.reviews.models import Assignment, QuestionSet, ReviewCycle

router = Router(tags=["360 reviews"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422, 429): ProblemDetail}
SourceLiteral = Literal["self", "supervisor", "peer", "customer"]


# ---------------------------------------------------------------------------------------------- schemas

class CycleOut(Schema):
    id: int
    name: str
    period_start: dt.date
    period_end: dt.date
    status: str
    created_by_id: int
    created_by_name: str
    subject_count: int
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None


class SubjectOut(Schema):
    user_id: int
    name: str
    progress: dict[str, list[int]] = Field(description="source → [asked, answered]")
    results_visible: bool


class CycleDetailOut(CycleOut):
    subjects: list[SubjectOut]
    you_manage: bool


class AssignmentOut(Schema):
    """Who reviews whom and whether they answered — never what they answered."""

    id: int
    cycle_id: int
    subject_id: int
    subject_name: str
    source: str
    reviewer_id: int | None
    reviewer_name: str
    contact_id: int | None
    customer_name: str
    status: str
    submitted_at: dt.datetime | None = Field(description="In a cycle's listing: only once the cycle is closed")


class QuestionOut(Schema):
    id: int
    position: int
    kind: str
    text: str
    text_en: str
    text_zh: str
    required: bool


class AnswerOut(Schema):
    question_id: int
    scale: int | None
    text: str


class MyReviewOut(Schema):
    id: int
    cycle_id: int
    cycle_name: str
    subject_id: int
    subject_name: str
    source: str
    status: str
    submitted_at: dt.datetime | None
    questions: list[QuestionOut]
    answers: list[AnswerOut] = Field(description="Your own answers, once submitted")


class QuestionResultOut(Schema):
    text: str
    kind: str
    average: Decimal | None
    answered: int
    texts: list[str] = Field(description="Free-text answers in alphabetical order, without their authors")
    shown: bool = Field(description="Peers: false when fewer than three answered this question (no average, no texts)")
    note: str


class SourceResultOut(Schema):
    source: str
    label: str
    assigned: int
    answered: int
    average: Decimal | None
    shown: bool
    note: str
    questions: list[QuestionResultOut]


class ReviewResultOut(Schema):
    cycle_id: int
    subject_id: int
    subject_name: str
    overall: Decimal | None
    sources: list[SourceResultOut]


class QuestionSetOut(Schema):
    id: int
    name: str
    source: str
    version: int
    is_default: bool
    frozen: bool
    questions: list[QuestionOut]


def _cycle_out(c: ReviewCycle) -> CycleOut:
    return CycleOut(id=c.pk, name=c.name, period_start=c.period_start, period_end=c.period_end, status=c.status,
                    created_by_id=c.created_by_id, created_by_name=str(c.created_by),
                    subject_count=getattr(c, "subject_count", 0) or 0, opened_at=c.opened_at, closed_at=c.closed_at)


def _cycle_detail(viewer: Any, cycle_id: int) -> CycleDetailOut:
    cycle = selectors.cycle_get(viewer=viewer, cycle_id=cycle_id)
    subjects = [SubjectOut(user_id=r.user.pk, name=str(r.user), results_visible=r.results_visible,
                           progress={s: list(v) for s, v in r.progress.items()})
                for r in selectors.cycle_subjects(viewer=viewer, cycle=cycle)]
    return CycleDetailOut(**_cycle_out(cycle).model_dump(), subjects=subjects,
                          you_manage=selectors.cycle_is_managed_by(cycle, viewer))


def _assignment_out(a: Assignment, cycle: ReviewCycle | None = None) -> AssignmentOut:
    """One review's row; with `cycle` (a cycle's listing), the time of submission only once the cycle is closed."""
    return AssignmentOut(id=a.pk, cycle_id=a.cycle_id, subject_id=a.subject_id, subject_name=str(a.subject),
                         source=a.source, reviewer_id=a.reviewer_id, reviewer_name=str(a.reviewer or a.contact or ""),
                         contact_id=a.contact_id, customer_name=a.contact.customer.name if a.contact else "",
                         status=a.status,
                         submitted_at=selectors.submitted_at_shown(a, cycle) if cycle else a.submitted_at)


def _question_out(q: Any) -> QuestionOut:
    return QuestionOut(id=q.pk, position=q.position, kind=q.kind, text=q.text, text_en=q.text_en, text_zh=q.text_zh,
                       required=q.required)


def _my_review(a: Assignment) -> MyReviewOut:
    rows = selectors.assignment_questions(a)
    return MyReviewOut(id=a.pk, cycle_id=a.cycle_id, cycle_name=a.cycle.name, subject_id=a.subject_id,
                       subject_name=str(a.subject), source=a.source, status=a.status, submitted_at=a.submitted_at,
                       questions=[_question_out(q) for q, _a in rows],
                       answers=[AnswerOut(question_id=q.pk, scale=ans.scale, text=ans.text) for q, ans in rows if ans])


def _set_out(s: QuestionSet) -> QuestionSetOut:
    return QuestionSetOut(id=s.pk, name=s.name, source=s.source, version=s.version, is_default=s.is_active,
                          frozen=s.is_frozen, questions=[_question_out(q) for q in s.questions.order_by("position")])


# ---------------------------------------------------------------------------------------------- cycles

class CycleFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    status: Literal["draft", "open", "closed", ""] = ""
    q: str = Field("", max_length=100)


@router.get("/cycles", response={200: Page[CycleOut], **ERRORS}, summary="Review cycles you may see")
def cycle_list(request: HttpRequest, filters: Query[CycleFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.cycle_list(viewer=viewer, status=filters.status, q=filters.q.strip())
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-period_end", "-pk"),
                       serialize=_cycle_out)


class CycleIn(Schema):
    name: str = Field(..., max_length=120)
    period_start: dt.date
    period_end: dt.date
    subject_ids: list[int] = Field(default_factory=list, max_length=2000)


@router.post("/cycles", response={201: CycleDetailOut, **ERRORS},
             summary="Start a draft cycle for people in your scope (supervisors)")
def cycle_create(request: HttpRequest, payload: CycleIn) -> Any:
    viewer = api_viewer(request)
    cycle = services.cycle_create(actor=viewer, name=payload.name, period_start=payload.period_start,
                                  period_end=payload.period_end, subject_ids=payload.subject_ids)
    return Status(201, _cycle_detail(viewer, cycle.pk))


@router.get("/cycles/{int:cycle_id}", response={200: CycleDetailOut, **ERRORS},
            summary="A cycle with the people you may see and their progress per source")
def cycle_get(request: HttpRequest, cycle_id: int) -> Any:
    return _cycle_detail(api_viewer(request), cycle_id)


class CyclePatch(Schema):
    name: str | None = Field(None, max_length=120)
    period_start: dt.date | None = None
    period_end: dt.date | None = None


def _visible_cycle(viewer: Any, cycle_id: int) -> ReviewCycle:
    return selectors.cycle_get(viewer=viewer, cycle_id=cycle_id)


@router.patch("/cycles/{int:cycle_id}", response={200: CycleDetailOut, **ERRORS}, summary="Change a draft cycle")
def cycle_update(request: HttpRequest, cycle_id: int, payload: CyclePatch) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    services.cycle_update(actor=viewer, cycle_id=cycle_id, name=payload.name, period_start=payload.period_start,
                          period_end=payload.period_end)
    return _cycle_detail(viewer, cycle_id)


@router.post("/cycles/{int:cycle_id}/open", response={200: CycleDetailOut, **ERRORS},
             summary="Open the cycle for answers")
def cycle_open(request: HttpRequest, cycle_id: int) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    services.cycle_open(actor=viewer, cycle_id=cycle_id)
    return _cycle_detail(viewer, cycle_id)


@router.post("/cycles/{int:cycle_id}/close", response={200: CycleDetailOut, **ERRORS},
             summary="Close the cycle: no more answers, the people reviewed see their results")
def cycle_close(request: HttpRequest, cycle_id: int) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    services.cycle_close(actor=viewer, cycle_id=cycle_id)
    return _cycle_detail(viewer, cycle_id)


class SubjectsIn(Schema):
    subject_ids: list[int] = Field(..., min_length=1, max_length=2000)


@router.post("/cycles/{int:cycle_id}/subjects", response={200: CycleDetailOut, **ERRORS},
             summary="Add people in your scope to the cycle")
def cycle_subjects_add(request: HttpRequest, cycle_id: int, payload: SubjectsIn) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    services.cycle_subjects_add(actor=viewer, cycle_id=cycle_id, subject_ids=payload.subject_ids)
    return _cycle_detail(viewer, cycle_id)


@router.delete("/cycles/{int:cycle_id}/subjects/{int:user_id}", response={204: None, **ERRORS},
               summary="Take a person (and their reviewers) out of a draft cycle")
def cycle_subject_remove(request: HttpRequest, cycle_id: int, user_id: int) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    services.cycle_subject_remove(actor=viewer, cycle_id=cycle_id, subject_id=user_id)
    return Status(204, None)


# ---------------------------------------------------------------------------------------------- reviewers

class AssignmentFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(100, ge=1, le=200)
    subject_id: int | None = None


@router.get("/cycles/{int:cycle_id}/assignments", response={200: Page[AssignmentOut], **ERRORS},
            summary="Who reviews whom and whether they answered (the cycle's supervisor, HR, auditors)")
def assignment_list(request: HttpRequest, cycle_id: int, filters: Query[AssignmentFilter]) -> Any:
    viewer = api_viewer(request)
    cycle = _visible_cycle(viewer, cycle_id)
    qs = selectors.cycle_assignments(viewer=viewer, cycle=cycle, subject_id=filters.subject_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("pk",),
                       serialize=lambda a: _assignment_out(a, cycle))


class GenerateIn(Schema):
    subject_ids: list[int] | None = Field(None, max_length=2000, description="Everyone in the cycle when left out")


@router.post("/cycles/{int:cycle_id}/assignments/generate", response={200: list[AssignmentOut], **ERRORS},
             summary="Add the default circle of each person (self, supervisor, peers, customers)")
def assignments_generate(request: HttpRequest, cycle_id: int, payload: GenerateIn | None = None) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    made = services.assignments_generate(actor=viewer, cycle_id=cycle_id,
                                         subject_ids=payload.subject_ids if payload else None)
    ids = [a.pk for a in made]
    return [_assignment_out(a) for a in Assignment.objects.filter(pk__in=ids).select_related(
        "subject", "reviewer", "contact", "contact__customer").order_by("pk")]


class AssignmentIn(Schema):
    subject_id: int
    source: SourceLiteral
    reviewer_id: int | None = None
    contact_id: int | None = None


@router.post("/cycles/{int:cycle_id}/assignments", response={201: AssignmentOut, **ERRORS},
             summary="Add one reviewer inside the person's circle (422 outside_circle with the reason otherwise)")
def assignment_add(request: HttpRequest, cycle_id: int, payload: AssignmentIn) -> Any:
    viewer = api_viewer(request)
    _visible_cycle(viewer, cycle_id)
    made = services.assignment_add(actor=viewer, cycle_id=cycle_id, subject_id=payload.subject_id,
                                   source=payload.source, reviewer_id=payload.reviewer_id,
                                   contact_id=payload.contact_id)
    return Status(201, _assignment_out(made))


@router.delete("/assignments/{int:assignment_id}", response={204: None, **ERRORS},
               summary="Take out a reviewer who has not answered")
def assignment_remove(request: HttpRequest, assignment_id: int) -> Any:
    viewer = api_viewer(request)
    services.assignment_remove(actor=viewer, assignment_id=assignment_id)
    return Status(204, None)


class LinkIn(Schema):
    renew: bool = False


class LinkOut(Schema):
    url: str
    expires_in_days: int


@router.post("/assignments/{int:assignment_id}/link", response={200: LinkOut, **ERRORS},
             summary="The customer's signed link (renew: a new one, earlier links stop working)")
def customer_link(request: HttpRequest, assignment_id: int, payload: LinkIn | None = None) -> Any:
    viewer = api_viewer(request)
    token = services.customer_link_issue(actor=viewer, assignment_id=assignment_id,
                                         renew=bool(payload and payload.renew))
    return LinkOut(url=request.build_absolute_uri(reverse("reviews:public_answer", args=[token])),
                   expires_in_days=services.LINK_MAX_AGE // 86400)


# ---------------------------------------------------------------------------------------------- results

@router.get("/cycles/{int:cycle_id}/results/{int:user_id}", response={200: ReviewResultOut, **ERRORS},
            summary="A person's results per source and question, once the cycle is closed (403 cycle_not_closed "
                    "before; peers only together and from three answers)")
def result(request: HttpRequest, cycle_id: int, user_id: int) -> Any:
    found = selectors.result_for(viewer=api_viewer(request), cycle_id=cycle_id, subject_id=user_id)
    return ReviewResultOut(cycle_id=found.cycle.pk, subject_id=found.subject.pk, subject_name=str(found.subject),
                     overall=found.summary.overall, sources=[SourceResultOut(
                         source=s.source, label=s.label, assigned=s.assigned, answered=s.answered, average=s.average,
                         shown=s.shown, note=s.note, questions=[QuestionResultOut(
                             text=q.text, kind=q.kind, average=q.average, answered=q.answered, texts=list(q.texts),
                             shown=q.shown, note=q.note)
                             for q in s.questions]) for s in found.sources])


# ---------------------------------------------------------------------------------------------- my reviews

class MineFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    status: Literal["pending", "submitted"] = "pending"


@router.get("/mine", response={200: Page[AssignmentOut], **ERRORS},
            summary="Reviews you write: pending (in open cycles) or submitted")
def my_reviews(request: HttpRequest, filters: Query[MineFilter]) -> Any:
    viewer = api_viewer(request)
    if filters.status == "pending":
        qs = selectors.my_pending(viewer=viewer)
    else:
        qs = selectors.my_written(viewer=viewer)
    return keyset_page(qs.select_related("contact", "reviewer"), cursor=filters.cursor, limit=filters.limit,
                       order=("pk",), serialize=_assignment_out)


@router.get("/mine/{int:assignment_id}", response={200: MyReviewOut, **ERRORS},
            summary="One of your reviews with its questions and your answers")
def my_review(request: HttpRequest, assignment_id: int) -> Any:
    return _my_review(selectors.assignment_for_reviewer(viewer=api_viewer(request), assignment_id=assignment_id))


class AnswersIn(Schema):
    answers: dict[str, StrictInt | StrictStr] = Field(..., description='question id → 1..5 for a scale question, text otherwise')


@router.post("/mine/{int:assignment_id}/submit", response={200: MyReviewOut, **ERRORS},
             summary="Send your answers (once; 409 already_submitted after)")
def my_review_submit(request: HttpRequest, assignment_id: int, payload: AnswersIn) -> Any:
    viewer = api_viewer(request)
    services.assignment_submit(actor=viewer, assignment_id=assignment_id, answers=payload.answers)
    return _my_review(selectors.assignment_for_reviewer(viewer=viewer, assignment_id=assignment_id))


# ---------------------------------------------------------------------------------------------- customer link

class PublicReviewOut(Schema):
    subject_name: str
    customer_name: str
    status: str
    questions: list[QuestionOut]


@router.get("/public/{token}", auth=None, response={200: PublicReviewOut, **ERRORS},
            summary="The customer's review behind a signed link (no login)")
def public_get(request: HttpRequest, token: str) -> Any:
    a = services.customer_link_assignment(token)
    return PublicReviewOut(subject_name=str(a.subject), customer_name=a.contact.customer.name if a.contact else "",
                           status=a.status, questions=[_question_out(q) for q, _x in selectors.assignment_questions(a)])


@router.post("/public/{token}", auth=None, response={200: PublicReviewOut, **ERRORS},
             summary="The customer's answers (no login, once, rate-limited per address)")
def public_submit(request: HttpRequest, token: str, payload: AnswersIn) -> Any:
    from kamguard.core.middleware import client_ip

    services.customer_answer_submit(token=token, answers=payload.answers, ip_address=client_ip(request))
    return public_get(request, token)


# ---------------------------------------------------------------------------------------------- question sets

class SetFilter(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)
    source: Literal["self", "supervisor", "peer", "customer", ""] = ""


@router.get("/question-sets", response={200: Page[QuestionSetOut], **ERRORS}, summary="Question sets")
def question_set_list(request: HttpRequest, filters: Query[SetFilter]) -> Any:
    qs = selectors.question_set_list(viewer=api_viewer(request), source=filters.source)
    return keyset_page(qs.prefetch_related("questions"), cursor=filters.cursor, limit=filters.limit, order=("pk",),
                       serialize=_set_out)


class QuestionIn(Schema):
    kind: Literal["scale", "text"]
    text_en: str = Field(..., max_length=300)
    text_zh: str = Field(..., max_length=300)
    required: bool = True


class QuestionSetIn(Schema):
    name: str = Field(..., max_length=120)
    source: SourceLiteral
    questions: list[QuestionIn] = Field(..., max_length=40)
    make_default: bool = False


@router.post("/question-sets", response={201: QuestionSetOut, **ERRORS},
             summary="A new question set (administrators and supervisors)")
def question_set_create(request: HttpRequest, payload: QuestionSetIn) -> Any:
    made = services.question_set_create(actor=api_viewer(request), name=payload.name, source=payload.source,
                                        questions=[q.model_dump() for q in payload.questions],
                                        make_default=payload.make_default)
    return Status(201, _set_out(made))


@router.get("/question-sets/{int:set_id}", response={200: QuestionSetOut, **ERRORS}, summary="One question set")
def question_set_get(request: HttpRequest, set_id: int) -> Any:
    return _set_out(selectors.question_set_get(viewer=api_viewer(request), set_id=set_id))


class QuestionSetPatch(Schema):
    name: str | None = Field(None, max_length=120)
    questions: list[QuestionIn] | None = Field(None, max_length=40)


@router.patch("/question-sets/{int:set_id}", response={200: QuestionSetOut, **ERRORS},
              summary="Change a set no review uses yet (409 question_set_frozen otherwise: copy it)")
def question_set_update(request: HttpRequest, set_id: int, payload: QuestionSetPatch) -> Any:
    viewer = api_viewer(request)
    selectors.question_set_get(viewer=viewer, set_id=set_id)
    made = services.question_set_update(actor=viewer, set_id=set_id, name=payload.name, questions=(
        [q.model_dump() for q in payload.questions] if payload.questions is not None else None))
    return _set_out(made)


@router.post("/question-sets/{int:set_id}/copy", response={201: QuestionSetOut, **ERRORS},
             summary="Copy a set to its next version")
def question_set_copy(request: HttpRequest, set_id: int) -> Any:
    viewer = api_viewer(request)
    selectors.question_set_get(viewer=viewer, set_id=set_id)
    return Status(201, _set_out(services.question_set_copy(actor=viewer, set_id=set_id)))


@router.post("/question-sets/{int:set_id}/make-default", response={200: QuestionSetOut, **ERRORS},
             summary="Use this set for new reviews of its source")
def question_set_make_default(request: HttpRequest, set_id: int) -> Any:
    viewer = api_viewer(request)
    if not QuestionSet.objects.filter(pk=set_id).exists():
        raise NotFound()
    return _set_out(services.question_set_make_default(actor=viewer, set_id=set_id))
