"""`kamguard scheduler`: enqueue periodic jobs, once per job and period, however many schedulers run."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kamguard.core.schedule import JOBS, enqueue_due_jobs


class Command(BaseCommand):
    help = "Enqueue periodic jobs (session clean-up hourly, audit chain verification daily). Safe to run several."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Enqueue what is due now, then exit.")
        parser.add_argument("--interval", type=int, default=30, help="Seconds between checks (default 30).")
        parser.add_argument("--list", action="store_true", help="List the periodic jobs and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for job in JOBS:
                when = f"daily from {job.at_hour:02d}:00" if job.period == "daily" else job.period
                self.stdout.write(f"{job.name:<28} {when:<18} {job.task_path}")
            return
        if options["interval"] < 1:
            raise CommandError("--interval must be at least 1 second.")
        running = True

        def stop(*_: Any) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            for name in enqueue_due_jobs():
                self.stdout.write(f"enqueued {name}")
            if options["once"] or not running:
                return
            for _ in range(options["interval"]):
                if not running:
                    return
                time.sleep(1)
