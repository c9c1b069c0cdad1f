"""Relay forms: numbering, routing, the steps and their refusals, overdue flags and the contract selectors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.models import AuditEvent
from kamguard.customers.models import TimelineEntry
from kamguard.relay import selectors, services
from kamguard.relay.domain.timing import StepTimes, form_on_time, number_format
from kamguard.relay.models import RelayCounter, RelayForm, RelayStatus, RoutingRule


def send(world, desk, **kw):
    args = {"actor": world.person("alice"), "category_id": desk.demand.pk, "content": "客户计划下月扩产，需要报价"}
    args.update(kw)
    return services.relay_send(**args)


def test_numbers_are_per_year_sequential_and_formatted(world, desk):
    first = send(world, desk)
    second = send(world, desk)
    year = timezone.localdate().year
    assert first.number == f"XC-{year}-000001"
    assert second.number == f"XC-{year}-000002"
    assert RelayCounter.objects.get(year=year).last == 2
    assert number_format("XC", 2026, 1234567) == "XC-2026-1234567"


def test_a_refused_send_uses_no_number(world, desk):
    send(world, desk)
    with pytest.raises(ValidationFailed):
        send(world, desk, content="   ")
    assert send(world, desk).sequence == 2


def test_routing_by_post_picks_the_holder_nearest_the_provider(world, desk):
    form = send(world, desk)
    assert form.receiver_id == world.sue.pk  # same team, not wes in the West
    assert form.receiver_post_id == desk.post.pk and form.routed_by_id == desk.rule.pk
    from_carol = send(world, desk, actor=world.person("carol"))
    assert from_carol.receiver_id == desk.wes.pk


def test_a_department_rule_beats_the_company_rule(world, desk):
    RoutingRule.objects.create(category=desk.demand, department=world.east, person=world.henry)
    assert send(world, desk).receiver_id == world.henry.pk
    assert send(world, desk, actor=world.person("carol")).receiver_id == desk.wes.pk


def test_a_form_sent_to_nobody_is_refused_and_nothing_is_written(world, desk):
    with pytest.raises(ValidationFailed) as caught:
        send(world, desk, category_id=desk.other.pk)
    assert caught.value.code == "no_receiver"
    assert "其他" in str(caught.value.message) or "Other" in str(caught.value.message)
    assert not RelayForm.objects.exists()
    assert not AuditEvent.objects.filter(action="relay.form.send").exists()
    assert not RelayCounter.objects.exists()


def test_an_explicit_receiver_is_used_when_no_rule_applies(world, desk):
    form = send(world, desk, category_id=desk.other.pk, receiver_id=world.bob.pk)
    assert form.receiver_id == world.bob.pk and form.routed_by_id is None


@pytest.mark.parametrize(("change", "field"), [
    ({"content": ""}, "content"), ({"category_id": None}, "category"), ({"receiver_id": 10**6}, "receiver"),
    ({"content": "x" * 4001}, "content"),
])
def test_bad_input_names_the_field(world, desk, change, field):
    with pytest.raises(ValidationFailed) as caught:
        send(world, desk, **change)
    assert field in caught.value.field_errors
    assert not RelayForm.objects.exists()


def test_sending_to_oneself_a_future_time_and_an_unseen_customer_are_refused(world, desk):
    with pytest.raises(ValidationFailed) as caught:
        send(world, desk, receiver_id=world.alice.pk, relayed_at=timezone.now() + dt.timedelta(days=1),
             customer_id=desk.beta.pk)
    assert set(caught.value.field_errors) == {"receiver", "relayed_at", "customer"}
    assert not RelayForm.objects.exists()


def test_the_steps_in_order_with_times_people_audit_and_timeline(world, desk):
    form = send(world, desk, customer_id=desk.alpha.pk)
    sue = world.person("sue")
    services.relay_receive(actor=sue, form_id=form.pk)
    services.relay_handle(actor=sue, form_id=form.pk, opinion="已转报价组，三日内出报价", quality=4)
    done = services.relay_feedback(actor=sue, form_id=form.pk, feedback="报价已发客户，客户确认收到")
    done.refresh_from_db()
    assert done.status == RelayStatus.FED_BACK
    assert done.received_by_id == done.handled_by_id == done.fed_back_by_id == sue.pk
    assert done.received_at <= done.handled_at <= done.fed_back_at
    assert done.quality == 4
    actions = list(AuditEvent.objects.filter(action__startswith="relay.form.").order_by("pk").values_list("action", flat=True))
    assert actions == ["relay.form.send", "relay.form.receive", "relay.form.handle", "relay.form.feedback"]
    kinds = set(TimelineEntry.objects.filter(customer=desk.alpha).values_list("kind", flat=True))
    assert {"relay.sent", "relay.fed_back"} <= kinds


def test_handling_a_form_not_yet_received_receives_it(world, desk):
    form = send(world, desk)
    handled = services.relay_handle(actor=world.person("sue"), form_id=form.pk, opinion="已处理")
    handled.refresh_from_db()
    assert handled.status == RelayStatus.HANDLED and handled.received_at == handled.handled_at


def test_steps_out_of_order_or_twice_are_conflicts(world, desk):
    form = send(world, desk)
    sue = world.person("sue")
    with pytest.raises(Conflict):
        services.relay_feedback(actor=sue, form_id=form.pk, feedback="反馈")
    services.relay_receive(actor=sue, form_id=form.pk)
    with pytest.raises(Conflict):
        services.relay_receive(actor=sue, form_id=form.pk)
    assert AuditEvent.objects.filter(action="relay.form.receive").count() == 1


@pytest.mark.parametrize("persona", ["alice", "bob", "sam", "audrey", "carol"])
def test_only_the_receiver_records_steps(world, desk, persona):
    form = send(world, desk)
    with pytest.raises((PermissionRefused, NotFound)):
        services.relay_receive(actor=world.person(persona), form_id=form.pk)
    form.refresh_from_db()
    assert form.status == RelayStatus.SENT and form.received_at is None


def test_an_auditor_cannot_send(world, desk):
    with pytest.raises(PermissionRefused):
        send(world, desk, actor=world.person("audrey"), receiver_id=world.bob.pk)
    assert not RelayForm.objects.exists()


def test_bad_handling_input(world, desk):
    form = send(world, desk)
    with pytest.raises(ValidationFailed) as caught:
        services.relay_handle(actor=world.person("sue"), form_id=form.pk, opinion=" ", quality=9)
    assert set(caught.value.field_errors) == {"handling_opinion", "quality"}
    form.refresh_from_db()
    assert form.status == RelayStatus.SENT


def test_visibility_follows_provider_and_receiver_scope(world, desk):
    form = send(world, desk)
    for persona, sees in (("alice", True), ("sue", True), ("bob", False), ("sam", True), ("audrey", True),
                          ("henry", False), ("carol", False)):
        assert selectors.form_list(viewer=world.person(persona)).filter(pk=form.pk).exists() is sees, persona


def test_overdue_flags_and_the_contract_selectors(world, desk):
    now = timezone.now()
    late = send(world, desk, relayed_at=now - dt.timedelta(days=3))  # receive within 8 h: overdue
    fresh = send(world, desk)
    assert set(selectors.waiting_for(user_ids=[world.sue.pk])) == {late, fresh}
    assert list(selectors.overdue(user_ids=[world.sue.pk], now=now)) == [late]
    assert selectors.form_is_overdue(late) and not selectors.form_is_overdue(fresh)
    assert list(selectors.form_list(viewer=world.person("sue"), overdue_only=True)) == [late]
    start = (now - dt.timedelta(days=5)).date()
    usage = selectors.usage(user_ids=[world.alice.pk, world.bob.pk], start=start, end=timezone.localdate())
    assert usage[world.alice.pk]["count"] == 2
    assert usage[world.alice.pk]["overdue"] == 1 and usage[world.alice.pk]["on_time_share"] == 0.5
    assert usage[world.bob.pk] == {"count": 0, "fed_back": 0, "overdue": 0, "on_time": 0, "on_time_share": None,
                                   "quality": None}
    sue = world.person("sue")
    for form in (late, fresh):
        services.relay_handle(actor=sue, form_id=form.pk, opinion="处理", quality=3)
        services.relay_feedback(actor=sue, form_id=form.pk, feedback="完成")
    assert not selectors.waiting_for(user_ids=[world.sue.pk]).exists()


def test_on_time_verdicts():
    t0 = timezone.now()
    h = dt.timedelta(hours=1)
    times = StepTimes(relayed_at=t0, received_at=t0 + 2 * h, handled_at=t0 + 50 * h, fed_back_at=None,
                      receive_due=t0 + 8 * h, handle_due=t0 + 48 * h, feedback_due=t0 + 72 * h)
    verdict = form_on_time(times, t0 + 60 * h)
    assert verdict.late_steps == ("handled",) and not verdict.overdue and not verdict.on_time
    assert form_on_time(times, t0 + 80 * h).overdue


def test_daily_report_counts_usage_timeliness_and_quality(world, desk):
    form = send(world, desk)
    services.relay_handle(actor=world.person("sue"), form_id=form.pk, opinion="已处理", quality=5)
    report = selectors.daily_report(viewer=world.person("sam"), day=timezone.localdate())
    providers = {p["user_id"]: p for p in report["providers"]}
    assert providers[world.alice.pk]["sent"] == 1 and providers[world.alice.pk]["quality"] == 5
    receivers = {r["user_id"]: r for r in report["receivers"]}
    assert receivers[world.sue.pk]["steps"] == 2 and receivers[world.sue.pk]["steps_on_time"] == 2
    assert selectors.daily_report(viewer=world.person("carol"), day=timezone.localdate())["totals"]["sent"] == 0
    kept = services.daily_report_record(day=timezone.localdate())
    again = services.daily_report_record(day=timezone.localdate())
    assert kept.pk == again.pk and kept.data["totals"]["sent"] == 1


def test_routing_configuration_is_for_administrators(world, desk):
    with pytest.raises(PermissionRefused):
        services.rule_save(actor=world.person("sam"), category_id=desk.other.pk, person_id=world.bob.pk)
    rule = services.rule_save(actor=world.person("adam"), category_id=desk.other.pk, person_id=world.bob.pk)
    assert send(world, desk, category_id=desk.other.pk).receiver_id == world.bob.pk
    with pytest.raises(ValidationFailed) as caught:
        services.rule_save(actor=world.person("adam"), rule_id=rule.pk, category_id=desk.other.pk)
    assert "post" in caught.value.field_errors
    with pytest.raises(ValidationFailed) as caught:
        services.category_save(actor=world.person("adam"), category_id=desk.other.pk, code="other", name="其他",
                               receive_hours=10, handle_hours=5, feedback_hours=20)
    assert "handle_hours" in caught.value.field_errors
    services.rule_delete(actor=world.person("adam"), rule_id=rule.pk)
    assert AuditEvent.objects.filter(action="relay.rule.delete").exists()
