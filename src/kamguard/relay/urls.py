from django.urls import path

from kamguard.relay import views

app_name = "relay"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.form_new, name="new"),
    path("<int:form_id>/", views.detail, name="detail"),
    path("<int:form_id>/<str:action>/", views.step, name="step"),
    path("rules/", views.rules, name="rules"),
    path("rules/categories/<int:category_id>/", views.category_edit, name="category_edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("report/", views.report, name="report"),
    path("customers/<int:customer_id>/", views.customer_section, name="customer_section"),
]
