"""`kamguard reseal`: seal every stored secret again with the first key of KAMGUARD_FIELD_KEYS — the middle step
of a key rotation (put the new key first, reseal, then remove the old key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kamguard.accounts.models import TOTPDevice
from kamguard.core.audit import audit_record
from kamguard.core.sealing import SealBroken, reseal


class Command(BaseCommand):
    help = "Re-seal stored secrets (authenticators) with the first key of KAMGUARD_FIELD_KEYS, after adding a new key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-sealed; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        devices = list(TOTPDevice.objects.order_by("pk").values_list("pk", "user_id", "secret"))
        fresh: list[tuple[int, str]] = []
        broken: list[int] = []
        for pk, user_id, secret in devices:
            try:
                fresh.append((pk, reseal(secret)))
            except SealBroken:
                broken.append(user_id)
        if broken:
            raise CommandError(
                f"{len(broken)} authenticator(s) cannot be opened with any key in KAMGUARD_FIELD_KEYS (users "
                f"{', '.join(map(str, broken[:20]))}{' …' if len(broken) > 20 else ''}): add the key they were sealed "
                "with back to KAMGUARD_FIELD_KEYS, or reset those people's second factor. Nothing was changed.")
        if options["dry_run"]:
            self.stdout.write(f"{len(fresh)} authenticator secret(s) would be re-sealed with the first key.")
            return
        with transaction.atomic():
            for pk, sealed in fresh:
                TOTPDevice.objects.filter(pk=pk).update(secret=sealed)
            audit_record(actor=None, action="auth.secrets.resealed", obj=None,
                         changes={"authenticators": {"before": None, "after": len(fresh)}})
        self.stdout.write(f"{len(fresh)} authenticator secret(s) re-sealed with the first key of KAMGUARD_FIELD_KEYS.")
