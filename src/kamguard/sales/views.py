"""Sales pages: the pipeline board (home), opportunities (list, detail with history, credit split, quotes and the
move form; new, edit), quotes (new, detail with the approval status, edit, submit), products, stages, the discount
authority table, forecasts, and the customer page's opportunities fragment.

Thin views: read through the selectors, write through the services, show a service's error in place.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.core.errors import Conflict, DomainError, NotFound, PermissionRefused
from kamguard.core.pages import PAGE_SIZE, form_apply_error, page_view, paginate
from kamguard.customers import selectors as customer_selectors
from kamguard.customers.models import AccountTeamMember, Customer
from kamguard.org.domain.roles import Right, Role
from kamguard.org.models import User
from kamguard.org.scopes import scope_q
from kamguard.sales import selectors
from kamguard.sales.domain import (
    add_months,
    cutoff_day_of,
    forecast_is_open,
    month_end,
    month_start,
    week_start,
)
from kamguard.sales.forms import (
    ROLE_LABELS,
    AuthorityForm,
    ForecastForm,
    MoveForm,
    OpportunityCreateForm,
    OpportunityForm,
    ProductForm,
    QuoteHeadForm,
    QuoteLineFormSet,
    SettingsForm,
    StageForm,
)
from kamguard.sales.models import (
    DiscountAuthority,
    Outcome,
    Product,
    QuoteStatus,
    RequiredStep,
    Stage,
)
from kamguard.sales.services import catalogue, forecasts, opportunities, quotes
from kamguard.sales.services.common import may_configure, may_edit
from kamguard.sales.services.forecasts import may_forecast

CHART_ROW = 26
PEOPLE_ROWS = 50  # the largest pipelines; the filters narrow to a team or a person
CHART_BAR_WIDTH = 420
ZERO = Decimal(0)


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(request: HttpRequest, name: str) -> int | None:
    value = (request.GET.get(name) or "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def _text(params: QueryDict, name: str, limit: int = 100) -> str:
    return (params.get(name) or "").replace("\x00", "").strip()[:limit]


def _can(viewer: User) -> dict[str, bool]:
    return {"configure": may_configure(viewer), "forecast": may_forecast(viewer),
            "edit": viewer.has_right(Right.EDIT_BUSINESS_DATA)}


def _approval_template() -> str:
    """The approvals app's status fragment, when it exists."""
    try:
        get_template("approvals/_status.html")
    except TemplateDoesNotExist:
        return ""
    return "approvals/_status.html"


def bars(rows: list[tuple[str, Decimal, int]], width: int = CHART_BAR_WIDTH) -> dict[str, Any]:
    """Horizontal bars (label, amount, count) for an SVG chart: geometry only, no inline style (the CSP)."""
    most = max((amount for _label, amount, _count in rows), default=ZERO) or Decimal(1)
    result = []
    for index, (label, amount, count) in enumerate(rows):
        length = int(Decimal(width) * amount / most) if amount > 0 else 0
        result.append({"y": index * CHART_ROW, "label": label, "amount": amount, "count": count, "width": length,
                       "end": length + 6})
    return {"bars": result, "height": len(result) * CHART_ROW + 4, "width": 150 + 10 + width + 140}


def _people_choices(viewer: User) -> list[User]:
    return list(User.objects.filter(scope_q(viewer, owner_path=""), is_active=True,
                                    role_assignments__role=Role.MANAGER).distinct().order_by("full_name")[:300])


# ---------------------------------------------------------------- the board

