from django.urls import path

from kamguard.plans import views

app_name = "plans"

urlpatterns = [
    path("", views.plan_home, name="home"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("<int:plan_id>/edit/", views.plan_edit, name="plan_edit"),
    path("<int:plan_id>/result/", views.plan_result, name="plan_result"),
]
