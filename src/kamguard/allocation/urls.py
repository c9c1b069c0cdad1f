from django.urls import path

from kamguard.allocation import views

app_name = "allocation"

urlpatterns = [
    path("", views.ruleset_list, name="ruleset_list"),
    path("rule-sets/new/", views.ruleset_create, name="ruleset_create"),
    path("rule-sets/<int:rule_set_id>/", views.ruleset_detail, name="ruleset_detail"),
    path("rule-sets/<int:rule_set_id>/diff/", views.version_diff, name="version_diff"),
    path("rule-sets/<int:rule_set_id>/drafts/new/", views.draft_create, name="draft_create"),
    path("versions/<int:version_id>/", views.version_detail, name="version_detail"),
    path("versions/<int:version_id>/edit/", views.version_edit, name="version_edit"),
    path("versions/<int:version_id>/simulate/", views.version_simulate, name="version_simulate"),
    path("versions/<int:version_id>/activate/", views.version_activate, name="version_activate"),
    path("versions/<int:version_id>/retire/", views.version_retire, name="version_retire"),
    path("intake/", views.intake_list, name="intake_list"),
    path("intake/new/", views.intake_create, name="intake_create"),
    path("intake/<int:intake_id>/", views.intake_detail, name="intake_detail"),
    path("intake/<int:intake_id>/review/", views.intake_review, name="intake_review"),
    path("log/", views.decision_list, name="decision_list"),
    path("log/<int:decision_id>/", views.decision_detail, name="decision_detail"),
    path("customers/<int:customer_id>/", views.customer_decisions, name="customer_decisions"),
    path("customers/<int:customer_id>/reassign/", views.customer_reassign, name="customer_reassign"),
    path("fairness/", views.fairness, name="fairness"),
    path("fairness/teams/<int:team_id>/", views.team_setting_save, name="team_setting_save"),
    path("fairness/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("people/", views.availability, name="availability"),
    path("people/<int:person_id>/capacity/", views.capacity_edit, name="capacity_edit"),
    path("absences/", views.absence_add, name="absence_add"),
    path("absences/<int:absence_id>/remove/", views.absence_remove, name="absence_remove"),
    path("departures/", views.departure_notice_add, name="departure_notice_add"),
    path("departures/<int:person_id>/remove/", views.departure_notice_remove, name="departure_notice_remove"),
]
