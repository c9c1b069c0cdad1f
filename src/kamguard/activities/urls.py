from django.urls import path

from kamguard.activities import views

app_name = "activities"

urlpatterns = [
    path("", views.home, name="home"),
    path("list/", views.activity_list, name="list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("visits/new/", views.visit_create, name="visit_create"),
    path("<int:activity_id>/", views.detail, name="detail"),
    path("<int:activity_id>/check-in/", views.check_in, name="check_in"),
    path("<int:activity_id>/check-out/", views.check_out, name="check_out"),
    path("<int:activity_id>/cancel/", views.cancel, name="cancel"),
    path("<int:activity_id>/accompany/", views.accompany, name="accompany"),
    path("customers/<int:customer_id>/", views.customer_activities, name="customer_activities"),
]
