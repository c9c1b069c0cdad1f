"""Review pages: my reviews to write and my results, cycles (create, edit, people, reviewers inside the circle,
customer links, open, close), the answer form, a person's results, question sets, and the public page where a
customer answers through their link (no login).

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kamguard.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionRefused,
    RateLimited,
    ValidationFailed,
)
from kamguard.core.pages import error_page, form_apply_error, page_view, paginate
from kamguard.org.models import User
from kamguard.reviews import selectors, services
from kamguard.reviews.forms import (
    AnswerForm,
    AssignmentAddForm,
    CycleForm,
    QuestionFormSet,
    QuestionSetForm,
    SubjectsAddForm,
)
from kamguard.reviews.models import AssignmentStatus, CycleStatus, ReviewCycle, Source


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _person_label(u: User) -> str:
    return f"{u} · {u.team}" if u.team_id else str(u)


@page_view()
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    cycles = selectors.cycle_list(viewer=viewer, status=request.GET.get("status", ""),
                                  q=request.GET.get("q", "").strip())
    my_results = list(selectors.cycle_list(viewer=viewer, status=CycleStatus.CLOSED).filter(
        subjects__user_id=viewer.pk)[:12])
    return render(request, "reviews/home.html", {
        "pending": list(selectors.my_pending(viewer=viewer)[:100]),
        "written": list(selectors.my_written(viewer=viewer)[:12]),
        "my_results": my_results, "page": paginate(request, cycles), "statuses": CycleStatus.choices,
        "may_run": services.may_run_cycles(viewer), "may_questions": services.may_manage_question_sets(viewer)})


# ---------------------------------------------------------------------------------------------- cycles

@page_view()
def cycle_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not services.may_run_cycles(viewer):
        raise PermissionRefused(_("Only supervisors run review cycles."), extra={"right": "reviews.cycles"})
    choices = [(u.pk, _person_label(u)) for u in selectors.subject_choices(viewer=viewer)[:500]]
    form = CycleForm(request.POST or None, subject_choices=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            cycle = services.cycle_create(actor=viewer, name=data["name"], period_start=data["period_start"],
                                          period_end=data["period_end"], subject_ids=data["subjects"])
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Cycle created. Now generate the reviewers."))
            return redirect("reviews:cycle_detail", cycle.pk)
    return render(request, "reviews/form.html", {"form": form, "title": _("New review cycle"),
                                                 "cancel_url": reverse("reviews:home")})


@page_view()
def cycle_edit(request: HttpRequest, cycle_id: int) -> HttpResponse:
    viewer = _viewer(request)
    cycle = selectors.cycle_get(viewer=viewer, cycle_id=cycle_id)
    if not selectors.cycle_is_managed_by(cycle, viewer):
        raise PermissionRefused(_("Only the supervisor who created this cycle can change it."),
                                extra={"right": "reviews.cycles"})
    form = CycleForm(request.POST or None, editing=True, initial={
        "name": cycle.name, "period_start": cycle.period_start, "period_end": cycle.period_end})
    if request.method == "POST" and form.is_valid():
        try:
            services.cycle_update(actor=viewer, cycle_id=cycle.pk, **form.cleaned_data)
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Cycle saved."))
            return redirect("reviews:cycle_detail", cycle.pk)
    return render(request, "reviews/form.html", {"form": form, "title": cycle.name,
                                                 "cancel_url": reverse("reviews:cycle_detail", args=[cycle.pk])})


def _cycle_forms(viewer: User, cycle: ReviewCycle, subjects: list[selectors.SubjectRow],
                 data: Any = None, which: str = "") -> dict[str, Any]:
    from kamguard.customers.models import Contact

    in_cycle = {row.user.pk for row in subjects}
    addable = [(u.pk, _person_label(u)) for u in selectors.subject_choices(viewer=viewer)[:500]
               if u.pk not in in_cycle]
    people = [(u.pk, _person_label(u)) for u in services._active_people().filter(
        Q(pk__in=selectors.subject_choices(viewer=viewer).values("pk")) | Q(pk=viewer.pk)).order_by(
        "full_name", "pk")[:1000]]
    served = Q()
    for row in subjects:
        served |= services._customers_served(row.user)
    contacts: list[tuple[int, str]] = []
    if subjects:
        from kamguard.customers.models import Customer

        customer_ids = Customer.objects.filter(served).values("pk")
        contacts = [(c.pk, f"{c.name} · {c.customer.name}") for c in Contact.objects.filter(
            customer_id__in=customer_ids, is_active=True).select_related("customer").order_by(
            "customer__name", "name")[:500]]
    return {
        "subjects_form": SubjectsAddForm(data if which == "subjects_add" else None, choices=addable),
        "assignment_form": AssignmentAddForm(
            data if which == "assignment_add" else None, subjects=[(r.user.pk, str(r.user)) for r in subjects],
            people=people, contacts=contacts),
    }


def _cycle_context(request: HttpRequest, viewer: User, cycle: ReviewCycle, data: Any = None, which: str = ""
                   ) -> dict[str, Any]:
    subjects = selectors.cycle_subjects(viewer=viewer, cycle=cycle)
    manages = selectors.cycle_is_managed_by(cycle, viewer)
    context: dict[str, Any] = {"cycle": cycle, "subjects": subjects, "manages": manages,
                               "sources": Source.choices, "links": request.session.get(f"review-links-{cycle.pk}", {})}
    assignments = selectors.cycle_assignments(viewer=viewer, cycle=cycle)
    context["assignments"] = paginate(request, assignments, per_page=100)
    if manages and cycle.status != CycleStatus.CLOSED:
        context.update(_cycle_forms(viewer, cycle, subjects, data, which))
    return context


CYCLE_ACTIONS = ("open", "close", "generate", "subjects_add", "subject_remove", "assignment_add",
                 "assignment_remove", "link")


@page_view()
def cycle_detail(request: HttpRequest, cycle_id: int) -> HttpResponse:
    viewer = _viewer(request)
    cycle = selectors.cycle_get(viewer=viewer, cycle_id=cycle_id)
    if request.method != "POST":
        return render(request, "reviews/cycle_detail.html", _cycle_context(request, viewer, cycle))
    action = request.POST.get("action", "")
    if action not in CYCLE_ACTIONS:
        raise ValidationFailed(_("Unknown action."))
    if not selectors.cycle_is_managed_by(cycle, viewer):
        raise PermissionRefused(_("Only the supervisor who created this cycle can change it."),
                                extra={"right": "reviews.cycles"})
    context = _cycle_context(request, viewer, cycle, request.POST, action)
    form = context.get("subjects_form") if action == "subjects_add" else context.get("assignment_form")
    try:
        if action == "open":
            services.cycle_open(actor=viewer, cycle_id=cycle.pk)
            messages.success(request, _("The cycle is open: reviewers can answer."))
        elif action == "close":
            services.cycle_close(actor=viewer, cycle_id=cycle.pk)
            messages.success(request, _("The cycle is closed: the people reviewed can see their results."))
        elif action == "generate":
            made = services.assignments_generate(actor=viewer, cycle_id=cycle.pk)
            messages.success(request, _("%(n)s reviewers added from the default circles.") % {"n": len(made)})
        elif action == "subject_remove":
            services.cycle_subject_remove(actor=viewer, cycle_id=cycle.pk,
                                          subject_id=_int(request.POST.get("subject")))
            messages.success(request, _("Person removed from the cycle."))
        elif action == "assignment_remove":
            services.assignment_remove(actor=viewer, assignment_id=_int(request.POST.get("assignment")))
            messages.success(request, _("Reviewer removed."))
        elif action == "link":
            token = services.customer_link_issue(actor=viewer, assignment_id=_int(request.POST.get("assignment")),
                                                 renew=request.POST.get("renew") == "1")
            links = dict(request.session.get(f"review-links-{cycle.pk}", {}))
            links[request.POST.get("assignment", "")] = request.build_absolute_uri(
                reverse("reviews:public_answer", args=[token]))
            request.session[f"review-links-{cycle.pk}"] = links
            messages.success(request, _("Link ready: send it to the customer. It works for 30 days."))
        elif form is not None and form.is_valid():
            data = form.cleaned_data
            if action == "subjects_add":
                services.cycle_subjects_add(actor=viewer, cycle_id=cycle.pk, subject_ids=data["subjects"])
                messages.success(request, _("People added."))
            else:
                services.assignment_add(actor=viewer, cycle_id=cycle.pk, subject_id=data["subject"],
                                        source=data["source"], reviewer_id=data["reviewer"],
                                        contact_id=data["contact"])
                messages.success(request, _("Reviewer added."))
        else:
            return render(request, "reviews/cycle_detail.html", context, status=422)
    except (ValidationFailed, Conflict) as exc:
        if form is not None and action in ("subjects_add", "assignment_add"):
            form_apply_error(form, exc)
        else:
            messages.error(request, str(exc.message))
        return render(request, "reviews/cycle_detail.html",
                      {**context, **_refresh(request, viewer, cycle, context)}, status=exc.status)
    return redirect("reviews:cycle_detail", cycle.pk)


def _refresh(request: HttpRequest, viewer: User, cycle: ReviewCycle, context: dict[str, Any]) -> dict[str, Any]:
    cycle.refresh_from_db()
    return {"cycle": cycle}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc


# ---------------------------------------------------------------------------------------------- results

@page_view()
def result(request: HttpRequest, cycle_id: int, user_id: int) -> HttpResponse:
    viewer = _viewer(request)
    found = selectors.result_for(viewer=viewer, cycle_id=cycle_id, subject_id=user_id)
    return render(request, "reviews/result.html", {"result": found, "summary": found.summary})


# ---------------------------------------------------------------------------------------------- answering

def _answer_page(request: HttpRequest, assignment: Any, *, template: str, submit: Any, done_url: str,
                 extra: dict[str, Any]) -> HttpResponse:
    rows = selectors.assignment_questions(assignment)
    questions = [q for q, _a in rows]
    status = 200
    writable = assignment.status == AssignmentStatus.PENDING and assignment.cycle.status == CycleStatus.OPEN
    form = AnswerForm(request.POST if request.method == "POST" else None, questions=questions)
    if request.method == "POST":
        if not writable:
            status = 409
            form.is_valid()
            form.add_error(None, _("This review was already submitted; answers cannot be sent twice.")
                           if assignment.status == AssignmentStatus.SUBMITTED
                           else _("This review cycle is not open for answers."))
        elif form.is_valid():
            try:
                submit(form.answers())
            except RateLimited as exc:
                form.add_error(None, str(exc.message))
                status = 429
            except DomainError as exc:
                form_apply_error(form, exc)
                status = exc.status
            else:
                return redirect(done_url)
        else:
            status = 422
    return render(request, template, {"assignment": assignment, "form": form, "rows": rows, "writable": writable,
                                      **extra}, status=status)


@page_view()
def answer(request: HttpRequest, assignment_id: int) -> HttpResponse:
    viewer = _viewer(request)
    assignment = selectors.assignment_for_reviewer(viewer=viewer, assignment_id=assignment_id)

    def submit(answers: dict[str, Any]) -> None:
        services.assignment_submit(actor=viewer, assignment_id=assignment.pk, answers=answers)
        messages.success(request, _("Thank you: your review is submitted."))

    return _answer_page(request, assignment, template="reviews/answer.html", submit=submit,
                        done_url=reverse("reviews:home"), extra={})


def public_answer(request: HttpRequest, token: str) -> HttpResponse:
    """A customer's review through their link: no login, rate-limited, answered once."""
    from kamguard.core.middleware import client_ip

    try:
        assignment = services.customer_link_assignment(token)
    except DomainError as exc:
        return render(request, "reviews/public_message.html", {"message": exc.message}, status=exc.status)

    def submit(answers: dict[str, Any]) -> None:
        services.customer_answer_submit(token=token, answers=answers, ip_address=client_ip(request))

    return _answer_page(request, assignment, template="reviews/public_answer.html", submit=submit,
                        done_url=reverse("reviews:public_thanks"), extra={})


