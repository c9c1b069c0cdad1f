"""Supervision pages and API: the live view (full page and the polled panels), the quality scores and one
person's explanation; narrowed to the viewer (owner alice, teammate bob, specialist sue, supervisor sam, outsider
carol, auditor audrey); read-only, so a refusal changes nothing; both languages."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kamguard.activities.models import Activity
from kamguard.core.models import AuditEvent


@pytest.mark.parametrize("persona", ["alice", "bob", "sue", "sam", "carol", "audrey"])
def test_live_view_renders_and_polls(world, field, client_for, persona):
    client = client_for(world.person(persona))
    page = client.get("/supervision/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'hx-get="/supervision/live/"' in body and 'hx-trigger="every 30s"' in body
    panels = client.get("/supervision/live/", HTTP_HX_REQUEST="true")
    assert panels.status_code == 200 and "<html" not in panels.content.decode()
    # alice's check-in shows as a row to alice and her team (sue); her supervisor and the auditor, who see
    # several teams, see it counted per team and open the team for its rows; bob and carol do not see it
    assert (field.alpha.name in body) == (persona in ("alice", "sue"))
    assert (f'href="/supervision/?team={world.team_a.pk}"' in body) == (persona in ("sam", "audrey"))


@pytest.mark.parametrize("persona,status,sees", [
    ("alice", 200, True), ("bob", 200, False), ("sue", 200, True), ("sam", 200, True), ("audrey", 200, True),
    ("carol", 404, False)])
def test_live_view_of_one_team_matrix(world, field, client_for, persona, status, sees):
    # given alice's check-in today in team Shanghai A; when each persona opens that team's live view
    client = client_for(world.person(persona))
    before = (AuditEvent.objects.exclude(action="permission.refused").count(), Activity.objects.count())
    for url in (f"/supervision/?team={world.team_a.pk}", f"/supervision/live/?team={world.team_a.pk}"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        # then the owner, her team, her supervisor and the auditor see the row; bob (a manager) the team page
        # with only his own day; carol, outside the department, nothing
        assert response.status_code == status, url
        assert (field.alpha.name in response.content.decode()) == sees, url
    if status == 200:
        body = response.content.decode()
        assert f'hx-get="/supervision/live/?team={world.team_a.pk}"' in body and "All teams" in body
    # a read: nothing changed, refused or not
    assert (AuditEvent.objects.exclude(action="permission.refused").count(), Activity.objects.count()) == before


def test_live_view_of_a_department_counts_per_team(world, field, client_for):
    # given alice's check-in (team Shanghai A) and none in Hangzhou; when sam opens the live view
    body = client_for(world.person("sam")).get("/supervision/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then each team is a row of counts linking to the team, and no check-in row is built
    assert "Teams today" in body and world.team_a.name in body and world.team_hz.name in body
    assert world.team_cd.name not in body
    assert f'href="/supervision/?team={world.team_hz.pk}"' in body
    assert field.alpha.name not in body and "Open a team" in body
    # nonsense or unknown teams: the department view, or not found
    client = client_for(world.person("sam"))
    assert client.get("/supervision/?team=abc").status_code == 200
    assert client.get(f"/supervision/?team={world.team_cd.pk}").status_code == 404
    assert client.get("/supervision/?team=99999999").status_code == 404


def test_live_view_pages_a_teams_checkins(world, field, client_for, monkeypatch):
    from kamguard.activities.services import visit_check_in, visit_plan
    from kamguard.supervision import selectors

    # given three check-ins in team Shanghai A today and two rows a page
    monkeypatch.setattr(selectors, "LIVE_PAGE", 2)
    for customer in (field.beta, field.alpha):
        visit = visit_plan(actor=world.alice, customer_id=customer.pk, planned_on=timezone.localdate())
        visit_check_in(actor=world.alice, activity_id=visit.pk, location_denied=True)
    client = client_for(world.person("sam"))
    first = client.get(f"/supervision/?team={world.team_a.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    second = client.get(f"/supervision/?team={world.team_a.pk}&page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then the newest two are on the first page, the third on the second, and the count says three
    def rows(body: str) -> int:
        return sum(body.count(f">{customer.name}</a>") for customer in (field.alpha, field.beta))

    assert rows(first) == 2 and rows(second) == 1
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert f'hx-get="/supervision/live/?team={world.team_a.pk}&amp;page=2"' in second
    assert '<div class="figure">3</div>' in first


@pytest.mark.parametrize("persona,sees", [("alice", {"alice"}), ("bob", {"bob"}), ("sue", {"alice", "bob", "sue"}),
                                          ("sam", {"alice", "bob", "sue", "henry"}), ("carol", {"carol"})])
def test_quality_page_lists_the_people_in_scope(world, field, client_for, persona, sees):
    body = client_for(world.person(persona)).get("/supervision/quality/").content.decode()
    for name in ("alice", "bob", "sue", "henry", "carol"):
        url = f"/supervision/quality/{world.person(name).pk}/"
        assert (url in body) == (name in sees), name


@pytest.mark.parametrize("persona,status", [("alice", 200), ("sue", 200), ("sam", 200), ("audrey", 200),
                                            ("bob", 404), ("carol", 404)])
def test_person_quality_matrix(world, field, client_for, persona, status):
    client = client_for(world.person(persona))
    before = AuditEvent.objects.exclude(action="permission.refused").count()
    response = client.get(f"/supervision/quality/{world.alice.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "Contact records complete" in body and "0 of 2 done contacts" in body
    assert AuditEvent.objects.exclude(action="permission.refused").count() == before


def test_quality_page_takes_a_month_and_ignores_nonsense(world, field, client_for):
    client = client_for(world.person("sam"))
    assert client.get("/supervision/quality/?month=2020-01").status_code == 200
    assert client.get("/supervision/quality/?month=nonsense").status_code == 200
    assert client.get("/supervision/quality/?month=2999-01").status_code == 200


def test_pages_in_chinese(world, field, client_for):
    client = client_for(world.person("sam"))
    live = client.get("/supervision/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "今日签到" in live and "各团队今日" in live and "打开一个团队" in live
    team = client.get(f"/supervision/?team={world.team_a.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "全部团队" in team
    quality = client.get(f"/supervision/quality/{world.alice.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "基础资料质量" in quality and "拜访与联系记录完整" in quality


# ---------------------------------------------------------------- API

def test_live_api(world, field, client_for):
    data = client_for(world.person("sam")).get("/api/v1/supervision/live").json()
    assert [c["activity_id"] for c in data["checkins"]] == [field.visit.pk]
    assert world.alice.pk in data["people"] and world.carol.pk not in data["people"]
    assert data["checkins"][0]["location_status"] == "denied"
    assert (data["checkins_total"], data["page"], data["pages"]) == (1, 1, 1)
    teams = {t["team_id"]: t for t in data["teams"]}
    assert set(teams) == {world.team_a.pk, world.team_hz.pk}
    assert (teams[world.team_a.pk]["people"], teams[world.team_a.pk]["checkins"]) == (3, 1)
    assert teams[world.team_hz.pk]["checkins"] == 0
    carol = client_for(world.person("carol")).get("/api/v1/supervision/live").json()
    assert carol["checkins"] == [] and carol["people"] == [world.carol.pk]


@pytest.mark.parametrize("persona,status", [("sue", 200), ("sam", 200), ("audrey", 200), ("carol", 404)])
def test_live_api_one_team(world, field, client_for, persona, status):
    response = client_for(world.person(persona)).get(f"/api/v1/supervision/live?team={world.team_a.pk}")
    assert response.status_code == status
    if status == 200:
        data = response.json()
        assert [c["activity_id"] for c in data["checkins"]] == [field.visit.pk]
        assert [t["team_id"] for t in data["teams"]] == [world.team_a.pk]
        assert world.henry.pk not in data["people"]


@pytest.mark.parametrize("persona,sees", [("alice", True), ("sue", True), ("sam", True), ("audrey", True),
                                          ("bob", False), ("carol", False)])
def test_quality_api_matrix(world, field, client_for, persona, sees):
    response = client_for(world.person(persona)).get(f"/api/v1/supervision/quality?user_id={world.alice.pk}")
    assert response.status_code == 200
    rows = response.json()
    assert bool(rows) == sees
    if sees:
        items = {i["key"]: i for i in rows[0]["items"]}
        assert items["records_complete"]["numerator"] == 0 and items["records_complete"]["denominator"] == 2
        assert items["records_complete"]["explanation"]


def test_quality_api_bad_period(world, client_for):
    client = client_for(world.person("sam"))
    today = timezone.localdate()
    bad = client.get(f"/api/v1/supervision/quality?start={today.isoformat()}&end={today.replace(year=today.year - 1)}")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "end"
    bad = client.get(f"/api/v1/supervision/quality?start={today.replace(year=today.year - 2)}&end={today}")
    assert bad.status_code == 422
    assert client.get("/api/v1/supervision/quality?start=yesterday").status_code == 422


def test_pages_keep_a_bounded_number_of_queries(world, field, client_for, django_assert_max_num_queries):
    from kamguard.activities.services import visit_check_in, visit_plan

    # more check-ins today must not mean more queries
    for customer in (field.alpha, field.beta):
        visit = visit_plan(actor=world.alice, customer_id=customer.pk, planned_on=timezone.localdate())
        visit_check_in(actor=world.alice, activity_id=visit.pk, location_denied=True)
    client = client_for(world.person("sam"))
    with django_assert_max_num_queries(25):
        assert client.get("/supervision/live/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get(f"/supervision/live/?team={world.team_a.pk}").status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get("/supervision/quality/").status_code == 200
