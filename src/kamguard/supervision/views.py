"""Supervision pages: the live view of the day (refreshed by htmx every 30 seconds) and the basic-data quality
scores with each item explained."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kamguard.core.pages import page_view
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User
from kamguard.plans.domain.months import month_add, month_end, month_parse, month_start
from kamguard.supervision import selectors
from kamguard.supervision.explain import DIMENSION_LABELS, GRADE_LABELS, item_rows

REFRESH_SECONDS = 30


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _team_param(request: HttpRequest) -> int | None:
    """`?team=` as a team id (0: the people in no team); anything else is no team asked for."""
    raw = request.GET.get("team", "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def live_context(viewer: User, *, team: int | None = None, page: int | str = 1,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """What the live page and its polled panels render: a team's rows, or a department's counts per team."""
    live = selectors.live_view(viewer=viewer, now=now, team=team, page=page)
    log_rows = [{"person": p, "state": (live.logs or {}).get(p.pk, "")} for p in live.people] \
        if live.logs is not None else []
    poll = urlencode({k: v for k, v in (("team", team), ("page", live.checkins_page.number if live.checkins_page
                                                            and live.checkins_page.number > 1 else None))
                      if v is not None})
    return {"live": live, "log_rows": log_rows, "refresh": REFRESH_SECONDS,
            "is_team": viewer.scope >= Scope.TEAM, "team_asked": team is not None, "poll": f"?{poll}" if poll else "", "no_team": selectors.NO_TEAM,
            "limit": selectors.LIVE_LIMIT}


def _live_context(request: HttpRequest) -> dict[str, Any]:
    return live_context(_viewer(request), team=_team_param(request), page=request.GET.get("page", 1))


@page_view(Right.VIEW_ORG)
def live_home(request: HttpRequest) -> HttpResponse:
    return render(request, "supervision/live.html", _live_context(request))


@page_view(Right.VIEW_ORG)
def live_panels(request: HttpRequest) -> HttpResponse:
    """The panels alone, for htmx polling."""
    return render(request, "supervision/_live_panels.html", _live_context(request))


def _period(request: HttpRequest) -> tuple[dt.date, dt.date, dt.date]:
    today = timezone.localdate()
    month = month_parse(request.GET.get("month", "")) or month_start(today)
    if month > month_start(today):
        month = month_start(today)
    end = min(month_end(month), today)
    return month, month, end


@page_view(Right.VIEW_ORG)
def quality_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    month, start, end = _period(request)
    people = list(selectors.field_people(viewer=viewer)[:300])
    scores = selectors.data_quality(viewer=viewer, user_ids=[p.pk for p in people], start=start, end=end)
    rows: list[dict[str, Any]] = []
    for person in people:
        found = scores.get(person.pk)
        if found is None:
            continue
        rows.append({"person": person, "score": found.score, "grade": GRADE_LABELS[found.score.grade],
                     "dimensions": [(DIMENSION_LABELS[d], found.score.dimension_share(d))
                                    for d in DIMENSION_LABELS]})
    rows.sort(key=lambda r: (r["score"].score is None, r["score"].score or 0))
    return render(request, "supervision/quality.html", {
        "rows": rows, "month": month, "start": start, "end": end, "dimensions": list(DIMENSION_LABELS.values()),
        "previous": month_add(month, -1), "next": month_add(month, 1) if month < month_start(timezone.localdate())
        else None})


@page_view(Right.VIEW_ORG)
def quality_person(request: HttpRequest, user_id: int) -> HttpResponse:
    viewer = _viewer(request)
    month, start, end = _period(request)
    found = selectors.person_quality(viewer=viewer, user_id=user_id, start=start, end=end)
    return render(request, "supervision/quality_person.html", {
        "found": found, "person": found.person, "score": found.score, "grade": GRADE_LABELS[found.score.grade],
        "rows": item_rows(found.score.items), "month": month, "start": start, "end": end,
        "previous": month_add(month, -1),
        "next": month_add(month, 1) if month < month_start(timezone.localdate()) else None})
