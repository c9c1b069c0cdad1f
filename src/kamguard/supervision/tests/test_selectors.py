"""The quality score from real records, narrowed to the viewer; the live view's panels."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kamguard.core.errors import NotFound
from kamguard.supervision import selectors


def _month():
    today = timezone.localdate()
    return today.replace(day=1), today


def test_data_quality_counts_alices_records(world, field):
    # given alice's fixture records; when sam asks for her score this month
    start, end = _month()
    found = selectors.data_quality(viewer=world.sam, user_ids=[world.alice.pk], start=start, end=end)
    score = found[world.alice.pk].score
    # then: 2 done contacts, 0 complete (the visit has no location, the call no next step)
    records = score.item("records_complete")
    assert (records.numerator, records.denominator) == (0, 2)
    assert records.details == {"missing_outcome": 0, "missing_next_step": 1, "missing_location": 1}
    # 1 of 2 customers complete
    customers = score.item("customers_complete")
    assert (customers.numerator, customers.denominator) == (1 if field.alpha.region_id else 0, 2)
    assert customers.details["missing_contacts"] == 1 and customers.details["missing_uscc"] == 1
    # the one visit was not located
    checkins = score.item("checkins_correct")
    assert (checkins.numerator, checkins.denominator, checkins.details["not_located"]) == (0, 1, 1)
    assert score.score is not None and 0 <= score.score < 60


def test_data_quality_is_narrowed_to_the_viewer(world, field):
    start, end = _month()
    everyone = [world.alice.pk, world.bob.pk, world.carol.pk]
    assert set(selectors.data_quality(viewer=world.sam, user_ids=everyone, start=start, end=end)) == {
        world.alice.pk, world.bob.pk}
    assert set(selectors.data_quality(viewer=world.alice, user_ids=everyone, start=start, end=end)) == {world.alice.pk}
    assert set(selectors.data_quality(viewer=world.sue, user_ids=everyone, start=start, end=end)) == {
        world.alice.pk, world.bob.pk}
    assert set(selectors.data_quality(viewer=world.audrey, user_ids=everyone, start=start, end=end)) == set(everyone)
    assert selectors.data_quality(viewer=world.carol, user_ids=[world.alice.pk], start=start, end=end) == {}
    assert selectors.data_quality(viewer=world.sam, user_ids=[world.alice.pk], start=end, end=start.replace(
        year=start.year - 1)) == {}


def test_a_person_with_nothing_recorded_has_no_activity_items(world, field):
    start, end = _month()
    henry = selectors.data_quality(viewer=world.sam, user_ids=[world.henry.pk], start=start, end=end)[world.henry.pk]
    assert not henry.score.item("records_complete").applies
    assert not henry.score.item("customers_complete").applies


def test_live_view_shows_the_departments_checkins(world, field):
    live = selectors.live_view(viewer=world.sam, rows=True)
    assert live.checkins is not None
    assert [a.pk for a in live.checkins] == [field.visit.pk]
    assert {p.pk for p in live.people} >= {world.alice.pk, world.bob.pk, world.henry.pk}
    assert world.carol.pk not in {p.pk for p in live.people}


def test_live_view_lists_the_field_people_not_everyone_in_scope(world, field):
    # given sam's department: alice, bob (managers), sue (specialist), henry (manager), and sam himself
    # when sam opens the live view
    people = {p.pk for p in selectors.live_view(viewer=world.sam, rows=True).people}
    # then the field people are listed, the supervisor himself is not
    assert people == {world.alice.pk, world.bob.pk, world.sue.pk, world.henry.pk}
    assert world.sam.pk not in people
    # and the auditor, who sees everyone, sees the field people only (not the admin, HR or finance)
    everyone = {p.pk for p in selectors.live_view(viewer=world.audrey, rows=True).people}
    assert everyone >= {world.alice.pk, world.carol.pk}
    assert not everyone & {world.sam.pk, world.audrey.pk, world.adam.pk}


def test_live_view_shows_relay_forms_waiting_for_the_supervisor(world, field):
    from kamguard.relay.models import RelayCategory
    from kamguard.relay.services import relay_send

    # given alice's relay form sent to sam, and carol's (from outside sam's department) sent to alice
    category, _ = RelayCategory.objects.get_or_create(code="demand", defaults={
        "name": "客户需求", "receive_hours": 8, "handle_hours": 48, "feedback_hours": 72})
    to_sam = relay_send(actor=world.alice, category_id=category.pk, content="客户扩产", receiver_id=world.sam.pk)
    to_alice = relay_send(actor=world.carol, category_id=category.pk, content="外区线索", receiver_id=world.alice.pk)
    # when sam opens the live view, then both wait in his scope (his own and his manager's), though he is not
    # listed among the field people
    live = selectors.live_view(viewer=world.sam)
    assert live.relay_waiting is not None
    assert {f.pk for f in live.relay_waiting} == {to_sam.pk, to_alice.pk}
    assert world.sam.pk not in {p.pk for p in live.people}
    # and bob, a manager, sees neither: they wait for others
    assert selectors.live_view(viewer=world.bob).relay_waiting == []


def test_live_view_of_a_manager_is_their_own_day(world, field):
    bob = selectors.live_view(viewer=world.bob)
    assert [p.pk for p in bob.people] == [world.bob.pk]
    assert bob.checkins == []
    carol = selectors.live_view(viewer=world.carol)
    assert carol.checkins == []


def test_a_missing_selector_is_reported_as_unavailable():
    assert selectors.provided("activities", "checkins_on") is not None
    assert selectors.provided("activities", "no_such_selector") is None
    assert selectors.provided("no_such_app", "x") is None


def test_live_view_of_a_department_is_counted_per_team(world, field):
    from kamguard.activities.services import visit_check_in, visit_plan
    from kamguard.customers.services.records import customer_create
    from kamguard.worklogs.models import WorkLog

    # given alice's visit (checked in and out) and a visit henry is still at (no location: not far)
    own = customer_create(actor=world.henry, name="杭州西湖精工机械有限公司", tier="B")
    visit = visit_plan(actor=world.henry, customer_id=own.pk, planned_on=timezone.localdate())
    visit_check_in(actor=world.henry, activity_id=visit.pk, location_denied=True)
    # when sam, over two teams, opens the live view without asking for a team
    live = selectors.live_view(viewer=world.sam)
    # then it is counted per team, without rows
    assert live.by_team and live.checkins is None and live.people == [] and live.headcount == 4
    teams = {t.team_id: t for t in live.teams}
    assert set(teams) == {world.team_a.pk, world.team_hz.pk}
    shanghai, hangzhou = teams[world.team_a.pk], teams[world.team_hz.pk]
    assert (shanghai.people, shanghai.checkins, shanghai.on_site, shanghai.far) == (3, 1, 0, 0)
    assert (hangzhou.people, hangzhou.checkins, hangzhou.on_site, hangzhou.far) == (1, 1, 1, 0)
    assert live.checkins_total == 2
    assert shanghai.logs is not None and sum(shanghai.logs.values()) == 3
    assert WorkLog.objects.count() == 0  # a read
    # and one team asked for: its rows, its people only
    one = selectors.live_view(viewer=world.sam, team=world.team_hz.pk)
    assert not one.by_team and [a.pk for a in one.checkins or []] == [visit.pk]
    assert [p.pk for p in one.people] == [world.henry.pk] and one.team is not None and one.team.name == "杭州组"


def test_live_view_refuses_a_team_outside_the_scope(world, field):
    for viewer, team in ((world.sam, world.team_cd), (world.carol, world.team_a), (world.alice, world.team_hz)):
        with pytest.raises(NotFound):
            selectors.live_view(viewer=viewer, team=team.pk)
    # a specialist or a manager has one team: rows, never counts
    assert not selectors.live_view(viewer=world.sue).by_team
    assert [a.pk for a in selectors.live_view(viewer=world.sue).checkins or []] == [field.visit.pk]
