"""Opportunity services: who may open and change one, required steps (also when a stage is skipped), lost
reasons, the contract signature that wins it, history, timeline, audit, credit split."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import override

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer, TimelineEntry
from kamguard.sales.models import Opportunity, Outcome, Quote, QuoteStatus, StageChange
from kamguard.sales.selectors import approved_quote, credit_split_for, opportunity_list
from kamguard.sales.services import (
    opportunity_contract_signed,
    opportunity_create,
    opportunity_move,
    opportunity_update,
)

pytestmark = pytest.mark.django_db


def _state(opp: Opportunity) -> tuple:
    fresh = Opportunity.objects.get(pk=opp.pk)
    return (fresh.stage_id, fresh.outcome, fresh.amount, fresh.name, fresh.probability, fresh.lost_reason,
            StageChange.objects.filter(opportunity=opp).count(), AuditEvent.objects.count(),
            TimelineEntry.objects.count())


def test_create_records_history_audit_and_timeline(world, sales):
    opp = sales.opp
    assert opp.owner == world.alice and opp.stage.code == "qualified" and opp.outcome == Outcome.OPEN
    assert opp.probability == 25  # the stage's default
    history = list(StageChange.objects.filter(opportunity=opp).values_list("from_stage__code", "to_stage__code"))
    assert history == [(None, "lead"), ("lead", "qualified")]
    assert AuditEvent.objects.filter(action="sales.opportunity.create", object_id=str(opp.pk)).exists()
    kinds = list(TimelineEntry.objects.filter(customer=sales.acme).values_list("kind", flat=True))
    assert "sales.opportunity.created" in kinds and "sales.opportunity.stage" in kinds


def test_account_team_member_may_open_outsider_and_teammate_may_not(world, sales):
    opp = opportunity_create(actor=world.bob, customer_id=sales.acme.pk, name="备件采购")
    assert opp.owner == world.bob
    before = Opportunity.objects.count()
    with pytest.raises(NotFound):
        opportunity_create(actor=world.carol, customer_id=sales.acme.pk, name="x")
    with pytest.raises(PermissionRefused):  # sue sees the team's customers but is not on the account team
        opportunity_create(actor=world.sue, customer_id=sales.acme.pk, name="x")
    with pytest.raises(PermissionRefused):
        opportunity_create(actor=world.audrey, customer_id=sales.acme.pk, name="x")
    assert Opportunity.objects.count() == before


@pytest.mark.parametrize("amount, code", [("-1", "negative_amount"), ("abc", "not_a_number"),
                                          ("NaN", "not_a_number")])
def test_create_bad_amount_refused(world, sales, amount, code):
    before = Opportunity.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        opportunity_create(actor=world.alice, customer_id=sales.acme.pk, name="x", amount=amount)
    assert caught.value.code == code and "amount" in caught.value.field_errors
    assert (Opportunity.objects.count(), AuditEvent.objects.count()) == before


def test_only_owner_edits(world, sales):
    before = _state(sales.opp)
    for person in (world.bob, world.sue, world.sam, world.audrey, world.fiona):
        with pytest.raises(PermissionRefused):
            opportunity_update(actor=person, opportunity_id=sales.opp.pk, changes={"amount": "1"})
        with pytest.raises(PermissionRefused):
            opportunity_move(actor=person, opportunity_id=sales.opp.pk, stage="lost", lost_reason="price")
    with pytest.raises(NotFound):
        opportunity_update(actor=world.carol, opportunity_id=sales.opp.pk, changes={"amount": "1"})
    assert _state(sales.opp) == before
    updated = opportunity_update(actor=world.alice, opportunity_id=sales.opp.pk,
                                 changes={"amount": "650000", "competitor": "西门子"})
    assert updated.amount == Decimal("650000.00") and updated.competitor == "西门子"
    event = AuditEvent.objects.filter(action="sales.opportunity.update").latest("sequence")
    assert event.changes["amount"] == {"before": "500000.00", "after": "650000.00"}


def test_update_refuses_negative_amount_and_unknown_field(world, sales):
    before = _state(sales.opp)
    with pytest.raises(ValidationFailed) as caught:
        opportunity_update(actor=world.alice, opportunity_id=sales.opp.pk, changes={"amount": "-5"})
    assert caught.value.code == "negative_amount"
    with pytest.raises(ValidationFailed):
        opportunity_update(actor=world.alice, opportunity_id=sales.opp.pk, changes={"owner": world.bob.pk})
    with pytest.raises(ValidationFailed):
        opportunity_update(actor=world.alice, opportunity_id=sales.opp.pk, changes={"probability": "101"})
    assert _state(sales.opp) == before


def test_proposal_needs_a_logged_visit(world, sales, visits):
    before = _state(sales.opp)
    with override("en"), pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="proposal")
    assert caught.value.code == "required_step_missing"
    assert caught.value.extra["missing"] == ["visit"]
    assert str(caught.value.message) == "“Proposal” needs a logged visit to the customer first."
    with override("zh-hans"), pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="proposal")
    assert str(caught.value.message) == "进入“方案报价”前需要先有：已登记的客户拜访。"
    assert _state(sales.opp) == before
    visits.add(sales.acme.pk)
    moved = opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="proposal", note="方案已提交")
    assert moved.stage.code == "proposal" and moved.probability == 50


def test_skipping_stages_still_needs_their_steps(world, sales, visits):
    """lead → negotiation skips proposal: it needs proposal's visit and negotiation's approved quote."""
    opp = opportunity_create(actor=world.alice, customer_id=sales.acme.pk, name="跳级")
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=opp.pk, stage="negotiation")
    assert caught.value.extra["missing"] == ["visit", "approved_quote"]
    visits.add(sales.acme.pk)
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=opp.pk, stage="negotiation")
    assert caught.value.extra["missing"] == ["approved_quote"]
    with pytest.raises(ValidationFailed) as caught:  # winning by hand also needs every step before it
        opportunity_move(actor=world.alice, opportunity_id=opp.pk, stage="won")
    assert caught.value.extra["missing"] == ["approved_quote"]
    Quote.objects.create(opportunity=opp, number="Q-T-1", status=QuoteStatus.APPROVED, decided_at=timezone.now())
    moved = opportunity_move(actor=world.alice, opportunity_id=opp.pk, stage="negotiation")
    assert moved.stage.code == "negotiation"
    assert approved_quote(opportunity_id=opp.pk).number == "Q-T-1"


def test_lost_needs_a_reason_and_competitor(world, sales):
    before = _state(sales.opp)
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="lost")
    assert caught.value.code == "lost_reason_required"
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="lost", lost_reason="nonsense")
    assert caught.value.code == "unknown_lost_reason"
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="lost", lost_reason="competitor")
    assert caught.value.code == "competitor_required"
    assert _state(sales.opp) == before
    lost = opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="lost", lost_reason="competitor",
                            competitor="华为", lost_note="对方价格低 15%")
    assert lost.outcome == Outcome.LOST and lost.closed_on == timezone.localdate() and lost.probability == 0
    entry = TimelineEntry.objects.filter(customer=sales.acme, kind="sales.opportunity.lost").get()
    assert entry.data["competitor"] == "华为"
    # reopened: back into an open stage, the lost reason cleared
    reopened = opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="qualified")
    assert reopened.outcome == Outcome.OPEN and reopened.lost_reason == "" and reopened.closed_on is None


def test_same_stage_and_unknown_stage_refused(world, sales):
    before = _state(sales.opp)
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="qualified")
    assert caught.value.code == "same_stage"
    with pytest.raises(ValidationFailed) as caught:
        opportunity_move(actor=world.alice, opportunity_id=sales.opp.pk, stage="nowhere")
    assert caught.value.code == "unknown_stage"
    assert _state(sales.opp) == before


def test_contract_signed_wins_idempotently_with_credit_split(world, sales):
    signed_on = timezone.localdate() - dt.timedelta(days=1)
    won = opportunity_contract_signed(actor=world.alice, opportunity_id=sales.opp.pk, contract_id=77,
                                      signed_on=signed_on)
    assert won.outcome == Outcome.WON and won.contract_id == 77 and won.closed_on == signed_on
    assert won.probability == 100
    split = {row["user_id"]: row for row in credit_split_for(opportunity=won)}
    assert split[world.alice.pk]["share_pct"] == Decimal("70") and split[world.bob.pk]["amount"] == Decimal("150000")
    state = _state(won)
    again = opportunity_contract_signed(actor=world.alice, opportunity_id=sales.opp.pk, contract_id=78,
                                        signed_on=signed_on)
    assert again.contract_id == 77 and _state(won) == state
    assert TimelineEntry.objects.filter(customer=sales.acme, kind="sales.opportunity.won").count() == 1
    assert Customer.objects.get(pk=sales.acme.pk).last_won_at is not None
    with pytest.raises(Conflict):
        opportunity_move(actor=world.alice, opportunity_id=won.pk, stage="lost", lost_reason="price")
    with pytest.raises(NotFound):
        opportunity_contract_signed(actor=None, opportunity_id=999999, contract_id=1, signed_on=signed_on)


def test_visibility_follows_the_customer(world, sales):
    def visible(person):
        return set(opportunity_list(viewer=person).values_list("pk", flat=True))

    ids = {sales.opp.pk}
    assert visible(world.alice) == ids
    assert visible(world.bob) == ids  # on the account team
    assert visible(world.sue) == ids  # specialist: the team's customers
    assert visible(world.sam) == ids  # supervisor of the department
    assert visible(world.audrey) == ids and visible(world.fiona) == ids
    assert visible(world.carol) == set() and visible(world.henry) == set()


def test_pipeline_cells_follow_every_change(world, sales, visits):
    from kamguard.sales.models import PipelineCell
    from kamguard.sales.services.pipeline import pipeline_rebuild

    def cells():
        return sorted(PipelineCell.objects.filter(count__gt=0).values_list("owner_id", "stage__code", "count",
                                                                           "amount"))

    assert cells() == [(world.alice.pk, "qualified", 1, Decimal("500000.00"))]
    opportunity_update(actor=world.alice, opportunity_id=sales.opp.pk, changes={"amount": "600000"})
    second = opportunity_create(actor=world.bob, customer_id=sales.acme.pk, name="二期", amount="1000")
    assert cells() == [(world.alice.pk, "qualified", 1, Decimal("600000.00")),
                       (world.bob.pk, "lead", 1, Decimal("1000.00"))]
    opportunity_move(actor=world.bob, opportunity_id=second.pk, stage="lost", lost_reason="budget")
    opportunity_contract_signed(actor=None, opportunity_id=sales.opp.pk, contract_id=5,
                                signed_on=timezone.localdate())
    assert cells() == []
    opportunity_move(actor=world.bob, opportunity_id=second.pk, stage="qualified")  # reopened
    incremental = cells()
    assert incremental == [(world.bob.pk, "qualified", 1, Decimal("1000.00"))]
    pipeline_rebuild()
    assert cells() == incremental
