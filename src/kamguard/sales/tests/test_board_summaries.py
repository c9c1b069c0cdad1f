"""The board's "won / lost this month" from the closed cells the services keep (`ClosedCell`), and the list
filtered by a stage code: the same answers as reading the opportunities, for every viewer."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from kamguard.core.io.runner import import_run
from kamguard.org.models import User
from kamguard.sales.models import ClosedCell, Opportunity, Outcome, PipelineCell
from kamguard.sales.selectors import OPPORTUNITY_SORTS, board, opportunity_count, opportunity_list
from kamguard.sales.services import opportunity_contract_signed, opportunity_create, opportunity_move
from kamguard.sales.services.pipeline import pipeline_rebuild

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LAST_MONTH = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # its first day


def closed_cells() -> list[tuple[int, dt.date, str, int, Decimal]]:
    return sorted(ClosedCell.objects.exclude(count=0).values_list("owner_id", "month", "outcome", "count", "amount"))


def closed_from_opportunities() -> list[tuple[int, dt.date, str, int, Decimal]]:
    """What the closed cells must hold, summed from the opportunities themselves."""
    sums: dict[tuple[int, dt.date, str], tuple[int, Decimal]] = {}
    for owner_id, outcome, closed_on, amount in Opportunity.objects.filter(
            outcome__in=(Outcome.WON, Outcome.LOST)).values_list("owner_id", "outcome", "closed_on", "amount"):
        key = (owner_id, closed_on.replace(day=1), outcome)
        count, total = sums.get(key, (0, Decimal(0)))
        sums[key] = (count + 1, total + amount)
    return sorted((*key, count, total) for key, (count, total) in sums.items())


def import_file(rows: list[str]) -> bytes:
    header = "external_id,customer,owner,name,stage,amount,currency,created_on,closed_on,lost_reason,competitor\n"
    return (header + "".join(f"{row}\n" for row in rows)).encode()


@pytest.fixture
def external_ids(world, sales):
    User.objects.filter(pk=world.alice.pk).update(external_id="U-ALICE")
    User.objects.filter(pk=world.bob.pk).update(external_id="U-BOB")


def test_closed_cells_follow_every_change(world, sales, visits, external_ids):
    # given alice's open opportunity (the fixture) and nothing closed
    assert closed_cells() == []
    # when bob loses one today, alice's is won by a contract signed last month for its contract's amount,
    # carol wins one today
    bobs = opportunity_create(actor=world.bob, customer_id=sales.acme.pk, name="二期", amount="1000")
    opportunity_move(actor=world.bob, opportunity_id=bobs.pk, stage="lost", lost_reason="budget")
    signed_on = LAST_MONTH + dt.timedelta(days=3)
    opportunity_contract_signed(actor=None, opportunity_id=sales.opp.pk, contract_id=7, signed_on=signed_on,
                                amount=Decimal("450000"))
    carols = opportunity_create(actor=world.carol, customer_id=sales.west.pk, name="西部", amount="2000")
    opportunity_contract_signed(actor=None, opportunity_id=carols.pk, contract_id=8, signed_on=TODAY)
    # then each closing is in its owner's month, with the amount won
    month = TODAY.replace(day=1)
    assert closed_cells() == sorted([(world.bob.pk, month, "lost", 1, Decimal("1000.00")),
                                     (world.alice.pk, LAST_MONTH, "won", 1, Decimal("450000.00")),
                                     (world.carol.pk, month, "won", 1, Decimal("2000.00"))])
    # and a second signature of a won one changes nothing
    opportunity_contract_signed(actor=None, opportunity_id=sales.opp.pk, contract_id=9, signed_on=TODAY)
    assert closed_cells() == closed_from_opportunities()
    # when bob's lost one is reopened, it leaves the closed cells (and is open again)
    opportunity_move(actor=world.bob, opportunity_id=bobs.pk, stage="qualified")
    assert (world.bob.pk, month, "lost", 1, Decimal("1000.00")) not in closed_cells()
    assert closed_cells() == closed_from_opportunities()
    # when an import creates a won one, then moves its closing date and amount, then makes it lost by bob
    past = (TODAY - dt.timedelta(days=70)).isoformat()
    first_close = (TODAY - dt.timedelta(days=1)).isoformat()
    later_close = (TODAY - dt.timedelta(days=40)).isoformat()
    for row in (f"O-1,C-ACME,U-ALICE,年框,won,120000,CNY,{past},{first_close},,",
                f"O-1,C-ACME,U-ALICE,年框,won,150000,CNY,{past},{later_close},,",
                f"O-1,C-ACME,U-BOB,年框,lost,150000,CNY,{past},{later_close},price,华为"):
        report = import_run(actor=world.sam, kind="opportunities", data=import_file([row]), filename="o.csv")
        assert not report.errors, report.errors
        # then the cells follow each step
        assert closed_cells() == closed_from_opportunities()
    imported = Opportunity.objects.get(external_id="O-1")
    assert imported.owner_id == world.bob.pk and imported.outcome == Outcome.LOST
    # and a rebuild from the opportunities finds what the services kept
    incremental = closed_cells()
    pipeline_rebuild()
    assert closed_cells() == incremental


def test_migration_fills_the_closed_cells_of_existing_opportunities(world, sales):
    opportunity_contract_signed(actor=None, opportunity_id=sales.opp.pk, contract_id=7,
                                signed_on=LAST_MONTH + dt.timedelta(days=9))
    expected = closed_from_opportunities()
    assert expected and closed_cells() == expected
    ClosedCell.objects.all().delete()
    migration = importlib.import_module("kamguard.sales.migrations.0005_closed_cells_stage_amount_index")
    migration.rebuild(apps, None)
    assert closed_cells() == expected


def test_rebuild_keeps_the_pipeline_cells_and_counts_them(world, sales):
    before = sorted(PipelineCell.objects.exclude(count=0).values_list("owner_id", "stage_id", "count", "amount"))
    assert pipeline_rebuild() == 1
    assert sorted(PipelineCell.objects.exclude(count=0).values_list("owner_id", "stage_id", "count",
                                                                    "amount")) == before


def test_board_won_and_lost_this_month_per_viewer_and_day(world, sales, visits, external_ids):
    # given closings last month on days 3 (alice won 450,000), 10 (bob lost 1,000), 20 (carol won 2,000) and one
    # the month before (alice won 9,000): last month seen from several days of it
    day = LAST_MONTH
    opportunity_contract_signed(actor=None, opportunity_id=sales.opp.pk, contract_id=7,
                                signed_on=day + dt.timedelta(days=2), amount=Decimal("450000"))
    created = (day - dt.timedelta(days=60)).isoformat()
    rows = [f"O-1,C-BOB,U-BOB,丢单,lost,1000,CNY,{created},{(day + dt.timedelta(days=9)).isoformat()},price,",
            f"O-2,C-ACME,U-ALICE,上上月,won,9000,CNY,{created},{(day - dt.timedelta(days=5)).isoformat()},,"]
    assert not import_run(actor=world.sam, kind="opportunities", data=import_file(rows), filename="o.csv").errors
    carols = opportunity_create(actor=world.carol, customer_id=sales.west.pk, name="西部", amount="2000")
    opportunity_contract_signed(actor=None, opportunity_id=carols.pk, contract_id=8,
                                signed_on=day + dt.timedelta(days=19))
    month_last = (day + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    owners_seen = {"alice": {world.alice.pk}, "bob": {world.bob.pk}, "sam": {world.alice.pk, world.bob.pk},
                   "carol": {world.carol.pk}, "audrey": {world.alice.pk, world.bob.pk, world.carol.pk},
                   "henry": set()}
    closings = list(Opportunity.objects.exclude(outcome=Outcome.OPEN).values_list("owner_id", "outcome",
                                                                                   "closed_on", "amount"))
    assert len(closings) == 4
    for today in (day, day + dt.timedelta(days=2), day + dt.timedelta(days=9), day + dt.timedelta(days=15),
                  month_last):
        for persona, owners in owners_seen.items():
            # when the board is read as of that day
            result = board(viewer=world.person(persona), today=today)
            # then it counts what the persona's owners closed from the first of the month to that day
            for outcome, row in ((Outcome.WON, result.won_this_month), (Outcome.LOST, result.lost_this_month)):
                expected = [amount for owner, out, closed_on, amount in closings if owner in owners
                            and out == outcome and day <= closed_on <= today]
                assert (row.count, row.amount) == (len(expected), sum(expected, Decimal(0))), (persona, today,
                                                                                              outcome)
    # and filtered by person and team, as the page filters it
    assert board(viewer=world.person("sam"), owner_id=world.bob.pk, today=month_last).lost_this_month.count == 1
    assert board(viewer=world.person("sam"), owner_id=world.bob.pk, today=month_last).won_this_month.count == 0
    assert board(viewer=world.person("audrey"), team_id=world.team_cd.pk,
                 today=month_last).won_this_month.amount == Decimal("2000.00")
    assert board(viewer=world.person("sam"), owner_id=world.carol.pk,
                 today=month_last).won_this_month.count == 0  # outside sam's scope


def test_list_by_stage_code_sorted_by_amount_for_every_viewer(world, sales, visits):
    # given proposal-stage opportunities of alice (two with the same amount), bob and carol
    visits.update({sales.acme.pk, sales.west.pk, sales.bobs.pk})

    def proposal(actor, customer, amount):
        opp = opportunity_create(actor=actor, customer_id=customer.pk, name=f"p{amount}", amount=amount)
        return opportunity_move(actor=actor, opportunity_id=opp.pk, stage="proposal")

    a1 = proposal(world.alice, sales.acme, "300")
    a2 = proposal(world.alice, sales.acme, "300")
    b1 = proposal(world.bob, sales.bobs, "500")
    c1 = proposal(world.carol, sales.west, "900")
    expected = {"alice": [a2.pk, a1.pk], "sam": [b1.pk, a2.pk, a1.pk], "carol": [c1.pk],
                "audrey": [c1.pk, b1.pk, a2.pk, a1.pk], "henry": []}
    for persona, ids in expected.items():
        viewer = world.person(persona)
        for large in (None, False, True):
            # when the list is filtered by the stage's code and sorted by amount, largest first
            listed = list(opportunity_list(viewer=viewer, stage="proposal", sort="-amount", large=large)
                          .values_list("pk", flat=True))
            # then the viewer's proposal-stage opportunities, ties newest id first, and nothing else
            assert listed == ids, (persona, large)
            ascending = list(opportunity_list(viewer=viewer, stage="proposal", sort="amount", large=large)
                             .values_list("pk", flat=True))
            assert ascending == sorted(ids, key=lambda pk: (Opportunity.objects.get(pk=pk).amount, pk))
        assert opportunity_count(viewer=viewer, stage="proposal", sort="-amount") == len(ids)
        # and an unknown stage code lists nothing
        assert list(opportunity_list(viewer=viewer, stage="nowhere")) == []
        assert opportunity_count(viewer=viewer, stage="nowhere") == 0
    assert list(opportunity_list(viewer=world.person("alice"), stage="qualified")) == [sales.opp]


def test_every_sort_gives_the_same_order_whatever_the_plan(world, sales, visits):
    # given opportunities with equal and different amounts, names, closing dates (some without) and stages
    visits.update({sales.acme.pk, sales.bobs.pk})
    today = timezone.localdate()
    for n, (amount, close) in enumerate([("300", None), ("300", 5), ("100", 5), ("900", None), ("100", 1)]):
        opp = opportunity_create(actor=world.alice if n % 2 else world.bob,
                                 customer_id=(sales.acme if n % 2 else sales.bobs).pk, name=f"机会{n % 3}",
                                 amount=amount,
                                 expected_close_on=today + dt.timedelta(days=close) if close is not None else None)
        if n % 3 == 0:
            opportunity_move(actor=opp.owner, opportunity_id=opp.pk, stage="qualified")
    for persona in ("alice", "sam", "audrey"):
        viewer = world.person(persona)
        for sort in OPPORTUNITY_SORTS:
            # when the page reads it as a short list (sorted after reading), a long one (through the sort's
            # index) or without saying
            orders = {large: list(opportunity_list(viewer=viewer, sort=sort, large=large).values_list("pk", flat=True))
                      for large in (None, False, True)}
            # then the same rows in the same order
            assert orders[False] == orders[None] == orders[True], (persona, sort)
            assert len(orders[None]) == opportunity_count(viewer=viewer)


def test_list_page_reads_the_visible_customers_once(world, sales, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    for persona, shown in (("sam", True), ("alice", True), ("carol", False), ("audrey", True)):
        client = client_for(world.person(persona))
        # when the list page counts and lists a viewer's opportunities
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("sales:opportunity_list"), {"stage": "qualified", "sort": "-amount"})
        # then it shows what the viewer may see, having read their visible customers once (none for scope "all")
        assert response.status_code == 200
        assert (sales.opp.name in response.content.decode()) is shown, persona
        reads = [q["sql"] for q in captured.captured_queries
                 if q["sql"].startswith('SELECT "customers_customer"."id" AS "pk" FROM "customers_customer"')]
        assert len(reads) == (0 if persona == "audrey" else 1), (persona, reads)
