"""Meeting minutes pages: the list (search, kind, period, pagination), write and edit minutes with action items,
a meeting with its decisions and the execution of its actions, and my action items (or my team's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.forms import formset_factory
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.errors import DomainError, PermissionRefused, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.meetings import selectors, services
from kamguard.meetings.access import may_edit, may_guide, may_update_item, may_write, people_choosable
from kamguard.meetings.domain import decisions_split, is_overdue
from kamguard.meetings.forms import ITEM_ROWS, DoneForm, GuidanceForm, ItemForm, MeetingForm
from kamguard.meetings.models import Meeting, MeetingKind
from kamguard.org.domain.roles import Role
from kamguard.org.models import User

ItemFormSet = formset_factory(ItemForm, extra=0)


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _post(request: HttpRequest) -> Any:
    data = request.POST.copy()
    for key in data:
        data.setlist(key, [v.replace("\x00", "") for v in data.getlist(key)])
    return data


def _date(request: HttpRequest, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


@page_view()
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    kind = request.GET.get("kind", "")
    qs = selectors.meeting_list(viewer=viewer, kind=kind if kind in MeetingKind.values else "",
                                search=request.GET.get("q", "").replace("\x00", "")[:100],
                                start=_date(request, "start"), end=_date(request, "end"),
                                overdue_only=request.GET.get("overdue") == "1",
                                unguided_only=request.GET.get("unguided") == "1")
    page = paginate(request, qs)
    mine = selectors.my_items(viewer=viewer, status="open")
    return render(request, "meetings/home.html", {
        "page": page, "meetings": page.object_list, "kinds": MeetingKind.choices, "may_write": may_write(viewer),
        "my_open": mine.count(), "my_overdue": selectors.my_items(viewer=viewer, status="overdue").count()})


def _people(viewer: User) -> list[tuple[int, str]]:
    return list(people_choosable(viewer).values_list("pk", "full_name")[:500])


def _save(request: HttpRequest, viewer: User, meeting: Meeting | None) -> HttpResponse:
    people = _people(viewer)
    if meeting is not None:
        initial: dict[str, Any] = {
            "kind": meeting.kind, "title": meeting.title, "held_at": timezone.localtime(meeting.held_at),
            "location": meeting.location, "chaired_by": meeting.chaired_by_id,
            "attendees": list(meeting.attendees.values_list("pk", flat=True)),
            "other_attendees": meeting.other_attendees, "summary": meeting.summary, "decisions": meeting.decisions}
    else:
        initial = {"kind": MeetingKind.WEEKLY, "held_at": timezone.localtime().replace(second=0, microsecond=0),
                   "chaired_by": viewer.pk}
    if request.method == "POST":
        data = _post(request)
        form = MeetingForm(data, people=people)
        items = ItemFormSet(data, prefix="items", form_kwargs={"people": people})
        if form.is_valid() and items.is_valid():
            d = form.cleaned_data
            new_items = [{"description": f.cleaned_data.get("description"), "owner_id": f.cleaned_data.get("owner"),
                          "due_on": f.cleaned_data.get("due_on")} for f in items if not f.is_blank]
            fields = {"kind": d["kind"], "title": d["title"], "held_at": d["held_at"], "location": d["location"],
                      "other_attendees": d["other_attendees"], "summary": d["summary"], "decisions": d["decisions"]}
            try:
                with transaction.atomic():
                    if meeting is None:
                        meeting = services.meeting_create(actor=viewer, chaired_by_id=d["chaired_by"],
                                                          attendee_ids=d["attendees"], items=new_items, **fields)
                    else:
                        services.meeting_update(actor=viewer, meeting_id=meeting.pk, attendee_ids=d["attendees"],
                                                chaired_by_id=d["chaired_by"], **fields)
                        for i, item in enumerate(new_items):
                            try:
                                services.item_add(actor=viewer, meeting_id=meeting.pk,
                                                  description=item["description"] or "",
                                                  owner_id=item["owner_id"] or 0,
                                                  due_on=item["due_on"])  # type: ignore[arg-type]
                            except ValidationFailed as exc:
                                raise ValidationFailed(field_errors={f"items[{i}]": [
                                    m for msgs in exc.field_errors.values() for m in msgs]}) from exc
            except DomainError as exc:
                if isinstance(exc, PermissionRefused):
                    raise
                _place(form, items, exc)
                if meeting is not None and meeting.pk is None:
                    meeting = None
            else:
                messages.success(request, _("Minutes saved."))
                return redirect("meetings:detail", meeting.pk)
    else:
        form = MeetingForm(initial=initial, people=people)
        items = ItemFormSet(prefix="items", form_kwargs={"people": people},
                            initial=[{} for _i in range(ITEM_ROWS if meeting is None else 2)])
    return render(request, "meetings/edit.html", {"form": form, "items": items, "meeting": meeting})


def _place(form: MeetingForm, items: Any, exc: DomainError) -> None:
    item_errors = {k: v for k, v in exc.field_errors.items() if k.startswith("items[")}
    rest = {k: v for k, v in exc.field_errors.items() if not k.startswith("items[")}
    for key, msgs in item_errors.items():
        index = int(key[6:-1])
        if index < len(items.forms):
            for m in msgs:
                items.forms[index].add_error(None, m)
    if rest or not item_errors:
        form_apply_error(form, DomainError(exc.message, field_errors={
            ("chaired_by" if k == "chaired_by_id" else "attendees" if k == "attendee_ids" else k): v
            for k, v in rest.items()}))


@page_view()
def create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not may_write(viewer):
        raise PermissionRefused()
    return _save(request, viewer, None)


@page_view()
def edit(request: HttpRequest, meeting_id: int) -> HttpResponse:
    viewer = _viewer(request)
    meeting = selectors.meeting_get(viewer=viewer, meeting_id=meeting_id)
    if not may_edit(viewer, meeting):
        raise PermissionRefused(_("Only whoever wrote the minutes, or their supervisor, may change them."))
    return _save(request, viewer, meeting)


@page_view()
def detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    viewer = _viewer(request)
    meeting = selectors.meeting_get(viewer=viewer, meeting_id=meeting_id)
    today = timezone.localdate()
    items = list(selectors.item_list(viewer=viewer, meeting=meeting))
    for item in items:
        item.overdue = is_overdue(status=item.status, due_on=item.due_on, today=today)  # type: ignore[attr-defined]
        item.may_update = may_update_item(viewer, item)  # type: ignore[attr-defined]
    guide_form = None
    if may_guide(viewer, meeting):
        guide_form = GuidanceForm(_post(request) if request.method == "POST" else None,
                                  initial={"guidance": meeting.guidance})
        if request.method == "POST" and guide_form.is_valid():
            try:
                services.meeting_guide(actor=viewer, meeting_id=meeting.pk,
                                       guidance=guide_form.cleaned_data["guidance"])
            except PermissionRefused:
                raise
            except DomainError as exc:
                form_apply_error(guide_form, exc)
            else:
                messages.success(request, _("Guidance saved."))
                return redirect("meetings:detail", meeting.pk)
    elif request.method == "POST":
        raise PermissionRefused(_("Only a supervisor over whoever wrote the minutes may add guidance."))
    return render(request, "meetings/detail.html", {
        "meeting": meeting, "items": items, "decisions": decisions_split(meeting.decisions),
        "attendees": meeting.attendees.order_by("full_name"), "may_edit": may_edit(viewer, meeting),
        "done_form": DoneForm(), "guide_form": guide_form})


@page_view()
def item_done(request: HttpRequest, item_id: int) -> HttpResponse:
    viewer = _viewer(request)
    item = selectors.item_get(viewer=viewer, item_id=item_id)
    if request.method != "POST":
        return redirect("meetings:detail", item.meeting_id)
    form = DoneForm(_post(request))
    back = request.POST.get("next", "")
    target = back if back.startswith("/meetings/") else None
    if form.is_valid():
        try:
            if request.POST.get("reopen"):
                services.item_reopen(actor=viewer, item_id=item.pk, reason=form.cleaned_data["note"])
            else:
                services.item_done(actor=viewer, item_id=item.pk, note=form.cleaned_data["note"])
        except PermissionRefused:
            raise
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Action updated."))
    else:
        messages.error(request, _("Say what was done (the execution note)."))
    return redirect(target) if target else redirect("meetings:detail", item.meeting_id)


def _ids_in_scope(viewer: User, ids: set[int]) -> set[int]:
    """Which of `ids` the viewer has in their data scope (one query for a whole page)."""
    from kamguard.org.scopes import scope_q

    if Role.SUPERVISOR not in viewer.roles or not ids:
        return set()
    return set(User.objects.filter(scope_q(viewer, owner_path=""), pk__in=ids).values_list("pk", flat=True))


@page_view()
def my_items(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    team = request.GET.get("team") == "1" and (Role.SUPERVISOR in viewer.roles or Role.AUDITOR in viewer.roles)
    status = request.GET.get("status", "open")
    qs = selectors.my_items(viewer=viewer, status=status if status in ("open", "done", "overdue") else "", team=team)
    page = paginate(request, qs)
    today = timezone.localdate()
    in_scope = _ids_in_scope(viewer, {i.owner_id for i in page.object_list}
                             | {i.meeting.organizer_id for i in page.object_list})
    for item in page.object_list:
        item.overdue = is_overdue(status=item.status, due_on=item.due_on, today=today)
        item.may_update = may_write(viewer) and (
            viewer.pk in (item.owner_id, item.meeting.organizer_id)
            or (Role.SUPERVISOR in viewer.roles and bool({item.owner_id, item.meeting.organizer_id} & in_scope)))
    return render(request, "meetings/items.html", {
        "page": page, "items": page.object_list, "team": team, "status": status, "done_form": DoneForm(),
        "may_see_team": Role.SUPERVISOR in viewer.roles or Role.AUDITOR in viewer.roles})
