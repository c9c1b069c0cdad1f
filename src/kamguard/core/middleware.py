from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_noop as N_

from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind a proxy, set KAMGUARD_TRUSTED_PROXY so X-Forwarded-For is believed."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "web"
        token = set_request_meta(
            RequestMeta(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:400], channel=channel)
        )
        try:
            return self.get_response(request)
        finally:
            reset_request_meta(token)


API_PREFIX = "/api/"
STATUS_TITLES = {
    400: N_("The request could not be understood."),
    401: N_("Sign in or send a valid access token."),
    403: N_("You do not have the right to do this."),
    404: N_("Not found, or you do not have access to it."),
    405: N_("This method is not allowed here."),
    413: N_("The request is too large."),
    415: N_("This media type is not supported."),
    429: N_("Too many requests. Wait a while and try again."),
}


class ApiProblemMiddleware:
    """Every error under /api/ is RFC 9457 problem details, including the ones Django or the router answer
    themselves (an unknown path, a method not allowed) before any endpoint runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith(("application/problem+json", "application/json")) or request.path.startswith(
                f"{API_PREFIX}v1/docs"):
            return response
        from django.utils.translation import gettext

        from kamguard.core.api import problem_response

        status = response.status_code
        title = gettext(STATUS_TITLES.get(status, "The request could not be completed."))
        problem = problem_response(request, status=status, title=title, code=str(status))
        if status == 405 and response.has_header("Allow"):
            problem["Allow"] = response["Allow"]
        return problem


def _json_paths(body: bytes, bad: Callable[[object], bool]) -> list[str]:
    """Where in a JSON body the values (and keys) `bad` picks are, as field paths (`name`, `rules.2.name`)."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return []
    found: list[str] = []

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                here = f"{path}.{key}".lstrip(".").replace("\x00", "")
                if bad(key):
                    found.append(here)
                walk(item, here)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}".lstrip("."))
        elif bad(value):
            found.append(path or "body")

    walk(data, "")
    return list(dict.fromkeys(found))


def _has_nul(value: object) -> bool:
    return isinstance(value, str) and "\x00" in value


class NulCharacterMiddleware:
    """NUL characters never reach the services: PostgreSQL refuses them in text (a 500 otherwise), and no
    name, note or search term has a use for one. In the API a query parameter or JSON body with one is a 422
    problem naming the parameter; on pages a query parameter loses it (a pasted search term still works).
    Form fields refuse it themselves (Django's ProhibitNullCharactersValidator); uploaded files are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = [name for name, values in request.GET.lists() if "\x00" in name or any("\x00" in v for v in values)]
        if request.path.startswith(API_PREFIX):
            if not bad and request.content_type == "application/json" and (
                    b"\\u0000" in request.body or b"\x00" in request.body):
                bad = _json_paths(request.body, _has_nul) or ["body"]
            if bad:
                from django.utils.translation import gettext

                from kamguard.core.api import problem_response

                message = gettext("Remove the NUL character (\\u0000): it is not allowed in any value.")
                return problem_response(request, status=422, title=message, code="nul_character",
                                        errors=[{"field": name.replace("\x00", ""), "message": message}
                                                for name in bad])
        elif bad:
            cleaned = request.GET.copy()
            for name in list(cleaned):
                values = [v.replace("\x00", "") for v in cleaned.getlist(name)]
                del cleaned[name]
                cleaned.setlist(name.replace("\x00", ""), values)
            cleaned._mutable = False
            request.GET = cleaned  # type: ignore[assignment]  # a QueryDict made read-only, as Django's own
        return self.get_response(request)


# The largest integer either database stores (a signed 64-bit BIGINT); anything beyond is no id, count or amount.
INT_LIMIT = 2**63 - 1
_LONG_INT = re.compile(rb"\d{19,}")
_INT_TEXT = re.compile(r"[+-]?\d+")


def _too_large(text: str) -> bool:
    return bool(_INT_TEXT.fullmatch(text.strip())) and abs(int(text)) > INT_LIMIT


def _large_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_LIMIT


class NumberRangeMiddleware:
    """Integers beyond what the databases store never reach a query: SQLite raises OverflowError and PostgreSQL
    "out of range" for them (a 500 otherwise). A path with one is not found (no object has such an id); in the API
    such a query parameter or JSON value is a 422 problem naming it, on pages such a query parameter is dropped."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = [name for name, values in request.GET.lists() if any(_too_large(v) for v in values)]
        in_path = any(_too_large(part) for part in request.path.split("/") if part)
        if in_path:  # no object has such an id: not found, in the API (a problem) and on pages alike
            if request.path.startswith(API_PREFIX):
                from django.utils.translation import gettext

                from kamguard.core.api import problem_response

                return problem_response(request, status=404, code="not_found",
                                        title=gettext("Not found, or you do not have access to it."))
            from django.http import Http404

            raise Http404
        if request.path.startswith(API_PREFIX):
            if not bad and request.content_type == "application/json" and _LONG_INT.search(request.body):
                bad = _json_paths(request.body, _large_int)
            if bad:
                from django.utils.translation import gettext

                from kamguard.core.api import problem_response

                message = gettext("This number is too large.")
                return problem_response(request, status=422, title=message, code="number_out_of_range",
                                        errors=[{"field": name, "message": message} for name in bad])
        elif bad:
            cleaned = request.GET.copy()
            for name in bad:
                del cleaned[name]
            cleaned._mutable = False
            request.GET = cleaned  # type: ignore[assignment]
        return self.get_response(request)
