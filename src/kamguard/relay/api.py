"""HTTP API of information relay forms: the forms and their steps, the routing configuration, the daily report."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.relay import selectors, services
from kamguard.relay.models import RelayCategory, RelayForm, RoutingRule

router = Router(tags=["Information relay forms"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


# ---------------------------------------------------------------- forms

class FormOut(Schema):
    id: int
    number: str
    provider_id: int
    provider_name: str
    relayed_at: dt.datetime
    category_id: int
    category: str
    content: str
    suggestions: str
    receiver_id: int
    receiver_name: str
    receiver_post: str | None
    customer_id: int | None
    customer_name: str | None
    status: str
    received_at: dt.datetime | None
    handling_opinion: str
    handled_at: dt.datetime | None
    feedback: str
    fed_back_at: dt.datetime | None
    quality: int | None
    receive_due: dt.datetime
    handle_due: dt.datetime
    feedback_due: dt.datetime
    overdue: bool


def _form_out(f: RelayForm) -> FormOut:
    return FormOut(
        id=f.pk, number=f.number, provider_id=f.provider_id, provider_name=str(f.provider), relayed_at=f.relayed_at,
        category_id=f.category_id, category=f.category.name, content=f.content, suggestions=f.suggestions,
        receiver_id=f.receiver_id, receiver_name=str(f.receiver),
        receiver_post=f.receiver_post.name if f.receiver_post else None, customer_id=f.customer_id,
        customer_name=f.customer.name if f.customer else None, status=f.status, received_at=f.received_at,
        handling_opinion=f.handling_opinion, handled_at=f.handled_at, feedback=f.feedback,
        fed_back_at=f.fed_back_at, quality=f.quality, receive_due=f.receive_due, handle_due=f.handle_due,
        feedback_due=f.feedback_due, overdue=selectors.form_is_overdue(f))


class FormFilter(ListParams):
    box: Literal["", "sent", "received"] = ""
    status: Literal["", "open", "sent", "received", "handled", "fed_back"] = ""
    category_id: int | None = None
    customer_id: int | None = None
    overdue: bool = False
    q: str = Field("", max_length=100)


@router.get("/forms", response={200: Page[FormOut], **ERRORS},
            summary="Relay forms the caller may see (box=sent: provided by them, box=received: sent to them)")
def form_list(request: HttpRequest, filters: Query[FormFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.form_list(viewer=viewer, box=filters.box, status=filters.status, category_id=filters.category_id,
                             customer_id=filters.customer_id, overdue_only=filters.overdue, search=filters.q)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-relayed_at", "-pk"),
                       serialize=_form_out)


class FormIn(Schema):
    category_id: int
    content: str = Field(..., min_length=1, max_length=4000)
    suggestions: str = Field("", max_length=2000)
    receiver_id: int | None = Field(None, description="Empty: the category's routing rules choose the receiver")
    customer_id: int | None = None
    relayed_at: dt.datetime | None = Field(None, description="Default: now; at most 30 days ago")


@router.post("/forms", response={201: FormOut, **ERRORS},
             summary="Send a relay form (numbered automatically; routed by category unless a receiver is given)",
             description="422 `no_receiver` when neither a receiver is given nor a routing rule names one.")
def form_send(request: HttpRequest, payload: FormIn) -> Any:
    viewer = api_viewer(request)
    form = services.relay_send(actor=viewer, category_id=payload.category_id, content=payload.content,
                               suggestions=payload.suggestions, receiver_id=payload.receiver_id,
                               customer_id=payload.customer_id, relayed_at=payload.relayed_at)
    return Status(201, _form_out(selectors.form_get(viewer=viewer, form_id=form.pk)))


@router.get("/forms/{int:form_id}", response={200: FormOut, **ERRORS}, summary="One relay form")
def form_get(request: HttpRequest, form_id: int) -> Any:
    return _form_out(selectors.form_get(viewer=api_viewer(request), form_id=form_id))


@router.post("/forms/{int:form_id}/receive", response={200: FormOut, **ERRORS},
             summary="Confirm receipt (the receiver; records the receipt time)")
def form_receive(request: HttpRequest, form_id: int) -> Any:
    viewer = api_viewer(request)
    services.relay_receive(actor=viewer, form_id=form_id)
    return _form_out(selectors.form_get(viewer=viewer, form_id=form_id))


class HandleIn(Schema):
    handling_opinion: str = Field(..., min_length=1, max_length=2000)
    quality: int | None = Field(None, ge=1, le=5, description="The information's quality, 1–5")


@router.post("/forms/{int:form_id}/handle", response={200: FormOut, **ERRORS},
             summary="Record the handling opinion (the receiver)")
def form_handle(request: HttpRequest, form_id: int, payload: HandleIn) -> Any:
    viewer = api_viewer(request)
    services.relay_handle(actor=viewer, form_id=form_id, opinion=payload.handling_opinion, quality=payload.quality)
    return _form_out(selectors.form_get(viewer=viewer, form_id=form_id))


class FeedbackIn(Schema):
    feedback: str = Field(..., min_length=1, max_length=2000)


@router.post("/forms/{int:form_id}/feedback", response={200: FormOut, **ERRORS},
             summary="Feed the result back to the provider (the receiver; closes the form)")
def form_feedback(request: HttpRequest, form_id: int, payload: FeedbackIn) -> Any:
    viewer = api_viewer(request)
    services.relay_feedback(actor=viewer, form_id=form_id, feedback=payload.feedback)
    return _form_out(selectors.form_get(viewer=viewer, form_id=form_id))


# ---------------------------------------------------------------- configuration

class CategoryOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    receive_hours: int
    handle_hours: int
    feedback_hours: int
    is_active: bool


def _category_out(c: RelayCategory) -> CategoryOut:
    return CategoryOut(id=c.pk, code=c.code, name=c.name, name_en=c.name_en, receive_hours=c.receive_hours,
                       handle_hours=c.handle_hours, feedback_hours=c.feedback_hours, is_active=c.is_active)


@router.get("/categories", response={200: list[CategoryOut], **ERRORS}, summary="Categories and their time limits")
def category_list(request: HttpRequest) -> Any:
    api_viewer(request)
    return [_category_out(c) for c in RelayCategory.objects.order_by("code")]


class CategoryIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Field(..., min_length=1, max_length=80)
    name_en: str = Field("", max_length=80)
    receive_hours: int = Field(24, ge=1, le=10000)
    handle_hours: int = Field(72, ge=1, le=10000)
    feedback_hours: int = Field(120, ge=1, le=10000)
    is_active: bool = True


@router.post("/categories", response={201: CategoryOut, **ERRORS}, summary="Add a category (administrators)")
def category_create(request: HttpRequest, payload: CategoryIn) -> Any:
    category = services.category_save(actor=api_viewer(request), **payload.model_dump())
    return Status(201, _category_out(category))


@router.put("/categories/{int:category_id}", response={200: CategoryOut, **ERRORS},
            summary="Change a category and its limits (administrators)")
def category_update(request: HttpRequest, category_id: int, payload: CategoryIn) -> Any:
    return _category_out(services.category_save(actor=api_viewer(request), category_id=category_id,
                                                **payload.model_dump()))


class RuleOut(Schema):
    id: int
    category_id: int
    department_id: int | None
    post_id: int | None
    person_id: int | None
    position: int
    is_active: bool


def _rule_out(r: RoutingRule) -> RuleOut:
    return RuleOut(id=r.pk, category_id=r.category_id, department_id=r.department_id, post_id=r.post_id,
                   person_id=r.person_id, position=r.position, is_active=r.is_active)


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, summary="Routing rules")
def rule_list(request: HttpRequest) -> Any:
    api_viewer(request)
    return [_rule_out(r) for r in selectors.rules_list()]


class RuleIn(Schema):
    category_id: int
    department_id: int | None = Field(None, description="Providers in this department and below; empty: everyone")
    post_id: int | None = Field(None, description="The post whose holder nearest the provider receives")
    person_id: int | None = Field(None, description="Or a named person")
    position: int = Field(0, ge=0, le=32767)
    is_active: bool = True


@router.post("/rules", response={201: RuleOut, **ERRORS}, summary="Add a routing rule (administrators)")
def rule_create(request: HttpRequest, payload: RuleIn) -> Any:
    return Status(201, _rule_out(services.rule_save(actor=api_viewer(request), **payload.model_dump())))


@router.put("/rules/{int:rule_id}", response={200: RuleOut, **ERRORS}, summary="Change a routing rule (administrators)")
def rule_update(request: HttpRequest, rule_id: int, payload: RuleIn) -> Any:
    return _rule_out(services.rule_save(actor=api_viewer(request), rule_id=rule_id, **payload.model_dump()))


@router.delete("/rules/{int:rule_id}", response={204: None, **ERRORS}, summary="Remove a routing rule (administrators)")
def rule_delete(request: HttpRequest, rule_id: int) -> Any:
    services.rule_delete(actor=api_viewer(request), rule_id=rule_id)
    return Status(204, None)


# ---------------------------------------------------------------- daily report

class ReportParams(Schema):
    day: dt.date | None = Field(None, description="Default: today")


@router.get("/report", response={200: dict[str, Any], **ERRORS},
            summary="The daily report: usage, timeliness and quality per provider and per receiver")
def daily_report(request: HttpRequest, params: Query[ReportParams]) -> Any:
    return selectors.daily_report(viewer=api_viewer(request), day=params.day or timezone.localdate())
