from django.urls import path

from kamguard.performance import views

app_name = "performance"

urlpatterns = [
    path("", views.home, name="home"),
    path("periods/new/", views.period_create, name="period_create"),
    path("periods/<int:period_id>/", views.period_detail, name="period_detail"),
    path("periods/<int:period_id>/calibration/", views.calibration, name="calibration"),
    path("periods/<int:period_id>/export/", views.period_export, name="period_export"),
    path("scorecards/<int:scorecard_id>/", views.scorecard_detail, name="scorecard_detail"),
    path("people/<int:user_id>/trend/", views.person_trend, name="person_trend"),
    path("teams/<int:team_id>/trend/", views.team_trend, name="team_trend"),
    path("schemes/", views.scheme_list, name="scheme_list"),
    path("schemes/new/", views.scheme_version_create, name="scheme_create"),
    path("schemes/<int:scheme_id>/", views.scheme_detail, name="scheme_detail"),
    path("schemes/<int:scheme_id>/versions/<int:number>/", views.scheme_detail, name="scheme_version"),
    path("schemes/<int:scheme_id>/versions/new/", views.scheme_version_create, name="scheme_version_create"),
]
