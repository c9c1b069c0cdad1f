from django.urls import path

from kamguard.contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.contract_create, name="contract_create"),
    path("<int:contract_id>/", views.contract_detail, name="contract_detail"),
    path("<int:contract_id>/edit/", views.contract_edit, name="contract_edit"),
    path("<int:contract_id>/submit/", views.contract_submit, name="contract_submit"),
    path("<int:contract_id>/sign/", views.contract_sign, name="contract_sign"),
    path("<int:contract_id>/cancel/", views.contract_cancel, name="contract_cancel"),
    path("<int:contract_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("payments/", views.payment_list, name="payment_list"),
    path("payments/new/", views.payment_create, name="payment_create"),
    path("payments/queue/", views.payment_queue, name="payment_queue"),
    path("payments/<int:payment_id>/confirm/", views.payment_confirm, name="payment_confirm"),
    path("receivables/", views.receivables, name="receivables"),
    path("findings/", views.finding_list, name="finding_list"),
    path("findings/<int:finding_id>/resolve/", views.finding_resolve, name="finding_resolve"),
    path("webhook-secrets/", views.secret_list, name="secret_list"),
    path("webhook-secrets/<int:secret_id>/revoke/", views.secret_revoke, name="secret_revoke"),
    path("customer/<int:customer_id>/", views.customer_contracts, name="customer_contracts"),
]
