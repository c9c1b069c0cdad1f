from __future__ import annotations

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
