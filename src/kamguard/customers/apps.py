from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kamguard.customers"
    label = "customers"
    verbose_name = _("Customers and ownership")

    def ready(self) -> None:
        from kamguard.approvals.registry import subject_register
        from kamguard.customers.approvals import TransferHandler

        subject_register(TransferHandler())
