"""HTTP API of sales (/api/v1/sales/): stages, opportunities (moves, history, credit split), products, quotes
(submit: within authority approved at once, beyond it an approval request), the discount authority table, the
pipeline board, forecasts and the settings.

Thin: validates, resolves references, calls the same services and selectors as the pages. Errors are RFC 9457
problems with a stable `code` (e.g. `required_step_missing` naming the missing steps in `missing`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.sales import selectors
from kamguard.sales.domain import week_start
from kamguard.sales.models import DiscountAuthority, Forecast, Opportunity, Product, Quote, Stage
from kamguard.sales.services import catalogue, forecasts, opportunities, quotes

router = Router(tags=["Sales pipeline"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}
API_SORTS = {"-created": ("-created_on", "-pk"), "created": ("created_on", "pk"), "amount": ("amount", "pk"),
             "-amount": ("-amount", "-pk")}


# ---------------------------------------------------------------- stages

class StageOut(Schema):
    id: int
    code: str
    name: str
    name_zh: str
    order: int
    probability: int
    outcome: str
    required_steps: list[str]
    is_active: bool


def _stage_out(s: Stage) -> StageOut:
    return StageOut(id=s.pk, code=s.code, name=s.name, name_zh=s.name_zh, order=s.order, probability=s.probability,
                    outcome=s.outcome, required_steps=list(s.required_steps or []), is_active=s.is_active)


class StageIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Field(..., min_length=1, max_length=80)
    name_zh: str = Field(..., min_length=1, max_length=80)
    order: int = Field(..., ge=0, le=999)
    probability: int = Field(..., ge=0, le=100)
    outcome: Literal["open", "won", "lost"] = "open"
    required_steps: list[Literal["visit", "approved_quote", "amount", "close_date"]] = []
    is_active: bool = True


@router.get("/stages", response={200: list[StageOut], **ERRORS}, summary="Pipeline stages, in order")
def stage_list(request: HttpRequest, include_inactive: bool = False) -> Any:
    api_viewer(request)
    return [_stage_out(s) for s in selectors.stage_list(active_only=not include_inactive)]


@router.post("/stages", response={201: StageOut, **ERRORS}, summary="Add a stage (administrators)")
def stage_create(request: HttpRequest, payload: StageIn) -> Any:
    stage = catalogue.stage_save(actor=api_viewer(request), **payload.model_dump())
    return Status(201, _stage_out(stage))


@router.put("/stages/{int:stage_id}", response={200: StageOut, **ERRORS}, summary="Change a stage (administrators)")
def stage_update(request: HttpRequest, stage_id: int, payload: StageIn) -> Any:
    return _stage_out(catalogue.stage_save(actor=api_viewer(request), stage_id=stage_id, **payload.model_dump()))


# ---------------------------------------------------------------- opportunities

class OpportunityOut(Schema):
    id: int
    external_id: str | None
    customer_id: int
    customer_name: str
    owner_id: int
    owner_name: str
    name: str
    stage: str
    stage_name: str
    outcome: str
    amount: Decimal
    currency: str
    expected_close_on: dt.date | None
    probability: int
    competitor: str
    lost_reason: str
    lost_note: str
    description: str
    created_on: dt.date
    closed_on: dt.date | None
    stage_changed_at: dt.datetime
    contract_id: int | None
    may_edit: bool


def _opportunity_out(o: Opportunity, viewer: Any = None) -> OpportunityOut:
    from kamguard.sales.services.common import may_edit

    return OpportunityOut(
        id=o.pk, external_id=o.external_id, customer_id=o.customer_id, customer_name=o.customer.name,
        owner_id=o.owner_id, owner_name=str(o.owner), name=o.name, stage=o.stage.code, stage_name=o.stage.label,
        outcome=o.outcome, amount=o.amount, currency=o.currency, expected_close_on=o.expected_close_on,
        probability=o.probability, competitor=o.competitor, lost_reason=o.lost_reason, lost_note=o.lost_note,
        description=o.description, created_on=o.created_on, closed_on=o.closed_on,
        stage_changed_at=o.stage_changed_at, contract_id=o.contract_id, may_edit=may_edit(viewer, o))


class StageChangeOut(Schema):
    from_stage: str | None
    to_stage: str
    changed_at: dt.datetime
    changed_by_id: int | None
    note: str


class CreditOut(Schema):
    user_id: int
    name: str
    role: str
    share_pct: Decimal
    amount: Decimal


class QuoteBrief(Schema):
    id: int
    number: str
    status: str
    total: Decimal
    max_discount_pct: Decimal


class OpportunityDetail(OpportunityOut):
    history: list[StageChangeOut]
    credit_split: list[CreditOut]
    quotes: list[QuoteBrief]


class OpportunityFilter(Schema):
    search: str = Field("", max_length=200)
    stage: str = Field("", max_length=32)
    outcome: Literal["", "open", "won", "lost"] = ""
    owner_id: int | None = None
    team_id: int | None = None
    customer_id: int | None = None
    sort: Literal["-created", "created", "amount", "-amount"] = "-created"
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


@router.get("/opportunities", response={200: Page[OpportunityOut], **ERRORS},
            summary="Opportunities the caller may see (those of customers they may see)")
def opportunity_list(request: HttpRequest, params: Query[OpportunityFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.opportunity_list(viewer=viewer, search=params.search, stage=params.stage, outcome=params.outcome,
                                    owner_id=params.owner_id, team_id=params.team_id,
                                    customer_id=params.customer_id)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=API_SORTS[params.sort],
                       serialize=lambda o: _opportunity_out(o, viewer))


class OpportunityIn(Schema):
    customer_id: int
    name: str = Field(..., min_length=1, max_length=200)
    stage: str = Field("lead", max_length=32)
    amount: Decimal | None = None
    currency: str = Field("", max_length=3)
    expected_close_on: dt.date | None = None
    probability: int | None = None
    competitor: str = Field("", max_length=120)
    description: str = Field("", max_length=4000)
    external_id: str | None = Field(None, max_length=64)


class OpportunityPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    amount: Decimal | None = None
    currency: str | None = Field(None, max_length=3)
    expected_close_on: dt.date | None = None
    probability: int | None = None
    competitor: str | None = Field(None, max_length=120)
    description: str | None = Field(None, max_length=4000)


class MoveIn(Schema):
    stage: str = Field(..., min_length=1, max_length=32, description="A stage code (lead, qualified, proposal, …)")
    note: str = Field("", max_length=400)
    lost_reason: str = Field("", max_length=16, description="Needed for the lost stage: price, competitor, "
                                                            "product, relationship, budget, timing, no_decision, other")
    lost_note: str = Field("", max_length=2000)
    competitor: str | None = Field(None, max_length=120)
    probability: int | None = None


def _detail(viewer: Any, opportunity_id: int) -> OpportunityDetail:
    o = selectors.opportunity_get(viewer=viewer, opportunity_id=opportunity_id)
    base = _opportunity_out(o, viewer).model_dump()
    history = [StageChangeOut(from_stage=c.from_stage.code if c.from_stage else None, to_stage=c.to_stage.code,
                              changed_at=c.changed_at, changed_by_id=c.changed_by_id, note=c.note)
               for c in selectors.stage_history(opportunity=o)]
    credit = [CreditOut(user_id=r["user_id"], name=r["name"], role=r.get("role", ""), share_pct=r["share_pct"],
                        amount=r["amount"]) for r in selectors.credit_split_for(opportunity=o)]
    quote_rows = [QuoteBrief(id=q.pk, number=q.number, status=q.status, total=q.total,
                             max_discount_pct=q.max_discount_pct)
                  for q in selectors.quote_list(viewer=viewer, opportunity_id=o.pk)]
    return OpportunityDetail(**base, history=history, credit_split=credit, quotes=quote_rows)


@router.post("/opportunities", response={201: OpportunityDetail, **ERRORS},
             summary="Open an opportunity (the customer's owner or account team; the caller owns it)")
def opportunity_create(request: HttpRequest, payload: OpportunityIn) -> Any:
    viewer = api_viewer(request)
    created = opportunities.opportunity_create(actor=viewer, **payload.model_dump())
    return Status(201, _detail(viewer, created.pk))


@router.get("/opportunities/{int:opportunity_id}", response={200: OpportunityDetail, **ERRORS},
            summary="One opportunity with its stage history, credit split and quotes")
def opportunity_get(request: HttpRequest, opportunity_id: int) -> Any:
    return _detail(api_viewer(request), opportunity_id)


@router.patch("/opportunities/{int:opportunity_id}", response={200: OpportunityDetail, **ERRORS},
              summary="Change an open opportunity (its owner)")
def opportunity_update(request: HttpRequest, opportunity_id: int, payload: OpportunityPatch) -> Any:
    viewer = api_viewer(request)
    changes = payload.model_dump(exclude_unset=True)
    opportunities.opportunity_update(actor=viewer, opportunity_id=opportunity_id, changes=changes)
    return _detail(viewer, opportunity_id)


@router.post("/opportunities/{int:opportunity_id}/move", response={200: OpportunityDetail, **ERRORS},
             summary="Move to another stage (required steps enforced; lost needs a reason)")
def opportunity_move(request: HttpRequest, opportunity_id: int, payload: MoveIn) -> Any:
    viewer = api_viewer(request)
    opportunities.opportunity_move(actor=viewer, opportunity_id=opportunity_id, **payload.model_dump())
    return _detail(viewer, opportunity_id)


# ---------------------------------------------------------------- products

class ProductOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    unit: str
    list_price: Decimal
    currency: str
    active: bool


def _product_out(p: Product) -> ProductOut:
    return ProductOut(id=p.pk, code=p.code, name=p.name, name_en=p.name_en, unit=p.unit, list_price=p.list_price,
                      currency=p.currency, active=p.active)


class ProductIn(Schema):
    code: str = Field(..., min_length=1, max_length=40)
    name: str = Field(..., min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    unit: str = Field("", max_length=20)
    list_price: Decimal
    currency: str = Field("", max_length=3)
    active: bool = True


class ProductFilter(Schema):
    search: str = Field("", max_length=200)
    include_inactive: bool = False
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


@router.get("/products", response={200: Page[ProductOut], **ERRORS}, summary="The product catalogue")
def product_list(request: HttpRequest, params: Query[ProductFilter]) -> Any:
    api_viewer(request)
    qs = selectors.product_list(active_only=not params.include_inactive, search=params.search)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("code",), serialize=_product_out)


@router.post("/products", response={201: ProductOut, **ERRORS}, summary="Add a product (administrators)")
def product_create(request: HttpRequest, payload: ProductIn) -> Any:
    return Status(201, _product_out(catalogue.product_save(actor=api_viewer(request), **payload.model_dump())))


@router.put("/products/{int:product_id}", response={200: ProductOut, **ERRORS},
            summary="Change a product or its list price (administrators)")
def product_update(request: HttpRequest, product_id: int, payload: ProductIn) -> Any:
    return _product_out(catalogue.product_save(actor=api_viewer(request), product_id=product_id,
                                               **payload.model_dump()))


# ---------------------------------------------------------------- quotes

class QuoteLineOut(Schema):
    position: int
    product_id: int
    product_code: str
    description: str
    quantity: Decimal
    list_price: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    line_total: Decimal


class QuoteOut(Schema):
    id: int
    opportunity_id: int
    number: str
    status: str
    currency: str
    valid_until: dt.date | None
    note: str
    list_total: Decimal
    total: Decimal
    max_discount_pct: Decimal
    authority_pct: Decimal | None
    approval_request_id: int | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    lines: list[QuoteLineOut]


def _quote_out(q: Quote) -> QuoteOut:
    lines = [QuoteLineOut(position=line.position, product_id=line.product_id, product_code=line.product.code,
                          description=line.description, quantity=line.quantity, list_price=line.list_price,
                          unit_price=line.unit_price, discount_pct=line.discount_pct, line_total=line.line_total)
             for line in q.lines.select_related("product").order_by("position", "pk")]
    return QuoteOut(id=q.pk, opportunity_id=q.opportunity_id, number=q.number, status=q.status, currency=q.currency,
                    valid_until=q.valid_until, note=q.note, list_total=q.list_total, total=q.total,
                    max_discount_pct=q.max_discount_pct, authority_pct=q.authority_pct,
                    approval_request_id=q.approval_request_id, created_at=q.created_at,
                    submitted_at=q.submitted_at, decided_at=q.decided_at, lines=lines)


class QuoteLineIn(Schema):
    product_id: int
    quantity: Decimal
    discount_pct: Decimal | None = Field(None, description="0–100; decides the unit price")
    unit_price: Decimal | None = Field(None, description="Used when no discount is given")
    description: str = Field("", max_length=200)


class QuoteIn(Schema):
    lines: list[QuoteLineIn] = Field(..., max_length=200)
    valid_until: dt.date | None = None
    note: str = Field("", max_length=2000)
    currency: str = Field("", max_length=3)


class QuotePatch(Schema):
    lines: list[QuoteLineIn] | None = Field(None, max_length=200)
    valid_until: dt.date | None = None
    note: str | None = Field(None, max_length=2000)


class QuoteFilter(Schema):
    opportunity_id: int | None = None
    status: Literal["", "draft", "pending", "approved", "rejected"] = ""
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


@router.get("/quotes", response={200: Page[QuoteOut], **ERRORS}, summary="Quotes the caller may see")
def quote_list(request: HttpRequest, params: Query[QuoteFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.quote_list(viewer=viewer, opportunity_id=params.opportunity_id, status=params.status)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-created_at", "-pk"),
                       serialize=_quote_out)


@router.post("/opportunities/{int:opportunity_id}/quotes", response={201: QuoteOut, **ERRORS},
             summary="Make a quote (a draft) for an open opportunity (its owner)")
def quote_create(request: HttpRequest, opportunity_id: int, payload: QuoteIn) -> Any:
    viewer = api_viewer(request)
    quote = quotes.quote_create(actor=viewer, opportunity_id=opportunity_id,
                                lines=[line.model_dump() for line in payload.lines], valid_until=payload.valid_until,
                                note=payload.note, currency=payload.currency)
    return Status(201, _quote_out(selectors.quote_get(viewer=viewer, quote_id=quote.pk)))


@router.get("/quotes/{int:quote_id}", response={200: QuoteOut, **ERRORS}, summary="One quote with its lines")
def quote_get(request: HttpRequest, quote_id: int) -> Any:
    return _quote_out(selectors.quote_get(viewer=api_viewer(request), quote_id=quote_id))


@router.patch("/quotes/{int:quote_id}", response={200: QuoteOut, **ERRORS},
              summary="Change a draft or rejected quote (locked while waiting for approval)")
def quote_update(request: HttpRequest, quote_id: int, payload: QuotePatch) -> Any:
    viewer = api_viewer(request)
    selectors.quote_get(viewer=viewer, quote_id=quote_id)
    data = payload.model_dump(exclude_unset=True)
    quotes.quote_update(actor=viewer, quote_id=quote_id, lines=data.get("lines"),
                        valid_until=data.get("valid_until", ...), note=data.get("note"))
    return _quote_out(selectors.quote_get(viewer=viewer, quote_id=quote_id))


@router.post("/quotes/{int:quote_id}/submit", response={200: QuoteOut, **ERRORS},
             summary="Submit: approved at once within the author's discount authority, else sent for approval")
def quote_submit(request: HttpRequest, quote_id: int) -> Any:
    viewer = api_viewer(request)
    selectors.quote_get(viewer=viewer, quote_id=quote_id)
    quotes.quote_submit(actor=viewer, quote_id=quote_id)
    return _quote_out(selectors.quote_get(viewer=viewer, quote_id=quote_id))


# ---------------------------------------------------------------- discount authority

class AuthorityOut(Schema):
    id: int
    role: str
    grade_id: int | None
    grade_code: str | None
    max_discount_pct: Decimal
    note: str


def _authority_out(a: DiscountAuthority) -> AuthorityOut:
    return AuthorityOut(id=a.pk, role=a.role, grade_id=a.grade_id, grade_code=a.grade.code if a.grade else None,
                        max_discount_pct=a.max_discount_pct, note=a.note)


class AuthorityIn(Schema):
    role: str = Field("", max_length=20, description="A role code; empty: any role")
    grade_id: int | None = Field(None, description="This grade and above; empty: any grade")
    max_discount_pct: Decimal
    note: str = Field("", max_length=200)


class MyAuthorityOut(Schema):
    max_discount_pct: Decimal


@router.get("/discount-authority", response={200: list[AuthorityOut], **ERRORS},
            summary="The discount authority table")
def authority_list(request: HttpRequest) -> Any:
    api_viewer(request)
    return [_authority_out(a) for a in selectors.authority_list()]


@router.get("/discount-authority/me", response={200: MyAuthorityOut, **ERRORS},
            summary="The largest discount the caller may give without approval")
def authority_me(request: HttpRequest) -> Any:
    return MyAuthorityOut(max_discount_pct=selectors.authority_for(api_viewer(request)))


@router.post("/discount-authority", response={201: AuthorityOut, **ERRORS}, summary="Add a row (administrators)")
def authority_create(request: HttpRequest, payload: AuthorityIn) -> Any:
    row = catalogue.authority_save(actor=api_viewer(request), **payload.model_dump())
    return Status(201, _authority_out(DiscountAuthority.objects.select_related("grade").get(pk=row.pk)))


@router.put("/discount-authority/{int:authority_id}", response={200: AuthorityOut, **ERRORS},
            summary="Change a row (administrators)")
def authority_update(request: HttpRequest, authority_id: int, payload: AuthorityIn) -> Any:
    row = catalogue.authority_save(actor=api_viewer(request), authority_id=authority_id, **payload.model_dump())
    return _authority_out(DiscountAuthority.objects.select_related("grade").get(pk=row.pk))


@router.delete("/discount-authority/{int:authority_id}", response={204: None, **ERRORS},
               summary="Remove a row (administrators)")
def authority_delete(request: HttpRequest, authority_id: int) -> Any:
    catalogue.authority_delete(actor=api_viewer(request), authority_id=authority_id)
    return Status(204, None)


# ---------------------------------------------------------------- board

class CellOut(Schema):
    stage: str
    count: int
    amount: Decimal


class BoardRowOut(Schema):
    id: int | None
    name: str
    count: int
    amount: Decimal
    weighted: Decimal
    stages: list[CellOut]


class StageTotalOut(Schema):
    stage: str
    name: str
    count: int
    amount: Decimal
    weighted: Decimal


class WeekOut(Schema):
    user_id: int
    contracts_signed: int
    contracts_value: Decimal
    payments_received: Decimal


class BoardOut(Schema):
    stages: list[StageTotalOut]
    people: list[BoardRowOut]
    teams: list[BoardRowOut]
    open_count: int
    open_amount: Decimal
    weighted_amount: Decimal
    won_this_month_count: int
    won_this_month_amount: Decimal
    lost_this_month_count: int
    week_start: dt.date
    week: list[WeekOut] | None = Field(None, description="Contracts and payments this week; null when unavailable")


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _row_out(row: selectors.BoardRow, stages: list[Stage]) -> BoardRowOut:
    return BoardRowOut(id=row.key, name=row.label, count=row.count, amount=_money(row.amount),
                       weighted=_money(row.weighted),
                       stages=[CellOut(stage=s.code, count=row.cells.get(s.pk, (0, 0))[0],
                                       amount=_money(row.cells.get(s.pk, (0, Decimal(0)))[1])) for s in stages])


@router.get("/board", response={200: BoardOut, **ERRORS},
            summary="The open pipeline by stage, person and team; this month's won and lost; this week's contracts")
def board(request: HttpRequest, owner_id: int | None = None, team_id: int | None = None) -> Any:
    viewer = api_viewer(request)
    today = timezone.localdate()
    data = selectors.board(viewer=viewer, owner_id=owner_id, team_id=team_id, today=today)
    start = week_start(today)
    figures = selectors.week_figures(viewer=viewer, start=start, end=today)
    week = None if figures is None else [
        WeekOut(user_id=uid, contracts_signed=int(f.get("contracts_signed") or 0),
                contracts_value=_money(f.get("contracts_value")), payments_received=_money(f.get("payments_received"))) for uid, f in sorted(figures.items())]
    return BoardOut(
        stages=[StageTotalOut(stage=s.code, name=s.label, count=data.by_stage[s.pk].count,
                              amount=_money(data.by_stage[s.pk].amount), weighted=_money(data.by_stage[s.pk].weighted))
                for s in data.stages],
        people=[_row_out(r, data.stages) for r in data.people], teams=[_row_out(r, data.stages) for r in data.teams],
        open_count=data.total.count, open_amount=_money(data.total.amount), weighted_amount=_money(data.total.weighted),
        won_this_month_count=data.won_this_month.count, won_this_month_amount=_money(data.won_this_month.amount),
        lost_this_month_count=data.lost_this_month.count, week_start=start, week=week)


# ---------------------------------------------------------------- forecasts

class ForecastOut(Schema):
    id: int
    manager_id: int
    manager_name: str
    month: dt.date
    commit_amount: Decimal
    best_case_amount: Decimal
    pipeline_amount: Decimal
    note: str
    submitted_at: dt.datetime
    locked: bool
    actual_amount: Decimal | None
    accuracy_pct: Decimal | None


def _forecast_out(f: Forecast) -> ForecastOut:
    return ForecastOut(id=f.pk, manager_id=f.manager_id, manager_name=str(f.manager), month=f.month,
                       commit_amount=f.commit_amount, best_case_amount=f.best_case_amount,
                       pipeline_amount=f.pipeline_amount, note=f.note, submitted_at=f.submitted_at,
                       locked=f.locked_at is not None, actual_amount=f.actual_amount, accuracy_pct=f.accuracy_pct)


class ForecastFilter(Schema):
    month: dt.date | None = Field(None, description="Any day of the month")
    manager_id: int | None = None
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


class ForecastIn(Schema):
    commit_amount: Decimal
    best_case_amount: Decimal
    note: str = Field("", max_length=2000)


@router.get("/forecasts", response={200: Page[ForecastOut], **ERRORS},
            summary="Forecasts of the managers in the caller's data scope")
def forecast_list(request: HttpRequest, params: Query[ForecastFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.forecast_list(viewer=viewer, month=params.month, manager_id=params.manager_id)
    return keyset_page(qs, cursor=params.cursor, limit=params.limit, order=("-month", "pk"),
                       serialize=_forecast_out)


@router.put("/forecasts/mine/{month}", response={200: ForecastOut, **ERRORS},
            summary="Give or change the caller's forecast for a month (YYYY-MM) until its cut-off")
def forecast_put(request: HttpRequest, month: str, payload: ForecastIn) -> Any:
    viewer = api_viewer(request)
    forecast = forecasts.forecast_submit(actor=viewer, month=month, **payload.model_dump())
    return _forecast_out(selectors.forecast_get(viewer=viewer, forecast_id=forecast.pk))


class SettingsOut(Schema):
    forecast_cutoff_day: int
    default_currency: str


class SettingsIn(Schema):
    forecast_cutoff_day: int = Field(..., ge=1, le=28)
    default_currency: str = Field("CNY", min_length=3, max_length=3)


@router.get("/settings", response={200: SettingsOut, **ERRORS}, summary="Forecast cut-off and default currency")
def settings_get(request: HttpRequest) -> Any:
    api_viewer(request)
    row = selectors.sales_settings()
    return SettingsOut(forecast_cutoff_day=row.forecast_cutoff_day, default_currency=row.default_currency)


@router.put("/settings", response={200: SettingsOut, **ERRORS}, summary="Change the settings (administrators)")
def settings_put(request: HttpRequest, payload: SettingsIn) -> Any:
    row = catalogue.settings_save(actor=api_viewer(request), **payload.model_dump())
    return SettingsOut(forecast_cutoff_day=row.forecast_cutoff_day, default_currency=row.default_currency)

