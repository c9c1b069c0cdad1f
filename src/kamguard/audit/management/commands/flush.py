"""`flush`, with the audit trail's append-only guard lifted for its duration and restored after.

Django's own `flush` empties every table (SQLite: DELETE FROM each table, which the append-only trigger
refuses). Transactional tests flush between tests, and so may an operator starting over. Emptying the
whole database is not an edit of the trail, so it is allowed; the guard is back when flush ends, even
when it fails.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from kamguard.core.audit import append_only_guard_install, append_only_guard_remove


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        conn = connections[options.get("database") or DEFAULT_DB_ALIAS]
        table_exists = "core_auditevent" in conn.introspection.table_names()
        if table_exists:
            append_only_guard_remove(conn)
        try:
            super().handle(**options)
        finally:
            if table_exists:
                append_only_guard_install(conn)
