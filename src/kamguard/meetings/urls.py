from django.urls import path

from kamguard.meetings import views

app_name = "meetings"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.create, name="create"),
    path("<int:meeting_id>/", views.detail, name="detail"),
    path("<int:meeting_id>/edit/", views.edit, name="edit"),
    path("items/", views.my_items, name="items"),
    path("items/<int:item_id>/done/", views.item_done, name="item_done"),
]
