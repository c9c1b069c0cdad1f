"""Plan services: the author writes while draft or returned; planned visits go through the activities app;
submit needs a complete plan; the supervisor reviews and comments; refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.plans import selectors, services
from kamguard.plans.domain.months import month_end, month_start
from kamguard.plans.models import DailyPlan, MarketingPlan, PlanStatus, PlanVisit


def _today():
    return timezone.localdate()


def _plan_audits():
    return AuditEvent.objects.filter(action__startswith="plans.").count()


def test_create_is_one_plan_per_person_per_month(world, book, draft):
    # given alice's plan for this month
    before = _plan_audits()
    # when she starts another for the same month
    with pytest.raises(Conflict) as exc:
        services.plan_create(actor=world.alice, month=_today())
    # then it is refused and nothing is written
    assert exc.value.code == "plan_exists"
    assert MarketingPlan.objects.filter(user=world.alice).count() == 1
    assert _plan_audits() == before
    # a month later is fine; the month is its first day
    later = services.plan_create(actor=world.alice, month=month_end(_today()) + dt.timedelta(days=3))
    assert later.month == month_start(month_end(_today()) + dt.timedelta(days=3))


def test_auditor_cannot_create(world):
    with pytest.raises(PermissionRefused):
        services.plan_create(actor=world.audrey, month=_today())
    assert not MarketingPlan.objects.exists()


def test_visit_add_creates_the_planned_visit_with_the_plan_reference(world, book, draft):
    # when
    day = month_end(_today())
    item = services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk, planned_on=day,
                                   purpose="年度框架协议")
    # then
    activity = Activity.objects.get(pk=item.activity_id)
    assert activity.plan_ref == f"plans:{item.pk}" and activity.status == "planned"
    assert activity.planned_on == day and activity.user_id == world.alice.pk
    assert AuditEvent.objects.filter(action="plans.visit.add", object_id=str(draft.pk)).exists()


def test_visit_add_bad_input_writes_nothing(world, book, draft):
    day = month_end(_today())
    services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk, planned_on=day)
    visits, activities, audits = PlanVisit.objects.count(), Activity.objects.count(), _plan_audits()
    # a day outside the month
    with pytest.raises(ValidationFailed) as exc:
        services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                                planned_on=month_end(_today()) + dt.timedelta(days=1))
    assert "planned_on" in exc.value.field_errors
    # a customer she cannot see
    with pytest.raises(ValidationFailed) as exc:
        services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.delta.pk, planned_on=day)
    assert "customer" in exc.value.field_errors
    # the same customer twice on a day
    with pytest.raises(Conflict) as exc:
        services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk, planned_on=day)
    assert exc.value.code == "visit_already_planned"
    # a purpose too long
    with pytest.raises(ValidationFailed):
        services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.beta.pk, planned_on=day,
                                purpose="长" * 301)
    assert (PlanVisit.objects.count(), Activity.objects.count(), _plan_audits()) == (visits, activities, audits)


def test_visit_remove_cancels_the_planned_visit(world, book, draft):
    item = services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                                   planned_on=month_end(_today()))
    services.plan_visit_remove(actor=world.alice, item_id=item.pk, reason="客户出差")
    assert not PlanVisit.objects.filter(pk=item.pk).exists()
    activity = Activity.objects.get(pk=item.activity_id)
    assert activity.status == "cancelled" and activity.cancel_reason == "客户出差"


@pytest.mark.parametrize("persona", ["bob", "sam", "audrey", "carol"])
def test_only_the_author_edits(world, book, draft, persona):
    before = (_plan_audits(), PlanVisit.objects.count(), Activity.objects.count())
    actor = world.person(persona)
    with pytest.raises((PermissionRefused, NotFound)):
        services.plan_update(actor=actor, plan_id=draft.pk, goals="改")
    with pytest.raises((PermissionRefused, NotFound)):
        services.plan_visit_add(actor=actor, plan_id=draft.pk, customer_id=book.alpha.pk,
                                planned_on=month_end(_today()))
    with pytest.raises((PermissionRefused, NotFound)):
        services.daily_plan_save(actor=actor, plan_id=draft.pk, day=_today(), content="x")
    with pytest.raises((PermissionRefused, NotFound)):
        services.plan_submit(actor=actor, plan_id=draft.pk)
    draft.refresh_from_db()
    assert draft.goals == "回款 50 万元" and draft.status == PlanStatus.DRAFT
    assert (_plan_audits(), PlanVisit.objects.count(), Activity.objects.count()) == before


def test_daily_plan_save_replace_and_remove(world, draft):
    services.daily_plan_save(actor=world.alice, plan_id=draft.pk, day=_today(), content="拜访申华")
    services.daily_plan_save(actor=world.alice, plan_id=draft.pk, day=_today(), content="拜访东海")
    assert DailyPlan.objects.get(plan=draft).content == "拜访东海"
    services.daily_plan_save(actor=world.alice, plan_id=draft.pk, day=_today(), content="  ")
    assert not DailyPlan.objects.exists()
    with pytest.raises(ValidationFailed):
        services.daily_plan_save(actor=world.alice, plan_id=draft.pk, day=month_end(_today()) + dt.timedelta(days=1),
                                 content="x")


def _submitted(world, book, draft):
    services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk,
                            planned_on=month_end(_today()))
    return services.plan_submit(actor=world.alice, plan_id=draft.pk)


def test_submit_needs_a_complete_plan(world, book):
    plan = services.plan_create(actor=world.alice, month=_today(), goals="目标")
    with pytest.raises(ValidationFailed) as exc:
        services.plan_submit(actor=world.alice, plan_id=plan.pk)
    assert exc.value.code == "plan_incomplete"
    assert set(exc.value.field_errors) == {"analysis", "measures", "visits"}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT and plan.submitted_at is None


def test_submit_review_return_resubmit_approve(world, book, draft):
    # given a submitted plan
    plan = _submitted(world, book, draft)
    assert plan.status == PlanStatus.SUBMITTED
    # it is locked for its author
    with pytest.raises(Conflict):
        services.plan_update(actor=world.alice, plan_id=plan.pk, goals="改")
    # the supervisor must say what to change when returning
    with pytest.raises(ValidationFailed):
        services.plan_review(actor=world.sam, plan_id=plan.pk, approve=False, comment="")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED
    # returned with comments
    services.plan_review(actor=world.sam, plan_id=plan.pk, approve=False, comment="A 类客户拜访次数不足")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.RETURNED and plan.reviewed_by == world.sam
    # the author changes and resubmits; the supervisor approves
    services.plan_update(actor=world.alice, plan_id=plan.pk, measures="每周两次拜访 A 类客户")
    services.plan_submit(actor=world.alice, plan_id=plan.pk)
    services.plan_review(actor=world.sam, plan_id=plan.pk, approve=True, comment="同意")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED and plan.review_comment == "同意"
    assert AuditEvent.objects.filter(action="plans.plan.approve", object_id=str(plan.pk)).exists()
    # a second review is a conflict
    with pytest.raises(Conflict):
        services.plan_review(actor=world.sam, plan_id=plan.pk, approve=False, comment="x")


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "carol", "audrey"])
def test_only_a_supervisor_of_the_person_reviews(world, book, draft, persona):
    plan = _submitted(world, book, draft)
    before = _plan_audits()
    with pytest.raises((PermissionRefused, NotFound)):
        services.plan_review(actor=world.person(persona), plan_id=plan.pk, approve=True, comment="")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED and plan.reviewed_by is None
    assert _plan_audits() == before


def test_result_comment_on_an_approved_plan(world, book, draft):
    plan = _submitted(world, book, draft)
    with pytest.raises(Conflict):
        services.plan_result_comment(actor=world.sam, plan_id=plan.pk, comment="x")
    services.plan_review(actor=world.sam, plan_id=plan.pk, approve=True, comment="")
    with pytest.raises(ValidationFailed):
        services.plan_result_comment(actor=world.sam, plan_id=plan.pk, comment=" ")
    with pytest.raises(PermissionRefused):
        services.plan_result_comment(actor=world.alice, plan_id=plan.pk, comment="自评")
    services.plan_result_comment(actor=world.sam, plan_id=plan.pk, comment="完成率偏低,下月加强")
    plan.refresh_from_db()
    assert plan.result_comment == "完成率偏低,下月加强" and plan.result_comment_by == world.sam


def test_visibility(world, book, draft):
    assert list(selectors.plan_list(viewer=world.alice)) == [draft]
    assert list(selectors.plan_list(viewer=world.bob)) == []
    assert list(selectors.plan_list(viewer=world.sue)) == [draft]  # specialist: her team
    assert list(selectors.plan_list(viewer=world.sam)) == [draft]
    assert list(selectors.plan_list(viewer=world.audrey)) == [draft]
    assert list(selectors.plan_list(viewer=world.carol)) == []
    with pytest.raises(NotFound):
        selectors.plan_get(viewer=world.carol, plan_id=draft.pk)


def test_plan_result_counts_visits_done_and_tier_coverage(world, book, draft):
    from kamguard.activities.services import contact_record, visit_check_in, visit_check_out, visit_plan

    # given two planned visits today; the first checked in and out, the second not; an unplanned visit to beta
    today = _today()
    first = services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.alpha.pk, planned_on=today)
    services.plan_visit_add(actor=world.alice, plan_id=draft.pk, customer_id=book.beta.pk, planned_on=today)
    visit_check_in(actor=world.alice, activity_id=first.activity_id, location_denied=True)
    visit_check_out(actor=world.alice, activity_id=first.activity_id, outcome="签订意向", next_step="报价")
    extra = visit_plan(actor=world.alice, customer_id=book.alpha.pk, planned_on=today)
    visit_check_in(actor=world.alice, activity_id=extra.pk, location_denied=True)
    visit_check_out(actor=world.alice, activity_id=extra.pk, outcome="回访", next_step="跟进")
    contact_record(actor=world.alice, customer_id=book.beta.pk, kind="call", happened_at=timezone.now(),
                   summary="电话沟通")  # a call is not a visit
    # when
    result = selectors.plan_result(viewer=world.sam, plan_id=draft.pk)
    # then
    actual = result.actual
    assert (actual.planned, actual.planned_done, actual.done_total) == (2, 1, 2)
    assert actual.completion_rate == 0.5
    tiers = {t.tier: t for t in actual.tiers}
    from kamguard.customers.models import TierStandard

    standard_a = TierStandard.objects.get(tier="A").visits_per_month
    assert tiers["A"].customers == 1 and tiers["A"].covered == (1 if standard_a <= 2 else 0)
    assert tiers["B"].customers == 1
    assert {row["item"].customer_id: row["carried_out"] for row in result.items} == {book.alpha.pk: True,
                                                                                     book.beta.pk: False}