@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    owner_id, team_id = _int(request, "person"), _int(request, "team")
    today = timezone.localdate()
    board = selectors.board(viewer=viewer, owner_id=owner_id, team_id=team_id, today=today)
    stage_rows = [(s.label, board.by_stage[s.pk].amount, board.by_stage[s.pk].count) for s in board.stages]
    person_rows = [(r.label, r.amount, r.count) for r in board.people[:15]]
    start = week_start(today)
    figures = selectors.week_figures(viewer=viewer, start=start, end=today)
    week: list[dict[str, Any]] | None = None
    week_chart = None
    if figures is not None:
        if owner_id:
            figures = {k: v for k, v in figures.items() if k == owner_id}
        names = dict(User.objects.filter(pk__in=list(figures)).values_list("pk", "full_name"))
        teams = dict(User.objects.filter(pk__in=list(figures)).values_list("pk", "team_id"))
        week = sorted(({"name": names.get(uid, str(uid)), "user_id": uid, **f} for uid, f in figures.items()
                       if not team_id or teams.get(uid) == team_id),
                      key=lambda r: (-(r.get("contracts_value") or 0), r["name"]))
        week_chart = bars([(r["name"], Decimal(str(r.get("contracts_value") or 0)), int(r.get("contracts_signed")
                                                                                         or 0)) for r in week[:15]])
    cells = [[(s, r.cells.get(s.pk, (0, ZERO))) for s in board.stages] for r in board.people]
    team_cells = [[(s, r.cells.get(s.pk, (0, ZERO))) for s in board.stages] for r in board.teams]
    return render(request, "sales/home.html", {
        "board": board, "stage_chart": bars(stage_rows),
        "stage_rows": [{"stage": s, "count": board.by_stage[s.pk].count, "amount": board.by_stage[s.pk].amount,
                        "weighted": board.by_stage[s.pk].weighted} for s in board.stages], "person_chart": bars(person_rows),
        "people_rows": list(zip(board.people, cells, strict=True))[:PEOPLE_ROWS],
        "people_more": max(0, len(board.people) - PEOPLE_ROWS),
        "team_rows": list(zip(board.teams, team_cells, strict=True)),
        "week": week, "week_chart": week_chart, "week_start": start, "today": today,
        "teams": selectors.board_teams(viewer=viewer), "people": _people_choices(viewer),
        "owner_id": owner_id, "team_id": team_id, "can": _can(viewer), "tab": "board"})


# ---------------------------------------------------------------- opportunities

SORT_LABELS = [("-created", _("Newest")), ("created", _("Oldest")), ("-amount", _("Largest amount")),
               ("amount", _("Smallest amount")), ("close", _("Closing soonest")), ("stage", _("Stage")),
               ("name", _("Name"))]


@page_view(Right.VIEW_ORG)
def opportunity_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    sort = _text(request.GET, "sort", 20) or "-created"
    if sort not in selectors.OPPORTUNITY_SORTS:
        sort = "-created"
    outcome = _text(request.GET, "outcome", 10)
    if outcome not in Outcome.values:
        outcome = ""
    filters: dict[str, Any] = {"search": _text(request.GET, "q"), "stage": _text(request.GET, "stage", 32), "outcome": outcome,
               "owner_id": _int(request, "person"), "team_id": _int(request, "team"), "sort": sort}
    visible = selectors.opportunity_visible(viewer=viewer)  # read once for the count and the rows
    count = selectors.opportunity_count(viewer=viewer, visible=visible, **filters)
    qs = selectors.opportunity_list(viewer=viewer, large=count > selectors.LARGE_LIST, visible=visible, **filters)
    paginator = Paginator(qs, PAGE_SIZE)
    paginator.__dict__["count"] = min(count, selectors.COUNT_CAP)  # counted once above (the cached property)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "sales/opportunity_list.html", {
        "page": page, "opportunities": page.object_list, "capped": count > selectors.COUNT_CAP, "stages": selectors.stage_list(active_only=False),
        "outcomes": Outcome.choices, "sorts": SORT_LABELS, "sort": sort, "teams": selectors.board_teams(viewer=viewer),
        "people": _people_choices(viewer), "can": _can(viewer), "tab": "list"})


def _customer_choices(viewer: User) -> list[tuple[int, str]]:
    today = timezone.localdate()
    own = Customer.objects.filter(owner=viewer)
    team = Customer.objects.filter(pk__in=AccountTeamMember.objects.filter(user=viewer, end_on__isnull=True).values(
        "customer_id")) | Customer.objects.filter(pk__in=AccountTeamMember.objects.filter(
            user=viewer, end_on__gte=today).values("customer_id"))
    return [(c.pk, c.name) for c in (own | team).distinct().order_by("name")[:500]]


