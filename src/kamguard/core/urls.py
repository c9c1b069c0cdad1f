from django.urls import include, path

from kamguard.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("io/", include("kamguard.core.io.urls")),
]
