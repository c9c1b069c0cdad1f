"""What `kamguard import` and `kamguard export` share: the acting person, the audit channel, the summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.core.management.base import CommandError

from kamguard.core.audit import audit_record
from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
from kamguard.core.errors import DomainError, PermissionRefused
from kamguard.core.io.report import ImportReport
from kamguard.org.models import User


class Writer(Protocol):
    def write(self, text: str) -> Any: ...


EXIT_ROWS_BAD = 1
EXIT_FILE_BAD = 2


def actor_resolve(username: str | None) -> User | None:
    """--as USERNAME acts as that person (their rights and data scope); without it, the system acts."""
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--as {username}: no such user.", returncode=EXIT_FILE_BAD)
    if not user.is_active:
        raise CommandError(f"--as {username}: this account is deactivated.", returncode=EXIT_FILE_BAD)
    return user


@contextmanager
def cli_channel() -> Iterator[None]:
    token = set_request_meta(RequestMeta(channel="cli"))
    try:
        yield
    finally:
        reset_request_meta(token)


def file_error(exc: DomainError, *, actor: User | None = None, command: str = "") -> CommandError:
    """A refusal or a file problem: exit 2. Refusals are audited, as on the pages and the API."""
    if isinstance(exc, PermissionRefused):
        audit_record(actor=actor, action="permission.refused", object_type="command", object_id=command[:64],
                     reason=f"{exc.code}: {exc.extra.get('right', '')}".strip(": "))
    return CommandError(f"{exc.message} [{exc.code}]", returncode=EXIT_FILE_BAD)


def report_print(report: ImportReport, out: Writer, *, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    mode = " (dry run)" if report.dry_run else " (atomic)" if report.atomic else ""
    out.write(f"Import of {report.kind} from {report.format}{mode}\n")
    width = 10
    for label, value in (("rows", report.total), ("created", report.created), ("updated", report.updated),
                         ("unchanged", report.unchanged), ("errors", report.failed)):
        out.write(f"  {label:<{width}} {value:>8}\n")
    for problem in report.warnings:
        out.write(f"warning: {problem.as_text()}\n")
    for problem in report.errors:
        out.write(f"{problem.as_text()}\n")
    if report.dry_run:
        out.write("Dry run: nothing was written.\n")
    elif not report.written:
        out.write("Nothing was written: --atomic and some rows are bad.\n")
