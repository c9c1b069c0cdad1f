from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

GUARD_MIGRATION = "0003_auditevent_append_only"


def _restore_append_only_guard(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """A migration that remakes the audit table (SQLite does for most changes) drops its triggers: put them back."""
    from kamguard.core.audit import append_only_guard_install, append_only_guard_installed

    if getattr(sender, "label", "") != "core":  # sent once per app with models; the table is core's
        return
    conn = connections[using]
    if conn.vendor not in {"sqlite", "postgresql"} or "core_auditevent" not in conn.introspection.table_names():
        return
    from django.db.migrations.recorder import MigrationRecorder

    if ("core", GUARD_MIGRATION) not in MigrationRecorder(conn).applied_migrations():
        return  # not migrated that far yet, or deliberately migrated back below it
    if not append_only_guard_installed(conn):
        append_only_guard_install(conn)


class AuditConfig(AppConfig):
    name = "kamguard.audit"
    label = "audit"
    verbose_name = _("Audit and internal control")

    def ready(self) -> None:
        post_migrate.connect(_restore_append_only_guard, dispatch_uid="kamguard.audit.restore_append_only_guard")