def public_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "reviews/public_message.html", {"message": _("Thank you: your answers are recorded."),
                                                           "thanks": True})


# ---------------------------------------------------------------------------------------------- question sets

def _require_question_sets(viewer: User) -> None:
    if not services.may_manage_question_sets(viewer):
        raise PermissionRefused(_("Only administrators and supervisors manage question sets."),
                                extra={"right": "reviews.question_sets"})


@page_view()
def question_sets(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    may_manage = services.may_manage_question_sets(viewer)
    if request.method == "POST":
        _require_question_sets(viewer)
        action, set_id = request.POST.get("action", ""), _int(request.POST.get("set"))
        try:
            if action == "copy":
                copy = services.question_set_copy(actor=viewer, set_id=set_id)
                messages.success(request, _("Copied as version %(v)s: change it, then use it.") % {"v": copy.version})
                return redirect("reviews:question_set_edit", copy.pk)
            if action == "default":
                services.question_set_make_default(actor=viewer, set_id=set_id)
                messages.success(request, _("New reviews of this source use this set."))
            else:
                raise ValidationFailed(_("Unknown action."))
        except DomainError as exc:
            if isinstance(exc, PermissionRefused | NotFound):
                raise
            messages.error(request, str(exc.message))
        return redirect("reviews:question_sets")
    source = request.GET.get("source", "")
    sets = selectors.question_set_list(viewer=viewer, source=source if source in Source.values else "")
    return render(request, "reviews/question_sets.html", {"page": paginate(request, sets), "sources": Source.choices,
                                                          "may_manage": may_manage})


def _question_rows(formset: Any) -> list[dict[str, Any]]:
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.is_blank()]


