"""Helpers shared by server-rendered pages: errors into forms, pagination, access."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kamguard.core.audit import audit_record
from kamguard.core.errors import DomainError, NotFound, PermissionRefused
from kamguard.org.domain.roles import Right

PAGE_SIZE = 25


def form_apply_error(form: forms.BaseForm, error: DomainError) -> None:
    """Show a service's error on the form: per field where it names one, otherwise at the top."""
    placed = False
    for field, messages in error.field_errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed or (error.message and not error.field_errors):
        form.add_error(None, str(error.message))


def paginate(request: HttpRequest, queryset: QuerySet[Any] | list[Any], per_page: int = PAGE_SIZE) -> Page:
    paginator = Paginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page"))


def error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "core/error.html", {"status": error.status, "message": error.message}, status=error.status)


def refusal_record(request: HttpRequest, error: PermissionRefused) -> None:
    """Permission refusals are audited, outside the refused action's (rolled back) transaction."""
    user = request.user if request.user.is_authenticated else None
    audit_record(actor=user, action="permission.refused", object_type="request",  # type: ignore[arg-type]
                 object_id=f"{request.method} {request.path}"[:64],
                 reason=f"{error.code}: {error.extra.get('right', '')}".strip(": "))


def page_view(right: Right | None = None) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Sign-in required; optionally a right; domain errors become their status page (never a 500)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if right is not None and not request.user.has_right(right):  # type: ignore[union-attr]
                refusal_record(request, PermissionRefused(extra={"right": str(right)}))
                return error_page(request, PermissionRefused())
            try:
                return view(request, *args, **kwargs)
            except PermissionRefused as exc:
                refusal_record(request, exc)
                return error_page(request, exc)
            except NotFound as exc:
                return error_page(request, exc)
            except DomainError as exc:  # a refusal the view did not show in place: its page, never a 500
                return error_page(request, exc)

        return wrapper

    return decorator
