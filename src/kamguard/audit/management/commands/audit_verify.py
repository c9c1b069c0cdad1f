"""`kamguard audit verify [--json] [--record]`: check the audit trail's hash chain.

Reads the events in sequence order a chunk at a time (flat memory on millions of rows). Prints
"OK: N events, chain intact", or names the first bad event and exits 1.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kamguard.audit.services import CHUNK_SIZE, chain_verify, chain_verify_and_record
from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta


class Command(BaseCommand):
    help = "Check the hash chain of the audit trail; exit 1 and name the first bad event if it was tampered with."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        parser.add_argument("--record", action="store_true",
                            help="Also record the result in the trail (audit.chain.verified).")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="Events read per database round trip.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        token = set_request_meta(RequestMeta(channel="cli"))
        try:
            if options["record"]:
                result = chain_verify_and_record(actor=None, chunk_size=options["chunk_size"])
            else:
                result = chain_verify(chunk_size=options["chunk_size"])
        finally:
            reset_request_meta(token)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        elif result.ok:
            self.stdout.write(f"OK: {result.events} events, chain intact")
            if result.head_sequence is not None:
                self.stdout.write(f"Head: #{result.head_sequence} {result.head_digest}")
        else:
            bad = result.first_bad
            assert bad is not None
            self.stdout.write(f"BROKEN: first bad event: sequence {bad.sequence}, id {bad.row_id}: {bad.reason}")
            self.stdout.write(f"{result.events} events before it are intact.")
        if not result.append_only_guard:
            self.stderr.write("Warning: the database does not refuse changes to the audit table (the append-only "
                              "triggers are missing or disabled). Run `kamguard migrate` to restore them.")
        if not result.ok:
            raise CommandError("The audit chain is broken.", returncode=1)