@page_view(Right.EDIT_BUSINESS_DATA)
def opportunity_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    choices = _customer_choices(viewer)
    initial: dict[str, Any] = {"currency": selectors.sales_settings().default_currency, "stage": "lead"}
    customer_id = _int(request, "customer")
    if customer_id:
        initial["customer"] = customer_id
    form = OpportunityCreateForm(request.POST or None, customers=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = opportunities.opportunity_create(
                actor=viewer, customer_id=data["customer"], name=data["name"], stage=data["stage"],
                amount=data["amount"], currency=data["currency"], expected_close_on=data["expected_close_on"],
                probability=data["probability"], competitor=data["competitor"], description=data["description"])
        except (DomainError) as exc:
            if isinstance(exc, NotFound):
                exc.field_errors = {"customer": [str(exc.message)]}
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Opportunity opened."))
            return redirect("sales:opportunity_detail", created.pk)
    return render(request, "sales/form.html", {"form": form, "title": _("New opportunity"),
                                               "cancel_url": reverse("sales:opportunity_list")})


@page_view(Right.VIEW_ORG)
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    opp = selectors.opportunity_get(viewer=viewer, opportunity_id=opportunity_id)
    return render(request, "sales/opportunity_detail.html", _detail_context(viewer, opp))


def _next_stage(opp: Any) -> str | None:
    """The open stage after the current one (what the move form offers first), or None at the last."""
    stage = selectors.stage_list().filter(order__gt=opp.stage.order, outcome=Outcome.OPEN).first()
    return stage.code if stage else None


def _detail_context(viewer: User, opp: Any, move_form: MoveForm | None = None) -> dict[str, Any]:
    editable = may_edit(viewer, opp)
    if move_form is None and editable and opp.outcome != Outcome.WON:
        move_form = MoveForm(current_stage_id=opp.stage_id,
                             initial={"competitor": opp.competitor, "stage": _next_stage(opp)})
    quote_rows = list(selectors.quote_list(viewer=viewer, opportunity_id=opp.pk))
    has_approved = any(q.status == QuoteStatus.APPROVED for q in quote_rows)
    contracts = _contracts_of(viewer, opp)
    return {
        "opp": opp, "history": selectors.stage_history(opportunity=opp),
        "credit": selectors.credit_split_for(opportunity=opp), "quotes": quote_rows,
        "may_edit": editable, "move_form": move_form, "stage_steps": _stage_steps(opp),
        "contracts": contracts, "signed_contract": next((c for c in contracts if c.pk == opp.contract_id), None),
        "may_contract": editable and opp.outcome == Outcome.OPEN and has_approved and viewer.has_right(
            Right.EDIT_BUSINESS_DATA),
        "can": _can(viewer)}


def _contracts_of(viewer: User, opp: Any) -> list[Any]:
    """The contracts drafted from this opportunity that the viewer may see (the contracts app's selector)."""
    try:
        from kamguard.contracts.selectors import contract_list
    except ImportError:  # pragma: no cover - the contracts app is part of the product
        return []
    return list(contract_list(viewer=viewer, opportunity_id=opp.pk)[:20])


def _stage_steps(opp: Any) -> list[dict[str, Any]]:
    """The open stages ahead with the steps they need and whether the opportunity has them (a checklist); a step
    not done yet says where to do it."""
    if opp.outcome != Outcome.OPEN:
        return []
    labels = dict(RequiredStep.choices)
    done = opportunities.steps_done(opp)
    where: dict[str, tuple[str, str]] = {RequiredStep.VISIT: (f"{reverse('activities:visit_create')}?customer={opp.customer_id}",
                                  _("Plan a visit")),
             RequiredStep.APPROVED_QUOTE: (reverse("sales:quote_create", args=[opp.pk]), _("New quote")),
             RequiredStep.AMOUNT: (reverse("sales:opportunity_edit", args=[opp.pk]), _("Give the amount")),
             RequiredStep.CLOSE_DATE: (reverse("sales:opportunity_edit", args=[opp.pk]),
                                       _("Give the expected close date"))}
    rows = []
    for stage in selectors.stage_list().filter(order__gt=opp.stage.order, outcome=Outcome.OPEN):
        needed = opportunities.stage_needs(stage)
        rows.append({"stage": stage, "steps": [
            {"code": code, "label": labels.get(code, code), "done": code in done,
             "url": where.get(code, ("", ""))[0], "action": where.get(code, ("", ""))[1]} for code in needed]})
    return rows


@page_view(Right.EDIT_BUSINESS_DATA)
def opportunity_edit(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    opp = selectors.opportunity_get(viewer=viewer, opportunity_id=opportunity_id)
    initial = {f: getattr(opp, f) for f in opportunities.EDITABLE}
    form = OpportunityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            opportunities.opportunity_update(actor=viewer, opportunity_id=opp.pk, changes=changes)
        except DomainError as exc:
            if exc.status == 403:
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:opportunity_detail", opp.pk)
    return render(request, "sales/form.html", {"form": form, "title": _("Change %(name)s") % {"name": opp.name},
                                               "cancel_url": reverse("sales:opportunity_detail", args=[opp.pk])})


@page_view(Right.EDIT_BUSINESS_DATA)
def opportunity_move(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The move form lives on the opportunity's page: a refused move is shown there, in place, with the
    checklist of the steps still missing and where to do them."""
    viewer = _viewer(request)
    opp = selectors.opportunity_get(viewer=viewer, opportunity_id=opportunity_id)
    if request.method != "POST":
        return redirect(f"{reverse('sales:opportunity_detail', args=[opp.pk])}#move")
    form = MoveForm(request.POST, current_stage_id=opp.stage_id, initial={"competitor": opp.competitor})
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = opportunities.opportunity_move(actor=viewer, opportunity_id=opp.pk, stage=data["stage"],
                                                   note=data["note"], lost_reason=data["lost_reason"],
                                                   lost_note=data["lost_note"], competitor=data["competitor"])
        except DomainError as exc:
            if exc.status == 403:
                raise
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Moved to “%(stage)s”.") % {"stage": moved.stage.label})
            return redirect("sales:opportunity_detail", opp.pk)
    return render(request, "sales/opportunity_detail.html", _detail_context(viewer, opp, move_form=form),
                  status=422)


@page_view(Right.VIEW_ORG)
def customer_opportunities(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The opportunities section of a customer page (a fragment the customer page loads with htmx). A customer
    the viewer may not see is not found, as on the customer page itself."""
    viewer = _viewer(request)
    customer = customer_selectors.customer_get(viewer=viewer, customer_id=customer_id)
    rows = list(selectors.opportunity_list(viewer=viewer, customer_id=customer_id, sort="-created")[:20])
    may_open = opportunities.may_open_for(viewer, customer)
    template = "sales/_customer_opportunities.html" if getattr(request, "htmx", False) else \
        "sales/customer_opportunities.html"
    return render(request, template, {"customer": customer, "opportunities": rows, "may_open": may_open})


# ---------------------------------------------------------------- quotes

def _lines_from(formset: Any) -> list[dict[str, Any]]:
    lines = []
    for form in formset.forms:
        data = form.cleaned_data if form.is_valid() else {}
        if not data or not data.get("product"):
            continue
        lines.append({"product_id": data["product"], "quantity": data.get("quantity"),
                      "discount_pct": data.get("discount_pct"), "description": data.get("description", "")})
    return lines


def _place_line_errors(formset: Any, error: DomainError, head: Any) -> None:
    """Field errors named lines.<n>.<column> go to that row of the form set; the rest to the head form."""
    rest: dict[str, list[str]] = {}
    filled = [f for f in formset.forms if f.is_valid() and f.cleaned_data.get("product")]
    for key, messages_ in error.field_errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(filled):
            column = {"product_id": "product", "unit_price": "discount_pct"}.get(parts[2], parts[2])
            target = filled[int(parts[1])]
            for message in messages_:
                target.add_error(column if column in target.fields else None, message)
        else:
            rest[key] = messages_
    if rest or not error.field_errors:
        form_apply_error(head, type(error)(error.message, code=error.code, field_errors=rest))


@page_view(Right.EDIT_BUSINESS_DATA)
def quote_create(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    opp = selectors.opportunity_get(viewer=viewer, opportunity_id=opportunity_id)
    head = QuoteHeadForm(request.POST or None, prefix="head")
    formset = QuoteLineFormSet(request.POST or None, prefix="lines", initial=[{} for _i in range(3)])
    if request.method == "POST" and head.is_valid() and formset.is_valid():
        try:
            quote = quotes.quote_create(actor=viewer, opportunity_id=opp.pk, lines=_lines_from(formset),
                                        valid_until=head.cleaned_data["valid_until"], note=head.cleaned_data["note"])
        except DomainError as exc:
            if exc.status == 403:
                raise
            _place_line_errors(formset, exc, head)
        else:
            messages.success(request, _("Quote saved as a draft. Submit it when it is ready."))
            return redirect("sales:quote_detail", quote.pk)
    return render(request, "sales/quote_form.html", {
        "opp": opp, "head": head, "formset": formset, "authority": selectors.authority_for(viewer),
        "title": _("New quote for %(name)s") % {"name": opp.name},
        "cancel_url": reverse("sales:opportunity_detail", args=[opp.pk])})


@page_view(Right.VIEW_ORG)
def quote_detail(request: HttpRequest, quote_id: int) -> HttpResponse:
    viewer = _viewer(request)
    quote = selectors.quote_get(viewer=viewer, quote_id=quote_id)
    opp = selectors.opportunity_get(viewer=viewer, opportunity_id=quote.opportunity_id)
    approval = None
    template = _approval_template()
    if quote.approval_request_id or quote.status == QuoteStatus.PENDING:
        from kamguard.approvals.selectors import latest_request_for

        approval = latest_request_for(kind=quotes.QUOTE_KIND, subject_id=quote.pk)
    editable = may_edit(viewer, opp) and quote.status in (QuoteStatus.DRAFT, QuoteStatus.REJECTED)
    return render(request, "sales/quote_detail.html", {
        "quote": quote, "opp": opp, "lines": quote.lines.select_related("product").order_by("position", "pk"),
        "approval": approval, "approval_template": template, "may_edit": editable,
        "may_submit": editable and quote.status == QuoteStatus.DRAFT,
        "authority": selectors.authority_for(viewer) if editable else None})


@page_view(Right.EDIT_BUSINESS_DATA)
def quote_edit(request: HttpRequest, quote_id: int) -> HttpResponse:
    viewer = _viewer(request)
    quote = selectors.quote_get(viewer=viewer, quote_id=quote_id)
    opp = selectors.opportunity_get(viewer=viewer, opportunity_id=quote.opportunity_id)
    initial_lines = [{"product": line.product_id, "quantity": line.quantity, "discount_pct": line.discount_pct,
                      "description": line.description} for line in quote.lines.order_by("position", "pk")]
    head = QuoteHeadForm(request.POST or None, prefix="head",
                         initial={"valid_until": quote.valid_until, "note": quote.note})
    formset = QuoteLineFormSet(request.POST or None, prefix="lines", initial=initial_lines + [{}])
    if request.method == "POST" and head.is_valid() and formset.is_valid():
        try:
            quotes.quote_update(actor=viewer, quote_id=quote.pk, lines=_lines_from(formset),
                                valid_until=head.cleaned_data["valid_until"], note=head.cleaned_data["note"])
        except DomainError as exc:
            if exc.status == 403:
                raise
            _place_line_errors(formset, exc, head)
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:quote_detail", quote.pk)
    return render(request, "sales/quote_form.html", {
        "opp": opp, "head": head, "formset": formset, "authority": selectors.authority_for(viewer),
        "title": _("Change quote %(number)s") % {"number": quote.number},
        "cancel_url": reverse("sales:quote_detail", args=[quote.pk])})


@require_POST
@page_view(Right.EDIT_BUSINESS_DATA)
def quote_submit(request: HttpRequest, quote_id: int) -> HttpResponse:
    viewer = _viewer(request)
    selectors.quote_get(viewer=viewer, quote_id=quote_id)
    try:
        quote = quotes.quote_submit(actor=viewer, quote_id=quote_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
        return redirect("sales:quote_detail", quote_id)
    if quote.status == QuoteStatus.APPROVED:
        messages.success(request, _("Approved: the discount is within your authority."))
    else:
        messages.info(request, _("Sent for approval. The quote is locked until it is decided."))
    return redirect("sales:quote_detail", quote_id)


# ---------------------------------------------------------------- products, stages, discount authority

@page_view(Right.VIEW_ORG)
def product_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    page = paginate(request, selectors.product_list(active_only=not may_configure(viewer),
                                                    search=_text(request.GET, "q")))
    return render(request, "sales/product_list.html", {"page": page, "products": page.object_list,
                                                       "can": _can(viewer), "tab": "products"})


@page_view(Right.VIEW_ORG)
def product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    return _catalogue_edit(request, Product, product_id, ProductForm, fields=catalogue.PRODUCT_FIELDS,
                           defaults={"currency": "CNY", "active": True}, save=catalogue.product_save,
                           id_name="product_id", list_url="sales:product_list",
                           titles=(_("Product"), _("New product")))


def _catalogue_edit(request: HttpRequest, model: Any, object_id: int | None, form_class: Any, *,
                    fields: Any, defaults: dict[str, Any], save: Any, id_name: str, list_url: str,
                    titles: tuple[Any, Any]) -> HttpResponse:
    """The edit page of one catalogue entry (a product, a stage): for those who may configure the catalogue;
    a new one starts from `defaults`; the service `save` checks and records it."""
    viewer = _viewer(request)
    catalogue.require_configure(viewer)
    current = None
    if object_id is not None:
        current = model.objects.filter(pk=object_id).first()
        if current is None:
            raise NotFound()
    initial = {f: getattr(current, f) for f in fields} if current else defaults
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save(actor=viewer, **{id_name: object_id}, **form.cleaned_data)
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(list_url)
    return render(request, "sales/form.html", {"form": form, "title": titles[0] if current else titles[1],
                                               "cancel_url": reverse(list_url)})


@page_view(Right.VIEW_ORG)
def stage_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    labels = dict(RequiredStep.choices)
    stages = [{"stage": s, "steps": [labels.get(c, c) for c in (s.required_steps or [])]}
              for s in selectors.stage_list(active_only=False)]
    return render(request, "sales/stage_list.html", {"stages": stages, "can": _can(viewer), "tab": "stages"})


@page_view(Right.VIEW_ORG)
def stage_edit(request: HttpRequest, stage_id: int | None = None) -> HttpResponse:
    return _catalogue_edit(request, Stage, stage_id, StageForm, fields=catalogue.STAGE_FIELDS,
                           defaults={"outcome": Outcome.OPEN, "is_active": True}, save=catalogue.stage_save,
                           id_name="stage_id", list_url="sales:stage_list", titles=(_("Stage"), _("New stage")))


@page_view(Right.VIEW_ORG)
def authority_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    rows = [{"row": a, "role": ROLE_LABELS.get(a.role, a.role) if a.role else _("Any role")}  # type: ignore[call-overload]
            for a in selectors.authority_list()]
    return render(request, "sales/authority_list.html", {"rows": rows, "mine": selectors.authority_for(viewer),
                                                         "can": _can(viewer), "tab": "authority"})


@page_view(Right.VIEW_ORG)
def authority_edit(request: HttpRequest, authority_id: int | None = None) -> HttpResponse:
    viewer = _viewer(request)
    catalogue.require_configure(viewer)
    row = None
    if authority_id is not None:
        row = DiscountAuthority.objects.filter(pk=authority_id).first()
        if row is None:
            raise NotFound()
    initial = {"role": row.role, "grade": row.grade_id, "max_discount_pct": row.max_discount_pct,
               "note": row.note} if row else {}
    form = AuthorityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            catalogue.authority_save(actor=viewer, authority_id=authority_id, role=data["role"],
                                     grade_id=data["grade"], max_discount_pct=data["max_discount_pct"],
                                     note=data["note"])
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:authority_list")
    return render(request, "sales/form.html", {"form": form, "title": _("Discount authority"),
                                               "cancel_url": reverse("sales:authority_list")})


@require_POST
@page_view(Right.VIEW_ORG)
def authority_delete(request: HttpRequest, authority_id: int) -> HttpResponse:
    catalogue.authority_delete(actor=_viewer(request), authority_id=authority_id)
    messages.success(request, _("Removed."))
    return redirect("sales:authority_list")


# ---------------------------------------------------------------- forecasts

def _month_param(request: HttpRequest, today: dt.date) -> dt.date:
    text = _text(request.GET, "month", 7)
    try:
        return month_start(dt.date.fromisoformat(f"{text}-01")) if text else month_start(today)
    except ValueError:
        return month_start(today)


@page_view(Right.VIEW_ORG)
def forecast_page(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    today = timezone.localdate()
    month = _month_param(request, today)
    settings_row = selectors.sales_settings()
    cutoff = cutoff_day_of(month, settings_row.forecast_cutoff_day)
    is_open = forecast_is_open(month=month, today=today, cutoff_day=settings_row.forecast_cutoff_day)
    mine = selectors.forecast_list(viewer=viewer, month=month, manager_id=viewer.pk).first()
    form = None
    if may_forecast(viewer) and is_open and (mine is None or mine.locked_at is None):
        initial = {"commit_amount": mine.commit_amount, "best_case_amount": mine.best_case_amount,
                   "note": mine.note} if mine else {}
        form = ForecastForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                forecasts.forecast_submit(actor=viewer, month=month, **form.cleaned_data)
            except DomainError as exc:
                if exc.status == 403:
                    raise
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Forecast saved."))
                return redirect(f"{reverse('sales:forecasts')}?month={month:%Y-%m}")
    elif request.method == "POST":
        if not may_forecast(viewer):
            raise PermissionRefused(_("Only key account managers forecast their own months."), code="not_manager")
        raise Conflict(_("The forecast for %(month)s is locked.") % {"month": f"{month:%Y-%m}"}, code="locked")
    pipeline = selectors.pipeline_for_month(manager_id=viewer.pk, month=month, month_end=month_end(month)) \
        if may_forecast(viewer) else None
    rows = list(selectors.forecast_list(viewer=viewer, month=month))
    total_commit = sum((f.commit_amount for f in rows), ZERO)
    total_best = sum((f.best_case_amount for f in rows), ZERO)
    actuals = [f.actual_amount for f in rows if f.actual_amount is not None]
    history = list(selectors.forecast_list(viewer=viewer, manager_id=viewer.pk)[:12]) if may_forecast(viewer) else []
    return render(request, "sales/forecasts.html", {
        "month": month, "previous": add_months(month, -1), "next": add_months(month, 1), "cutoff": cutoff,
        "is_open": is_open, "mine": mine, "form": form, "pipeline": pipeline, "rows": rows,
        "total_commit": total_commit, "total_best": total_best,
        "total_actual": sum(actuals, ZERO) if actuals else None, "history": history,
        "can": _can(viewer), "tab": "forecasts", "settings_row": settings_row})


@page_view(Right.VIEW_ORG)
def settings_edit(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    catalogue.require_configure(viewer)
    row = selectors.sales_settings()
    form = SettingsForm(request.POST or None, initial={"forecast_cutoff_day": row.forecast_cutoff_day,
                                                       "default_currency": row.default_currency})
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.settings_save(actor=viewer, **form.cleaned_data)
        except DomainError as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:forecasts")
    return render(request, "sales/form.html", {"form": form, "title": _("Sales settings"),
                                               "cancel_url": reverse("sales:forecasts")})

