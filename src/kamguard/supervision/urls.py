from django.urls import path

from kamguard.supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.live_home, name="home"),
    path("live/", views.live_panels, name="live_panels"),
    path("quality/", views.quality_list, name="quality"),
    path("quality/<int:user_id>/", views.quality_person, name="quality_person"),
]
