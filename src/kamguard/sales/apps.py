from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "kamguard.sales"
    label = "sales"
    verbose_name = _("Sales pipeline")

    def ready(self) -> None:
        from kamguard.sales import imports  # noqa: F401 - registers the import kind `opportunities`

        try:
            from kamguard.approvals.registry import subject_register
        except ImportError:  # pragma: no cover - the approvals app ships its registry with its models
            return
        from kamguard.sales.services.quotes import quote_handler

        subject_register(quote_handler())
