"""The HTTP API: one NinjaAPI under /api/v1/, RFC 9457 problem details, keyset pagination."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import SessionAuth

from kamguard.core.errors import DomainError, PermissionRefused, ValidationFailed

if TYPE_CHECKING:
    from kamguard.org.models import User

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(request: HttpRequest, *, status: int, title: str, detail: str = "", code: str = "",
                     errors: list[dict[str, Any]] | None = None) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"https://kamguard.invalid/problems/{code or status}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.path,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE)


class ProblemDetail(Schema):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str | None = None
    errors: list[dict[str, Any]] | None = None


def _token_auth() -> Any:
    from kamguard.accounts.api_auth import TokenAuth

    return TokenAuth()


api = NinjaAPI(
    title="KAMGuard API",
    version="1.0.0",
    description=(
        "Key account governance: organisation, people, tokens and the audit trail. "
        "Authenticate with a personal access token (`Authorization: Bearer kg_…`) or a browser session. "
        "Errors are RFC 9457 problem details; lists use keyset pagination (`cursor`, `limit`)."
    ),
    urls_namespace="api",
    auth=[_token_auth(), SessionAuth(csrf=True)],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = [{"field": field, "message": str(msg)} for field, msgs in exc.field_errors.items() for msg in msgs]
    if isinstance(exc, PermissionRefused):
        from kamguard.core.pages import refusal_record

        refusal_record(request, exc)
    return problem_response(request, status=exc.status, title=str(exc.message), code=exc.code, errors=errors or None)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", []) if part not in ("body", "payload", "query", "path")]
        message = str(item.get("msg", ""))
        if item.get("type") == "value_error" and message.startswith("Value error, "):
            # A validator's own message (already in the user's language), without pydantic's English prefix.
            message = message.removeprefix("Value error, ")
        errors.append({"field": ".".join(loc), "message": message})
    return problem_response(request, status=422, title=_("Some values are not valid."), code="validation_failed",
                            errors=errors)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem_response(request, status=401, title=_("Sign in or send a valid access token."),
                                code="not_authenticated")
    response["WWW-Authenticate"] = 'Bearer realm="kamguard"'
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, status=404, title=_("Not found, or you do not have access to it."),
                            code="not_found")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(request, status=exc.status_code, title=str(exc), code=str(exc.status_code))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled API error", exc_info=exc)
    return problem_response(request, status=500, title=_("Something went wrong on our side. It has been logged."),
                            code="server_error")


# ---------------------------------------------------------------- keyset pagination

M = TypeVar("M", bound=Model)
S = TypeVar("S")

MAX_PAGE = 200


def api_viewer(request: HttpRequest) -> User:
    """The person behind an API call, refused unless they may see the organisation at all: what every app's
    endpoints start from before asking their selectors what this person may see."""
    from kamguard.org.domain.roles import Right

    user: User = request.user  # type: ignore[assignment]
    if not user.has_right(Right.VIEW_ORG):
        raise PermissionRefused(extra={"right": str(Right.VIEW_ORG)})
    return user


def api_ref(model: type[Model], pk: int | None, field: str, queryset: QuerySet[Any] | None = None) -> Any:
    """The row an input's id names (from `queryset` when given, e.g. one narrowed to the user), None for no id;
    a field error naming the input when there is no such row."""
    if pk is None:
        return None
    found = (queryset if queryset is not None else model._default_manager).filter(pk=pk).first()
    if found is None:
        raise ValidationFailed(field_errors={field: [_("No such record: %(id)s.") % {"id": pk}]})
    return found


class Page(Schema, Generic[S]):
    items: list[S]
    next_cursor: str | None = None


def _encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(field_errors={"cursor": [_("This cursor is not valid; start from the first page.")]}) from exc
    if not isinstance(values, list) or len(values) != size:
        raise ValidationFailed(field_errors={"cursor": [_("This cursor is not valid; start from the first page.")]})
    return values


def keyset_page(queryset: QuerySet[M], *, cursor: str | None, limit: int, order: Sequence[str] = ("pk",),
                serialize: Callable[[M], Any] | None = None) -> dict[str, Any]:
    """One page of `queryset` ordered by `order` (unique overall; a field may start with '-')."""
    if limit < 1 or limit > MAX_PAGE:
        raise ValidationFailed(field_errors={"limit": [_("Between 1 and %(max)s.") % {"max": MAX_PAGE}]})
    queryset = queryset.order_by(*order)
    fields = [name.lstrip("-") for name in order]
    if cursor:
        values = _decode_cursor(cursor, len(fields))
        condition = Q()
        for i, name in enumerate(order):
            field = fields[i]
            lookup = "lt" if name.startswith("-") else "gt"
            step = Q(**{f"{field}__{lookup}": values[i]})
            for j in range(i):
                step &= Q(**{fields[j]: values[j]})
            condition |= step
        queryset = queryset.filter(condition)
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = _encode_cursor([_attr(last, f) for f in fields])
    return {"items": [serialize(r) if serialize else r for r in rows], "next_cursor": next_cursor}


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part)
    value = obj.pk if isinstance(obj, Model) else obj
    return value.isoformat() if hasattr(value, "isoformat") else value

