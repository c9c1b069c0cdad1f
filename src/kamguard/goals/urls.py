from django.urls import path

from kamguard.goals import views

app_name = "goals"

urlpatterns = [
    path("", views.home, name="home"),
    path("objectives/new/", views.objective_create, name="objective_create"),
    path("objectives/<int:objective_id>/", views.objective_detail, name="objective_detail"),
    path("objectives/<int:objective_id>/edit/", views.objective_edit, name="objective_edit"),
    path("key-results/<int:key_result_id>/edit/", views.key_result_edit, name="key_result_edit"),
    path("teams/<int:team_id>/", views.team_tree, name="team_tree"),
    path("targets/", views.targets, name="targets"),
]
