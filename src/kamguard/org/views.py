from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.accounts.selectors import session_list
from kamguard.accounts.services import sessions_end_all
from kamguard.core.errors import Conflict, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.org import selectors, services
from kamguard.org.domain.roles import Right, Role
from kamguard.org.forms import (
    REFERENCE_FORMS,
    ROLE_LABELS,
    DepartmentForm,
    PersonCreateForm,
    PersonForm,
    ReasonForm,
    RoleConflictForm,
    RolesForm,
    TeamForm,
)
from kamguard.org.models import Department, Region, RoleConflict, Team, User

EDITABLE_PERSON_FIELDS = [name for name in PersonForm.base_fields]


def _person_rows(viewer: User, people: Any) -> list[dict[str, Any]]:
    return [
        {
            "person": person,
            "roles": [ROLE_LABELS[Role(a.role)] for a in person.role_assignments.all()],
            "phone": services.pii_display(viewer, person, "phone"),
            "email": services.pii_display(viewer, person, "email"),
        }
        for person in people
    ]


# ---------------------------------------------------------------- people

@page_view(Right.VIEW_ORG)
def user_list(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    status = request.GET.get("status", "active")
    is_active = {"active": True, "inactive": False}.get(status)
    def _int(name: str) -> int | None:
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() else None
    people = selectors.user_list(
        viewer=viewer, search=request.GET.get("q", ""), department_id=_int("department"), team_id=_int("team"),
        role=request.GET.get("role", ""), is_active=is_active, sort=request.GET.get("sort", "username"),
    )
    page = paginate(request, people)
    context = {
        "page": page, "rows": _person_rows(viewer, page.object_list), "total": page.paginator.count,
        "departments": Department.objects.order_by("path"), "teams": Team.objects.order_by("name"),
        "roles": list(ROLE_LABELS.items()), "status": status, "sort": request.GET.get("sort", "username"),
        "can_manage": viewer.has_right(Right.MANAGE_USERS), "can_export": viewer.can_export,
    }
    template = "org/_user_rows.html" if request.htmx else "org/user_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@page_view(Right.VIEW_ORG)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    can_manage = viewer.has_right(Right.MANAGE_USERS)
    context = {
        "person": person,
        "roles": [(a, ROLE_LABELS[Role(a.role)]) for a in person.role_assignments.all()],
        "pii": {f: services.pii_display(viewer, person, f) for f in services.PII_FIELDS},
        "pii_own": services.pii_visible(viewer, person),
        "can_reveal": viewer.has_right(Right.REVEAL_PII),
        "can_manage": can_manage,
        "sessions": session_list(viewer=viewer, user_id=person.pk) if can_manage or viewer == person else [],
        "reports": selectors.user_list(viewer=viewer).filter(supervisor=person, is_active=True),
    }
    return render(request, "org/user_detail.html", context)


@page_view(Right.VIEW_ORG)
@require_POST
def user_reveal(request: HttpRequest, user_id: int, field: str) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    value = services.pii_reveal(actor=viewer, person=person, field=field)
    return render(request, "org/_revealed.html", {"value": value, "field": field})


@page_view(Right.MANAGE_USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    form = PersonCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        roles = data.pop("roles")
        password = data.pop("password") or None
        try:
            person = services.user_create(actor=request.user, roles=roles, password=password,  # type: ignore[arg-type]
                                          **data)
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": person})
            return redirect("org:user_detail", user_id=person.pk)
    return render(request, "org/form.html", {"form": form, "title": _("Add a person")})


@page_view(Right.MANAGE_USERS)
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    initial = {name: getattr(person, name) for name in EDITABLE_PERSON_FIELDS}
    form = PersonForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        for key in ("email", "phone", "wechat", "external_id"):
            if key in changed and changed[key] is None:
                changed[key] = ""
        try:
            services.user_update(actor=viewer, user=person, **changed)
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:user_detail", user_id=person.pk)
    return render(request, "org/form.html", {"form": form, "title": _("Edit %(name)s") % {"name": person}})


@page_view(Right.MANAGE_USERS)
def user_roles(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    form = RolesForm(request.POST or None, initial={"roles": [a.role for a in person.role_assignments.all()]})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_roles(actor=viewer, user=person, roles=form.cleaned_data["roles"],
                                    valid_until=form.cleaned_data["valid_until"], reason=form.cleaned_data["reason"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Roles saved."))
            return redirect("org:user_detail", user_id=person.pk)
    return render(request, "org/form.html", {"form": form, "title": _("Roles of %(name)s") % {"name": person}})


@page_view(Right.MANAGE_USERS)
def user_set_active(request: HttpRequest, user_id: int, active: int) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=viewer, user=person, is_active=bool(active), reason=form.cleaned_data["reason"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Account activated.") if active else _(
                "Account deactivated. Its sessions were ended."))
            return redirect("org:user_detail", user_id=person.pk)
    title = _("Activate %(name)s") if active else _("Deactivate %(name)s")
    return render(request, "org/form.html", {"form": form, "title": title % {"name": person},
                                             "danger": not active})


@page_view(Right.MANAGE_USERS)
@require_POST
def user_end_sessions(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    person = selectors.user_get(viewer=viewer, user_id=user_id)
    ended = sessions_end_all(actor=viewer, user=person, reason=request.POST.get("reason", "ended by administrator"))
    messages.success(request, _("%(count)s sessions ended.") % {"count": ended})
    return redirect("org:user_detail", user_id=person.pk)


# ---------------------------------------------------------------- departments and teams

@page_view(Right.VIEW_ORG)
def department_list(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    return render(request, "org/department_list.html", {
        "tree": selectors.department_tree(viewer=viewer),
        "can_manage": viewer.has_right(Right.MANAGE_ORG),
    })


def _department_form_page(request: HttpRequest, department: Department | None) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    initial = {}
    if department is not None:
        initial = {f: getattr(department, f) for f in ("name", "parent", "region", "head", "external_id")}
    elif request.GET.get("parent", "").isdigit():
        initial = {"parent": request.GET["parent"]}
    form = DepartmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["external_id"] = data["external_id"] or None
        try:
            if department is None:
                services.department_create(actor=viewer, **data)
            else:
                services.department_update(actor=viewer, department=department,
                                           **{k: v for k, v in data.items() if k in form.changed_data})
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:department_list")
    title = _("New department") if department is None else _("Edit %(name)s") % {"name": department}
    return render(request, "org/form.html", {"form": form, "title": title})


@page_view(Right.MANAGE_ORG)
def department_create(request: HttpRequest) -> HttpResponse:
    return _department_form_page(request, None)


@page_view(Right.MANAGE_ORG)
def department_edit(request: HttpRequest, department_id: int) -> HttpResponse:
    department = selectors.department_get(viewer=request.user, department_id=department_id)  # type: ignore[arg-type]
    return _department_form_page(request, department)


def _team_form_page(request: HttpRequest, team: Team | None) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    initial: dict[str, Any] = {}
    if team is not None:
        initial = {f: getattr(team, f) for f in ("name", "department", "leader", "region", "external_id")}
    elif request.GET.get("department", "").isdigit():
        initial = {"department": request.GET["department"]}
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["external_id"] = data["external_id"] or None
        try:
            if team is None:
                services.team_create(actor=viewer, **data)
            else:
                services.team_update(actor=viewer, team=team, **{k: v for k, v in data.items() if k in form.changed_data})
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:department_list")
    title = _("New team") if team is None else _("Edit %(name)s") % {"name": team}
    return render(request, "org/form.html", {"form": form, "title": title})


@page_view(Right.MANAGE_ORG)
def team_create(request: HttpRequest) -> HttpResponse:
    return _team_form_page(request, None)


@page_view(Right.MANAGE_ORG)
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    return _team_form_page(request, selectors.team_get(viewer=request.user, team_id=team_id))  # type: ignore[arg-type]


# ---------------------------------------------------------------- reference lists

@page_view(Right.VIEW_ORG)
def reference_list(request: HttpRequest, kind: str) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    items = selectors.reference_list(kind)
    return render(request, "org/reference_list.html", {
        "kind": kind, "page": paginate(request, items, 50), "can_manage": viewer.has_right(Right.MANAGE_ORG),
    })


@page_view(Right.MANAGE_ORG)
def reference_edit(request: HttpRequest, kind: str, item_id: str | None = None) -> HttpResponse:
    form_class = REFERENCE_FORMS.get(kind)
    if form_class is None:
        return render(request, "core/error.html", {"status": 404}, status=404)
    instance = selectors.reference_list(kind).filter(pk=int(item_id)).first() if item_id else None
    if item_id and instance is None:
        return render(request, "core/error.html", {"status": 404}, status=404)
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            services.reference_save(actor=request.user, kind=kind, instance_id=int(item_id) if item_id else None,  # type: ignore[arg-type]
                                    **{k: form.cleaned_data[k] for k in form.cleaned_data})
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("org:reference_list", kind=kind)
    return render(request, "org/form.html", {"form": form, "title": _("Edit") if instance else _("Add")})


@page_view(Right.VIEW_ORG)
def region_list(request: HttpRequest) -> HttpResponse:
    parent_code = request.GET.get("parent", "")
    term = request.GET.get("q", "")
    parent = Region.objects.filter(code=parent_code).select_related("parent").first() if parent_code else None
    regions = selectors.region_search(term=term, level="" if (term or parent) else "province",
                                      parent_code=parent_code if not term else "", limit=500)
    return render(request, "org/region_list.html", {"regions": regions, "parent": parent, "q": term})


# ---------------------------------------------------------------- segregation of duties

@page_view(Right.VIEW_ORG)
def role_conflict_list(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user  # type: ignore[assignment]
    can_manage = viewer.has_right(Right.MANAGE_ROLE_CONFLICTS)
    form = RoleConflictForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if not can_manage:
            return render(request, "core/error.html", {"status": 403}, status=403)
        assert form is not None
        if form.is_valid():
            try:
                services.role_conflict_add(actor=viewer, **form.cleaned_data)
            except ValidationFailed as exc:
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Incompatible pair declared."))
                return redirect("org:role_conflict_list")
    return render(request, "org/role_conflict_list.html", {
        "conflicts": [(c, ROLE_LABELS[Role(c.role_a)], ROLE_LABELS[Role(c.role_b)])
                      for c in selectors.role_conflict_list()],
        "form": form, "can_manage": can_manage,
    })


@page_view(Right.MANAGE_ROLE_CONFLICTS)
def role_conflict_remove(request: HttpRequest, conflict_id: int) -> HttpResponse:
    conflict = RoleConflict.objects.filter(pk=conflict_id).first()
    if conflict is None:
        return render(request, "core/error.html", {"status": 404}, status=404)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.role_conflict_remove(actor=request.user, conflict_id=conflict.pk,  # type: ignore[arg-type]
                                      reason=form.cleaned_data["reason"])
        messages.success(request, _("Pair removed."))
        return redirect("org:role_conflict_list")
    return render(request, "org/form.html", {"form": form, "title": _("Remove %(pair)s") % {"pair": conflict},
                                             "danger": True})
