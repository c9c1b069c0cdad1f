"""Included by core/urls.py under "io/" without a namespace of its own: the names live in `core:`."""

from django.urls import path

from kamguard.core.io import views

urlpatterns = [
    path("", views.import_export, name="import_export"),
    path("export/<str:kind>/", views.export_download, name="io_export"),
]
