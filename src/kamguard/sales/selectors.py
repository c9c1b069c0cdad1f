"""Every read of sales starts from the viewer.

- Opportunities and their quotes: only people who may see the customer (customers.selectors'
  `customer_visibility_q`: the owner's data scope, shares, the account team, pool members); scope "all"
  (auditors, finance, admin) sees everything.
- Products, stages and the discount authority table: every active person.
- Forecasts: the managers in the viewer's data scope (a manager: their own).

Functions (keyword-only, viewer first):
- `opportunity_visibility_q(viewer) -> Q`; `opportunity_visible(*, viewer) -> VisibleCustomers` (read once, `.q()`)
- `opportunity_list(*, viewer, search="", stage="", outcome="", owner_id=None, team_id=None, customer_id=None,
   sort="-created") -> QuerySet[Opportunity]`
- `opportunity_get(*, viewer, opportunity_id) -> Opportunity`
- `stage_history(*, opportunity) -> QuerySet[StageChange]`
- `credit_split_for(*, opportunity) -> list[dict]` — the account team's credit on this opportunity
- `approved_quote(*, opportunity_id) -> Quote | None` — the latest approved quote with its lines (contract)
- `quote_list(*, viewer, opportunity_id) / quote_get(*, viewer, quote_id)`
- `product_list(*, active_only=True, search="")`, `stage_list(*, active_only=True)`
- `authority_for(user) -> Decimal` — the largest discount `user` may give without approval
- `board(*, viewer, owner_id=None, team_id=None) -> Board` — open pipeline by stage, person and team
- `week_figures(*, viewer, start, end) -> dict | None` — contracts signed / payments received (contracts app)
- `forecast_list(*, viewer, month=None, manager_id=None) -> QuerySet[Forecast]`
- `forecast_people(*, viewer) -> QuerySet[User]` — managers whose forecasts the viewer sees
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.customers.models import AccountTeamMember, Customer
from kamguard.customers.selectors import customer_visibility_q
from kamguard.org.domain.roles import Role, Scope
from kamguard.org.models import Team, User
from kamguard.org.scopes import NOTHING, scope_q
from kamguard.sales.domain import AuthorityRow, credit_split, discount_authority
from kamguard.sales.models import (
    ClosedCell,
    DiscountAuthority,
    Forecast,
    Opportunity,
    Outcome,
    PipelineCell,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    SalesSettings,
    Stage,
    StageChange,
)

ZERO = Decimal(0)

OPPORTUNITY_SORTS = {
    "-created": ("-created_on", "-pk"), "created": ("created_on", "pk"),
    "amount": ("amount", "pk"), "-amount": ("-amount", "-pk"),
    "close": ("expected_close_on", "pk"), "-close": ("-expected_close_on", "-pk"),
    "name": ("name", "pk"), "-name": ("-name", "-pk"),
    "stage": ("stage__order", "pk"), "-stage": ("-stage__order", "-pk"),
}


@dataclass(frozen=True)
class VisibleCustomers:
    """The customers whose opportunities a viewer sees, read once (`opportunity_visible`): everything, nothing,
    or their ids — a literal list up to VISIBLE_IDS (index lookups: a subquery with ORs scans the opportunities),
    the subquery beyond."""

    everything: bool = False
    nothing: bool = False
    ids: list[int] | QuerySet[Customer, int] | None = None

    def q(self, field: str = "customer") -> Q:
        if self.nothing:
            return NOTHING
        if self.everything:
            return Q()
        return Q(**{f"{field}__in": self.ids})


def opportunity_visible(*, viewer: User) -> VisibleCustomers:
    """What the viewer sees, for a page that asks twice (the count and the rows) to read it once."""
    if not viewer.is_authenticated or not viewer.is_active or viewer.scope == Scope.NONE:
        return VisibleCustomers(nothing=True)
    if viewer.scope == Scope.ALL:
        return VisibleCustomers(everything=True)
    visible = Customer.objects.filter(customer_visibility_q(viewer)).values_list("pk", flat=True).order_by()
    ids = list(visible[:VISIBLE_IDS + 1])
    return VisibleCustomers(ids=ids if len(ids) <= VISIBLE_IDS else visible)


def opportunity_visibility_q(viewer: User, *, field: str = "customer") -> Q:
    return opportunity_visible(viewer=viewer).q(field)


# Up to this many visible customers, their ids are read first and given as a list.
VISIBLE_IDS = 5000


# Above this many visible rows the list reads the opportunities in the order asked for (through that order's
# index) and tests each against the visible customers, instead of collecting every visible row and sorting it.
LARGE_LIST = 5000


def opportunity_list(*, viewer: User, search: str = "", stage: str = "", outcome: str = "",
                     owner_id: int | None = None, team_id: int | None = None, customer_id: int | None = None,
                     sort: str = "-created", large: bool | None = None,
                     visible: VisibleCustomers | None = None) -> QuerySet[Opportunity]:
    """The opportunities of customers the viewer may see. When the caller knows how many match (the page
    counts them first), it says so, and the plan follows:
    - `large=True` (more than LARGE_LIST): keeps the database from using the customer index for the visibility
      test (`customer_id + 0 IN (…)`), so the first page comes from the sort order's index;
    - `large=False` (at most LARGE_LIST): sorts by an expression no index matches (`COALESCE(x, x)`: the same
      order), so the matching rows are read through the visibility index and sorted — at most LARGE_LIST of
      them, instead of walking the sort order's index past every row the viewer may not see;
    - None (not known: the API, single rows): the database chooses.
    `visible`: what `opportunity_visible(viewer=viewer)` gave for this same viewer, when the caller already read
    it (the page: for the count, then the rows)."""
    qs: QuerySet[Opportunity]
    if visible is None:
        visible = opportunity_visible(viewer=viewer)
    if large:
        qs = Opportunity.objects.alias(customer_unindexed=F("customer_id") + Value(0)).filter(
            visible.q("customer_unindexed"))
    else:
        qs = Opportunity.objects.filter(visible.q())
    qs = qs.select_related("customer", "owner", "stage")
    term = search.strip()
    if term:
        qs = qs.filter(Q(name__icontains=term) | Q(customer__name__icontains=term) | Q(external_id__iexact=term)
                       | Q(competitor__icontains=term))
    if stage:  # by id (read first): `stage_id = …` lets the (stage, amount, id) index give the order
        qs = qs.filter(stage_id__in=list(Stage.objects.filter(code=stage).values_list("pk", flat=True)))
    if outcome:
        qs = qs.filter(outcome=outcome)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(owner__team_id=team_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    order: list[Any] = list(OPPORTUNITY_SORTS.get(sort, OPPORTUNITY_SORTS["-created"]))
    if large is False:
        key = order[0].lstrip("-")
        unindexed = Coalesce(F(key), F(key))
        order[0] = unindexed.desc() if order[0].startswith("-") else unindexed.asc()
    return qs.order_by(*order)


# The list page counts up to this many matching rows ("10,000+" beyond): an exact count of a hundred thousand
# rows costs more than the page itself.
COUNT_CAP = 10_000


def opportunity_count(*, viewer: User, **filters: Any) -> int:
    """How many opportunities match, up to COUNT_CAP + 1 (more than COUNT_CAP: "COUNT_CAP+")."""
    filters.pop("sort", None)
    return opportunity_list(viewer=viewer, **filters).order_by()[:COUNT_CAP + 1].count()


def opportunity_get(*, viewer: User, opportunity_id: int) -> Opportunity:
    found = opportunity_list(viewer=viewer).filter(pk=opportunity_id).select_related(
        "owner__team", "created_by").first()
    if found is None:
        raise NotFound()
    return found


def stage_history(*, opportunity: Opportunity) -> QuerySet[StageChange]:
    return opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by(
        "changed_at", "pk")


def credit_split_for(*, opportunity: Opportunity) -> list[dict[str, Any]]:
    """The credit split: the snapshot taken when it was won, else the customer's current account team."""
    if opportunity.outcome == Outcome.WON and opportunity.credit_split:
        rows = opportunity.credit_split
    else:
        rows = [{"user_id": s.user_id, "share_pct": str(s.share_pct), "amount": str(s.amount), "role": s.role}
                for s in current_credit_split(opportunity)]
    names = dict(User.objects.filter(pk__in=[r["user_id"] for r in rows]).values_list("pk", "full_name"))
    return [{**r, "name": names.get(r["user_id"], ""), "share_pct": Decimal(str(r["share_pct"])),
             "amount": Decimal(str(r["amount"]))} for r in rows]


