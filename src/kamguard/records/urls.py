from django.urls import path

from kamguard.records import views

app_name = "records"

urlpatterns = [
    path("", views.home, name="home"),
    path("upload/", views.upload, name="upload"),
    path("<int:record_id>/", views.detail, name="detail"),
    path("<int:record_id>/edit/", views.edit, name="edit"),
    path("<int:record_id>/files/", views.files_add, name="files_add"),
    path("files/<int:attachment_id>/", views.download, name="download"),
    path("customers/<int:customer_id>/", views.customer_section, name="customer_section"),
    path("market/", views.market, name="market"),
    path("market/new/", views.market_new, name="market_new"),
    path("market/<int:item_id>/edit/", views.market_edit, name="market_edit"),
]
