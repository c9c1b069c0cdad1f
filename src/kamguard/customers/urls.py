from django.urls import path

from kamguard.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.my_customers, name="my_customers"),
    path("team/", views.team_customers, name="team_customers"),
    path("new/", views.customer_create, name="customer_create"),
    path("<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:customer_id>/contacts/new/", views.contact_create, name="contact_create"),
    path("<int:customer_id>/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:customer_id>/contacts/<int:contact_id>/reveal/<str:field>/", views.contact_reveal,
         name="contact_reveal"),
    path("<int:customer_id>/team/", views.team_member_set, name="team_member_set"),
    path("<int:customer_id>/team/<int:user_id>/remove/", views.team_member_remove, name="team_member_remove"),
    path("<int:customer_id>/claim/", views.customer_claim, name="customer_claim"),
    path("<int:customer_id>/release/", views.customer_release, name="customer_release"),
    path("<int:customer_id>/lock/<int:locked>/", views.customer_lock, name="customer_lock"),
    path("<int:customer_id>/transfer/", views.customer_transfer, name="customer_transfer"),
    path("<int:customer_id>/transfer-request/", views.transfer_request_create, name="transfer_request_create"),
    path("<int:customer_id>/merge/", views.customer_merge, name="customer_merge"),
    path("<int:customer_id>/dispute/", views.dispute_file, name="dispute_file"),
    path("pools/", views.pool_list, name="pool_list"),
    path("pools/new/", views.pool_create, name="pool_create"),
    path("pools/<int:pool_id>/", views.pool_detail, name="pool_detail"),
    path("pools/<int:pool_id>/rules/", views.pool_edit, name="pool_edit"),
    path("pools/<int:pool_id>/members/", views.pool_member, name="pool_member"),
    path("disputes/", views.dispute_list, name="dispute_list"),
    path("disputes/claim/<str:token>/", views.dispute_file, name="dispute_file_token"),
    path("disputes/report/", views.dispute_report, name="dispute_report"),
    path("disputes/<int:dispute_id>/", views.dispute_detail, name="dispute_detail"),
    path("disputes/<int:dispute_id>/answer/", views.dispute_answer, name="dispute_answer"),
    path("disputes/<int:dispute_id>/decide/", views.dispute_decide, name="dispute_decide"),
    path("disputes/<int:dispute_id>/withdraw/", views.dispute_withdraw, name="dispute_withdraw"),
    path("transfers/", views.transfer_list, name="transfer_list"),
    path("transfers/<int:request_id>/decide/", views.transfer_decide, name="transfer_decide"),
    path("transfers/<int:request_id>/cancel/", views.transfer_cancel, name="transfer_cancel"),
]
