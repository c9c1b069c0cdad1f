"""`kamguard import KIND FILE`: import records from CSV, XLSX or JSON Lines (docs/import-formats.md).

Exit status: 0 every row imported, 1 some rows bad (reported; the others imported unless --atomic),
2 the file or the command is wrong (nothing written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kamguard.core.errors import DomainError
from kamguard.core.io.commands import (
    EXIT_FILE_BAD,
    EXIT_ROWS_BAD,
    actor_resolve,
    cli_channel,
    file_error,
    report_print,
)
from kamguard.core.io.runner import import_run, size_check


class Command(BaseCommand):
    help = "Import KIND (org, users, …) from a CSV, XLSX or JSON Lines file. Idempotent by external_id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="What the file holds: org, users, …")
        parser.add_argument("file", help="The file to import (.csv, .xlsx or .jsonl).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--atomic", action="store_true", help="Write nothing if any row is bad.")
        parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx", "jsonl"],
                            help="The file's format when its extension does not say it.")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="Act as this person (their rights); default: the system.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.", returncode=EXIT_FILE_BAD)
        with cli_channel():
            actor = actor_resolve(options["as_user"])
            try:
                size_check(path.stat().st_size)
                data = path.read_bytes()
                report = import_run(actor=actor, kind=options["kind"], data=data, filename=path.name,
                                    file_format=options["file_format"], dry_run=options["dry_run"],
                                    atomic=options["atomic"])
            except DomainError as exc:
                raise file_error(exc, actor=actor, command=f"import {options['kind']}") from exc
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}", returncode=EXIT_FILE_BAD) from exc
        report_print(report, self.stdout, as_json=options["json"])
        if report.errors:
            raise CommandError(f"{report.failed} of {report.total} rows were not imported.", returncode=EXIT_ROWS_BAD)
