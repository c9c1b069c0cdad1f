"""`kamguard createadmin`: create an administrator through the same service as the people pages."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kamguard.core.errors import DomainError

PASSWORD_ENV = "KAMGUARD_ADMIN_PASSWORD"  # noqa: S105 - the variable's name, not a password


class Command(BaseCommand):
    help = (
        "Create an administrator account. The password comes from --password, or the environment variable "
        f"{PASSWORD_ENV}, or is asked for (twice) when run in a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True, help="Sign-in name, e.g. admin.")
        parser.add_argument("--full-name", required=True, help="The person's name as shown in KAMGuard.")
        parser.add_argument("--email", default="", help="E-mail address.")
        parser.add_argument("--password", default=None,
                            help=f"The password (prefer {PASSWORD_ENV}: command lines are visible to others).")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="Never prompt; fail if no password was given.")

    def _password(self, options: dict[str, Any]) -> str:
        if options.get("password"):
            return str(options["password"])
        from_env = os.environ.get(PASSWORD_ENV, "")
        if from_env:
            return from_env
        if not options.get("interactive", True) or not sys.stdin.isatty():
            raise CommandError(_("No password given. Pass --password or set %(env)s.") % {"env": PASSWORD_ENV})
        first = getpass.getpass(_("Password: "))
        second = getpass.getpass(_("Password (again): "))
        if first != second:
            raise CommandError(_("The two passwords differ. Run the command again."))
        return first

    def handle(self, *args: Any, **options: Any) -> None:
        from kamguard.org.models import User
        from kamguard.org.services import user_create

        username = str(options["username"]).strip()
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(_("The username “%(username)s” is already taken. Choose another one.")
                               % {"username": username})
        password = self._password(options)
        try:
            user = user_create(actor=None, username=username, full_name=str(options["full_name"]).strip(),
                               email=str(options["email"] or "").strip(), roles=["admin"], password=password)
        except DomainError as exc:
            details = [f"{field}: {message}" for field, messages in exc.field_errors.items() for message in messages]
            raise CommandError(" ".join([str(exc.message), *details])) from exc
        self.stdout.write(self.style.SUCCESS(
            _("Administrator “%(username)s” created. Sign in and set up the authenticator app when asked.")
            % {"username": user.username}))
