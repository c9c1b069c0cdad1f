from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "kamguard.contracts"
    label = "contracts"
    verbose_name = _("Contracts, orders and payments")

    def ready(self) -> None:
        from kamguard.contracts import imports  # noqa: F401 - registers the import kinds `orders` and `payments`
        from kamguard.contracts.approval import register

        register()
