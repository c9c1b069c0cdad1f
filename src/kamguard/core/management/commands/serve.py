"""`kamguard serve`: the web server (waitress, multi-threaded) with static files served by WhiteNoise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve KAMGuard over HTTP. Put a TLS-terminating proxy in front of it in production."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument("--threads", type=int, default=8, help="Worker threads (default 8).")
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply pending migrations first.")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import call_command

        if not 0 < options["port"] < 65536:
            raise CommandError("--port must be between 1 and 65535.")
        if options["threads"] < 1:
            raise CommandError("--threads must be at least 1.")
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        from waitress import serve

        from kamguard.wsgi import application

        self.stdout.write(f"KAMGuard listening on http://{options['host']}:{options['port']}/  (Ctrl+C to stop)")
        serve(application, host=options["host"], port=options["port"], threads=options["threads"],
              ident="KAMGuard", clear_untrusted_proxy_headers=True)
