from django.urls import path

from kamguard.sales import views

app_name = "sales"

urlpatterns = [
    path("", views.home, name="home"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:opportunity_id>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:opportunity_id>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:opportunity_id>/move/", views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:opportunity_id>/quotes/new/", views.quote_create, name="quote_create"),
    path("quotes/<int:quote_id>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:quote_id>/edit/", views.quote_edit, name="quote_edit"),
    path("quotes/<int:quote_id>/submit/", views.quote_submit, name="quote_submit"),
    path("customers/<int:customer_id>/", views.customer_opportunities, name="customer_opportunities"),
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_edit, name="product_create"),
    path("products/<int:product_id>/", views.product_edit, name="product_edit"),
    path("stages/", views.stage_list, name="stage_list"),
    path("stages/new/", views.stage_edit, name="stage_create"),
    path("stages/<int:stage_id>/", views.stage_edit, name="stage_edit"),
    path("discount-authority/", views.authority_list, name="authority_list"),
    path("discount-authority/new/", views.authority_edit, name="authority_create"),
    path("discount-authority/<int:authority_id>/", views.authority_edit, name="authority_edit"),
    path("discount-authority/<int:authority_id>/delete/", views.authority_delete, name="authority_delete"),
    path("forecasts/", views.forecast_page, name="forecasts"),
    path("settings/", views.settings_edit, name="settings"),
]
