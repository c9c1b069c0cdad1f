from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kamguard.accounts"
    label = "accounts"
    verbose_name = _("Sign-in and access")

    def ready(self) -> None:
        from kamguard.accounts import receivers  # noqa: F401
