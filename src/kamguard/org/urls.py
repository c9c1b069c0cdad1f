from django.urls import path, re_path

from kamguard.org import views

app_name = "org"

urlpatterns = [
    path("people/", views.user_list, name="user_list"),
    path("people/new/", views.user_create, name="user_create"),
    path("people/<int:user_id>/", views.user_detail, name="user_detail"),
    path("people/<int:user_id>/edit/", views.user_edit, name="user_edit"),
    path("people/<int:user_id>/roles/", views.user_roles, name="user_roles"),
    path("people/<int:user_id>/active/<int:active>/", views.user_set_active, name="user_set_active"),
    path("people/<int:user_id>/end-sessions/", views.user_end_sessions, name="user_end_sessions"),
    path("people/<int:user_id>/reveal/<str:field>/", views.user_reveal, name="user_reveal"),
    path("departments/", views.department_list, name="department_list"),
    path("departments/new/", views.department_create, name="department_create"),
    path("departments/<int:department_id>/edit/", views.department_edit, name="department_edit"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<int:team_id>/edit/", views.team_edit, name="team_edit"),
    path("regions/", views.region_list, name="region_list"),
    path("duties/", views.role_conflict_list, name="role_conflict_list"),
    path("duties/<int:conflict_id>/remove/", views.role_conflict_remove, name="role_conflict_remove"),
    re_path(r"^(?P<kind>industry|post|grade)/$", views.reference_list, name="reference_list"),
    re_path(r"^(?P<kind>industry|post|grade)/new/$", views.reference_edit, name="reference_create"),
    re_path(r"^(?P<kind>industry|post|grade)/(?P<item_id>[0-9]+)/edit/$", views.reference_edit, name="reference_edit"),
]
