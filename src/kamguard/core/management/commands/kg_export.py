"""`kamguard export KIND FILE`: every record of KIND the actor may see, as CSV, XLSX or JSON Lines.

Without --as the system exports (everything, contact data unmasked); with --as the person's data scope,
masking and export right apply. Every export is recorded in the audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kamguard.core.errors import DomainError
from kamguard.core.io.commands import EXIT_FILE_BAD, actor_resolve, cli_channel, file_error
from kamguard.core.io.runner import export_run


class Command(BaseCommand):
    help = "Export KIND (org, users, …) to a CSV, XLSX or JSON Lines file, in the import columns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="What to export: org, users, …")
        parser.add_argument("file", help="The file to write (.csv, .xlsx or .jsonl).")
        parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx", "jsonl"],
                            help="The format when the file's extension does not say it.")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="Act as this person (their scope and export right); default: the system.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        with cli_channel():
            actor = actor_resolve(options["as_user"])
            try:
                exported = export_run(actor=actor, kind=options["kind"], file_format=options["file_format"],
                                      filename=path.name)
            except DomainError as exc:
                raise file_error(exc, actor=actor, command=f"export {options['kind']}") from exc
        try:
            path.write_bytes(exported.content)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}", returncode=EXIT_FILE_BAD) from exc
        self.stdout.write(f"Exported {exported.rows} {exported.kind} rows to {path} ({exported.format.value}).")
