from django.urls import path

from kamguard.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("export/", views.event_export, name="event_export"),
    path("chain/", views.chain_status, name="chain_status"),
    path("chain/verify/", views.chain_verify, name="chain_verify"),
]
