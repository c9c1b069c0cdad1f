from django.urls import path

from kamguard.approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.home, name="home"),
    path("mine/", views.my_requests, name="my_requests"),
    path("requests/", views.request_list, name="request_list"),
    path("<int:request_id>/", views.request_detail, name="request_detail"),
    path("<int:request_id>/decide/", views.decide, name="decide"),
    path("<int:request_id>/withdraw/", views.withdraw, name="withdraw"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<int:policy_id>/edit/", views.policy_edit, name="policy_edit"),
    path("delegations/", views.delegations, name="delegations"),
    path("delegations/<int:delegation_id>/revoke/", views.delegation_revoke, name="delegation_revoke"),
]
