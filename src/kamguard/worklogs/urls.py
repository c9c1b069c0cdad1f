from django.urls import path

from kamguard.worklogs import views

app_name = "worklogs"

urlpatterns = [
    path("", views.home, name="home"),
    path("logs/", views.log_list, name="log_list"),
    path("logs/<int:log_id>/", views.log_detail, name="log_detail"),
    path("inbox/", views.inbox, name="inbox"),
    path("excellent/", views.excellent, name="excellent"),
    path("quality/", views.quality, name="quality"),
    path("deadlines/", views.deadlines, name="deadlines"),
    path("deadlines/<int:deadline_id>/remove/", views.deadline_remove, name="deadline_remove"),
]
