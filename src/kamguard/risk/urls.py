from django.urls import path

from kamguard.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.home, name="home"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/suppress/", views.alert_suppress, name="alert_suppress"),
    path("alerts/<int:alert_id>/confirm/", views.alert_confirm, name="alert_confirm"),
    path("alerts/<int:alert_id>/false/", views.alert_false, name="alert_false"),
    path("alerts/<int:alert_id>/reopen/", views.alert_reopen, name="alert_reopen"),
    path("alerts/<int:alert_id>/case/", views.alert_case_open, name="alert_case_open"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/note/", views.case_note, name="case_note"),
    path("cases/<int:case_id>/interview/", views.case_interview, name="case_interview"),
    path("cases/<int:case_id>/attachment/", views.case_attachment, name="case_attachment"),
    path("cases/<int:case_id>/close/", views.case_close, name="case_close"),
    path("cases/<int:case_id>/reopen/", views.case_reopen, name="case_reopen"),
    path("cases/<int:case_id>/penalty/", views.case_penalty, name="case_penalty"),
    path("cases/<int:case_id>/share/", views.case_share, name="case_share"),
    path("cases/<int:case_id>/unshare/", views.case_unshare, name="case_unshare"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("penalties/", views.penalty_list, name="penalty_list"),
    path("scans/", views.run_list, name="run_list"),
    path("scans/new/", views.scan_start, name="scan_start"),
    path("scans/<int:run_id>/", views.run_detail, name="run_detail"),
    path("settings/", views.settings_page, name="settings"),
]
