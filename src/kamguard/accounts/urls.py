from django.urls import path

from kamguard.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.totp_verify, name="totp_verify"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("security/", views.security, name="security"),
    path("security/password/", views.password_change, name="password_change"),
    path("security/authenticator/", views.totp_enrol, name="totp_enrol"),
    path("security/authenticator/reset/", views.totp_reset, name="totp_reset"),
    path("security/sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("security/sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    path("security/tokens/new/", views.token_create, name="token_create"),
    path("security/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("people/<int:user_id>/access/", views.person_access, name="person_access"),
    path("people/<int:user_id>/access/authenticator/reset/", views.person_totp_reset, name="person_totp_reset"),
]
