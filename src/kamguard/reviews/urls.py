from django.urls import URLPattern, path

from kamguard.reviews import views

app_name = "reviews"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("cycles/new/", views.cycle_create, name="cycle_create"),
    path("cycles/<int:cycle_id>/", views.cycle_detail, name="cycle_detail"),
    path("cycles/<int:cycle_id>/edit/", views.cycle_edit, name="cycle_edit"),
    path("cycles/<int:cycle_id>/people/<int:user_id>/", views.result, name="result"),
    path("answer/<int:assignment_id>/", views.answer, name="answer"),
    path("questions/", views.question_sets, name="question_sets"),
    path("questions/new/", views.question_set_edit, name="question_set_create"),
    path("questions/<int:set_id>/", views.question_set_edit, name="question_set_edit"),
    # The customer's page: no sign-in, the signed link is the key.
    path("r/<str:token>/", views.public_answer, name="public_answer"),
    path("r/thanks/done/", views.public_thanks, name="public_thanks"),
]