def current_credit_split(opportunity: Opportunity) -> list[Any]:
    today = timezone.localdate()
    team = [(m.user_id, m.credit_share, m.role) for m in AccountTeamMember.objects.filter(
        customer_id=opportunity.customer_id, start_on__lte=today).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=today)).order_by("pk")]
    return credit_split(owner_id=opportunity.owner_id, amount=opportunity.amount, team=team)


def approved_quote(*, opportunity_id: int) -> Quote | None:
    """The latest approved quote of the opportunity, its lines prefetched (`quote.lines.all()`)."""
    return Quote.objects.filter(opportunity_id=opportunity_id, status=QuoteStatus.APPROVED).prefetch_related(
        Prefetch("lines", queryset=QuoteLine.objects.select_related("product").order_by("position", "pk"))
    ).order_by("-decided_at", "-pk").first()


def quote_list(*, viewer: User, opportunity_id: int | None = None, status: str = "") -> QuerySet[Quote]:
    qs = Quote.objects.filter(opportunity__in=Opportunity.objects.filter(opportunity_visibility_q(viewer)).values(
        "pk")).select_related("opportunity", "opportunity__customer", "created_by")
    if opportunity_id:
        qs = qs.filter(opportunity_id=opportunity_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def quote_get(*, viewer: User, quote_id: int) -> Quote:
    found = quote_list(viewer=viewer).filter(pk=quote_id).prefetch_related("lines__product").first()
    if found is None:
        raise NotFound()
    return found


def product_list(*, active_only: bool = True, search: str = "") -> QuerySet[Product]:
    qs = Product.objects.all()
    if active_only:
        qs = qs.filter(active=True)
    term = search.strip()
    if term:
        qs = qs.filter(Q(code__icontains=term) | Q(name__icontains=term) | Q(name_en__icontains=term))
    return qs.order_by("code")


def stage_list(*, active_only: bool = True) -> QuerySet[Stage]:
    qs = Stage.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("order", "pk")


def sales_settings() -> SalesSettings:
    found, _created = SalesSettings.objects.get_or_create(pk=1)
    return found


def authority_rows() -> list[AuthorityRow]:
    return [AuthorityRow(role=row.role, grade_rank=row.grade.rank if row.grade else None,
                         max_discount_pct=row.max_discount_pct)
            for row in DiscountAuthority.objects.select_related("grade")]


def authority_list() -> QuerySet[DiscountAuthority]:
    return DiscountAuthority.objects.select_related("grade").order_by("role", "grade__rank", "pk")


def authority_for(user: User) -> Decimal:
    if not user.is_active:
        return ZERO
    return discount_authority(authority_rows(), roles=[str(r) for r in user.roles],
                              grade_rank=user.grade.rank if user.grade_id and user.grade else None)


# --- the board ----------------------------------------------------------------------------------------------


@dataclass
class BoardRow:
    key: Any
    label: str
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    cells: dict[int, tuple[int, Decimal]] = field(default_factory=dict)  # stage id -> (count, amount)


@dataclass
class Board:
    stages: list[Stage]
    by_stage: dict[int, BoardRow]
    people: list[BoardRow]
    teams: list[BoardRow]
    total: BoardRow
    won_this_month: BoardRow
    lost_this_month: BoardRow


def _board_owners_q(viewer: User, owner_id: int | None, team_id: int | None) -> Q:
    """The owners whose pipelines the board sums, as `owner_id IN (…)` over their ids (read first: a few hundred
    at most), which the database turns into index lookups; nothing for scope "all" without filters."""
    if viewer.is_authenticated and viewer.is_active and viewer.scope == Scope.ALL and not team_id:
        return Q(owner_id=owner_id) if owner_id else Q()
    people = User.objects.filter(scope_q(viewer, owner_path=""))
    if owner_id:
        people = people.filter(pk=owner_id)
    if team_id:
        people = people.filter(team_id=team_id)
    return Q(owner_id__in=list(people.values_list("pk", flat=True)))


WEIGHTED = ExpressionWrapper(F("amount") * F("probability") / Value(100),
                             output_field=DecimalField(max_digits=20, decimal_places=4))


def board(*, viewer: User, owner_id: int | None = None, team_id: int | None = None,
          today: dt.date | None = None) -> Board:
    """The open pipeline by stage (count, amount, probability-weighted amount), per person and per team, and this
    month's won and lost — for the owners in the viewer's data scope (a manager: their own pipeline; a
    supervisor: their department's; scope "all": everybody's). The open pipeline is read from the summary cells
    the services keep (`PipelineCell`), this month's won and lost from the month's `ClosedCell`s, so the board costs
    the same whatever the number of opportunities."""
    today = today or timezone.localdate()
    stages = [s for s in stage_list(active_only=False) if s.outcome == Outcome.OPEN]
    owners = _board_owners_q(viewer, owner_id, team_id)
    cells = PipelineCell.objects.filter(owners, count__gt=0).values_list(
        "stage_id", "owner_id", "count", "amount", "weighted")
    by_stage = {s.pk: BoardRow(key=s.pk, label=s.label) for s in stages}
    people: dict[int, BoardRow] = {}
    total = BoardRow(key="total", label="")
    for stage_id, person, n, amount, weighted in cells:
        if stage_id not in by_stage:
            continue
        for target in (by_stage[stage_id], people.setdefault(person, BoardRow(key=person, label="")), total):
            target.count += n
            target.amount += amount
            target.weighted += weighted
        count, value = people[person].cells.get(stage_id, (0, ZERO))
        people[person].cells[stage_id] = (count + n, value + amount)
    won, lost = _closed_this_month(owners, today)
    users = {pk: (name or username, team_id, team_name) for pk, name, username, team_id, team_name in
             User.objects.filter(pk__in=list(people)).values_list("pk", "full_name", "username", "team_id",
                                                                  "team__name")}
    teams: dict[int | None, BoardRow] = {}
    for person, person_row in people.items():
        label, team_key, team_name = users.get(person, (str(person), None, None))
        person_row.label = label
        team_row = teams.setdefault(team_key, BoardRow(key=team_key, label=team_name or "—"))
        team_row.count += person_row.count
        team_row.amount += person_row.amount
        team_row.weighted += person_row.weighted
        for stage_id, (count, value) in person_row.cells.items():
            c, v = team_row.cells.get(stage_id, (0, ZERO))
            team_row.cells[stage_id] = (c + count, v + value)
    return Board(stages=stages, by_stage=by_stage,
                 people=sorted(people.values(), key=lambda r: (-r.amount, r.label)),
                 teams=sorted(teams.values(), key=lambda r: (-r.amount, r.label)), total=total,
                 won_this_month=won, lost_this_month=lost)


def _closed_this_month(owners: Q, today: dt.date) -> tuple[BoardRow, BoardRow]:
    """Won and lost from the first of today's month to today: the month's closed cells (kept by the services),
    less what closed after today in the month (none unless `today` is in the past: no closing date is in the
    future; an index range read of those days)."""
    won = BoardRow(key="won", label="")
    lost = BoardRow(key="lost", label="")
    month_first = today.replace(day=1)
    month_last = (month_first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    totals: dict[str, list[Any]] = {Outcome.WON: [0, ZERO], Outcome.LOST: [0, ZERO]}
    for outcome, n, amount in ClosedCell.objects.filter(owners, month=month_first).values("outcome").annotate(
            n=Sum("count"), total=Sum("amount")).values_list("outcome", "n", "total").order_by():
        totals[outcome][0] += n
        totals[outcome][1] += amount
    if today < month_last:
        for outcome, amount in Opportunity.objects.filter(
                owners, closed_on__gt=today, closed_on__lte=month_last,
                outcome__in=(Outcome.WON, Outcome.LOST)).values_list("outcome", "amount").order_by():
            totals[outcome][0] -= 1
            totals[outcome][1] -= amount
    won.count, won.amount = totals[Outcome.WON]
    lost.count, lost.amount = totals[Outcome.LOST]
    return won, lost


def board_teams(*, viewer: User) -> QuerySet[Team]:
    if viewer.scope == Scope.ALL:
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=User.objects.filter(scope_q(viewer, owner_path="")).values("team_id")).order_by(
        "name")


def week_figures(*, viewer: User, start: dt.date, end: dt.date) -> dict[int, dict[str, Any]] | None:
    """Contracts signed and payments received per credited manager (contracts app); None while that app does
    not offer them."""
    try:
        from kamguard.contracts import selectors as contract_selectors
    except ImportError:  # pragma: no cover - the contracts app ships its selectors with its models
        return None
    figures = getattr(contract_selectors, "week_figures", None)
    if figures is None:
        return None
    result: dict[int, dict[str, Any]] = figures(viewer=viewer, start=start, end=end)
    return result


# --- forecasts ----------------------------------------------------------------------------------------------


def forecast_people(*, viewer: User) -> QuerySet[User]:
    qs = User.objects.filter(scope_q(viewer, owner_path=""), is_active=True)
    managers = User.objects.filter(role_assignments__role=Role.MANAGER).values("pk")
    return qs.filter(pk__in=managers).select_related("team").order_by("full_name", "pk")


def forecast_list(*, viewer: User, month: dt.date | None = None, manager_id: int | None = None
                  ) -> QuerySet[Forecast]:
    qs = Forecast.objects.filter(scope_q(viewer, owner_path="manager")).select_related("manager", "manager__team")
    if month:
        qs = qs.filter(month=month.replace(day=1))
    if manager_id:
        qs = qs.filter(manager_id=manager_id)
    return qs.order_by("-month", "manager__full_name", "pk")


def forecast_get(*, viewer: User, forecast_id: int) -> Forecast:
    found = forecast_list(viewer=viewer).filter(pk=forecast_id).first()
    if found is None:
        raise NotFound()
    return found


def pipeline_for_month(*, manager_id: int, month: dt.date, month_end: dt.date) -> dict[str, Decimal]:
    """A manager's open pipeline expected to close in the month (amount and weighted) and what is already won —
    the figures shown beside the forecast form."""
    qs = Opportunity.objects.filter(owner_id=manager_id)
    open_ = qs.filter(outcome=Outcome.OPEN, expected_close_on__gte=month, expected_close_on__lte=month_end).aggregate(
        open_amount=Coalesce(Sum("amount"), Value(ZERO)),
        weighted_amount=Coalesce(Sum(WEIGHTED), Value(ZERO), output_field=DecimalField(max_digits=20, decimal_places=4)))
    won = qs.filter(outcome=Outcome.WON, closed_on__gte=month, closed_on__lte=month_end).aggregate(
        won_amount=Coalesce(Sum("amount"), Value(ZERO)))
    return {"open": open_["open_amount"], "weighted": Decimal(open_["weighted_amount"]).quantize(Decimal("0.01")),
            "won": won["won_amount"]}


def won_by_manager(*, manager_ids: list[int], start: dt.date, end: dt.date) -> dict[int, Decimal]:
    rows = Opportunity.objects.filter(owner_id__in=manager_ids, outcome=Outcome.WON, closed_on__gte=start,
                                      closed_on__lte=end).values("owner_id").annotate(
        total=Sum("amount")).order_by()
    return {row["owner_id"]: row["total"] or ZERO for row in rows}
