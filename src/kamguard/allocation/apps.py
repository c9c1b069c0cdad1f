from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllocationConfig(AppConfig):
    name = "kamguard.allocation"
    label = "allocation"
    verbose_name = _("Allocation")

    def ready(self) -> None:
        from kamguard.allocation import imports  # noqa: F401 - registers the import kind `leads`