@page_view()
def question_set_edit(request: HttpRequest, set_id: int | None = None) -> HttpResponse:
    viewer = _viewer(request)
    _require_question_sets(viewer)
    qset = selectors.question_set_get(viewer=viewer, set_id=set_id) if set_id else None
    if qset is not None and qset.is_frozen:
        return error_page(request, Conflict(_(
            "Reviews already use this question set, so it can no longer change. Copy it to a new version and "
            "change the copy.")))
    initial_rows = [{"kind": q.kind, "text_en": q.text_en, "text_zh": q.text_zh, "required": q.required}
                    for q in qset.questions.order_by("position")] if qset else []
    form = QuestionSetForm(request.POST or None, initial={"name": qset.name, "source": qset.source} if qset else None)
    if qset is not None:
        form.fields["source"].disabled = True
        del form.fields["make_default"]
    formset = QuestionFormSet(request.POST or None, initial=initial_rows, prefix="q")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        rows = _question_rows(formset)
        try:
            if qset is None:
                qset = services.question_set_create(actor=viewer, name=form.cleaned_data["name"],
                                                    source=form.cleaned_data["source"], questions=rows,
                                                    make_default=form.cleaned_data.get("make_default", False))
            else:
                services.question_set_update(actor=viewer, set_id=qset.pk, name=form.cleaned_data["name"],
                                             questions=rows)
        except DomainError as exc:
            form_apply_error(form, exc)
            if any(k.startswith("questions") for k in exc.field_errors):
                form.add_error(None, " ".join(m for k, v in exc.field_errors.items() if k.startswith("questions")
                                              for m in v))
        else:
            messages.success(request, _("Question set saved."))
            return redirect("reviews:question_sets")
    return render(request, "reviews/question_set_form.html", {
        "form": form, "formset": formset, "qset": qset,
        "title": str(qset) if qset else _("New question set")}, status=422 if request.method == "POST" else 200)
