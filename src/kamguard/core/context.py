"""Who is acting, from where: set once per request, read by the audit writer."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""
    channel: str = "system"  # web, api, cli, task, system


_current: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("kamguard_request_meta", default=RequestMeta())


def current_request_meta() -> RequestMeta:
    return _current.get()


def set_request_meta(meta: RequestMeta) -> contextvars.Token[RequestMeta]:
    return _current.set(meta)


def reset_request_meta(token: contextvars.Token[RequestMeta]) -> None:
    _current.reset(token)
