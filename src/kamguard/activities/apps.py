from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "kamguard.activities"
    label = "activities"
    verbose_name = _("Visits and contacts")

    def ready(self) -> None:
        from kamguard.activities import imports  # noqa: F401 - registers the import kind `activities`

