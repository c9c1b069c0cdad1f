"""`kamguard demo`: build a realistic organisation through the real services, print the logins, serve it.

`kamguard demo` (src/kamguard/cli.py) points the process at a fresh SQLite file of its own,
`<KAMGUARD_DATA_DIR>/demo.sqlite3`, before Django's settings load, and empties the second-factor
requirement so every printed login works at once. This command never wipes anything: it refuses a
database that already has people unless `--force`, and with `--force` adds the demo beside them.
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

MAX_SCALE = 1000
CUSTOMERS_PER_MANAGER = 17.5  # kamguard.demo.customer_plan.CUSTOMERS_PER_MANAGER, without importing models early
MIN_CUSTOMERS_PER_MANAGER = 3.0
MAX_CUSTOMERS_PER_MANAGER = 200.0
LOGIN_ORDER = {label: index for index, label in enumerate(
    ["administrator", "internal auditor", "HR", "finance", "sales director", "supervisor"])}


class Command(BaseCommand):
    help = ("Build a demo organisation (3 regions, 8 teams, about 40 key account managers, specialists, "
            "supervisors, an auditor, finance, HR and an administrator), its shared pools and about 700 customers "
            "with their ownership history through the real services, print the logins and serve it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument("--no-serve", action="store_true", help="Build the demo and exit; do not serve it.")
        parser.add_argument("--scale", type=int, default=1,
                            help="Multiply the teams, managers and customers by N for benchmarks (50 → ~2,000 "
                                 "managers in 400 teams, ~35,000 customers). Default 1.")
        parser.add_argument("--seed", type=int, default=42,
                            help="Seed for names, phones and dates: the same seed gives the same demo (default 42).")
        parser.add_argument("--customers-per-manager", type=float, default=CUSTOMERS_PER_MANAGER,
                            help=f"Customers per active key account manager, a quarter of them in the shared pools "
                                 f"(default {CUSTOMERS_PER_MANAGER}: about 700 at scale 1; at least "
                                 f"{MIN_CUSTOMERS_PER_MANAGER}, enough for every story of the history).")
        parser.add_argument("--database-url", default="",
                            help="Build in this database instead of <KAMGUARD_DATA_DIR>/demo.sqlite3 (read by the "
                                 "`kamguard` command before settings load).")
        parser.add_argument("--force", action="store_true",
                            help="Build even though the database already has people (nothing is deleted; the demo "
                                 "is added beside them).")

    def handle(self, *args: Any, **options: Any) -> None:
        scale, seed = options["scale"], options["seed"]
        if not 1 <= scale <= MAX_SCALE:
            raise CommandError(f"--scale must be between 1 and {MAX_SCALE}.")
        per_manager = options["customers_per_manager"]
        if not MIN_CUSTOMERS_PER_MANAGER <= per_manager <= MAX_CUSTOMERS_PER_MANAGER:
            raise CommandError(f"--customers-per-manager must be between {MIN_CUSTOMERS_PER_MANAGER:g} and "
                               f"{MAX_CUSTOMERS_PER_MANAGER:g}.")
        if options["database_url"]:
            _ensure_database_is(options["database_url"])
        if not options["no_serve"] and not 0 < options["port"] < 65536:
            raise CommandError("--port must be between 1 and 65535.")
        from kamguard.core.errors import DomainError
        from kamguard.demo.build import demo_company_name, today, world_build
        from kamguard.demo.customer_build import try_this
        from kamguard.demo.customer_plan import plan_customers
        from kamguard.demo.plan import DEMO_PASSWORD, plan_world
        from kamguard.org.models import User

        # Refuse before migrating: a real database is left exactly as it was, not even upgraded.
        people = _people_count()
        if people and not options["force"]:
            raise CommandError(
                f"This database already has {people} people: the demo is meant for a fresh database. "
                "Run `kamguard demo` (it builds in <KAMGUARD_DATA_DIR>/demo.sqlite3), name an empty database with "
                "--database-url, or pass --force to add the demo beside the existing data.")
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        migrated = time.perf_counter()
        plan = plan_world(seed=seed, scale=scale, as_of=today(), company_name=demo_company_name(),
                          taken_usernames=set(User.objects.values_list("username", flat=True)))
        customers = plan_customers(plan, as_of=today(), customers_per_manager=per_manager)
        try:
            world = world_build(plan, password=DEMO_PASSWORD, customers=customers)
        except DomainError as exc:
            details = "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in exc.field_errors.items())
            raise CommandError(f"The demo could not be built: {exc.message} {details}".strip()) from exc
        built = time.perf_counter()

        database = settings.DATABASES["default"]
        built_customers = world.customers
        customer_count = len(built_customers.customers) + built_customers.bulk_customers if built_customers else 0
        self.stdout.write(self.style.SUCCESS(
            f"Demo built in {str(database['ENGINE']).rsplit('.', 1)[-1]} database {database['NAME']}: "
            f"{len(plan.departments)} departments, {len(plan.teams)} teams, {len(plan.people)} people, "
            f"{len(customers.pools)} shared pools, {customer_count} customers (seed {seed}, scale {scale})."))
        self._write_timings(world.timings, migrate=migrated - started, total=built - started)
        self._write_logins(world, DEMO_PASSWORD)
        if built_customers is not None:
            self.stdout.write("Try this (sign in as):")
            lines = try_this(world, built_customers)
            if world.allocation is not None:
                from kamguard.demo.allocation import try_this_allocation

                lines += try_this_allocation(world.allocation)
            for line in lines:
                self.stdout.write(f"  - {line}")
            self.stdout.write("")
            from kamguard.demo.build import capability_summary

            made = capability_summary(world)
            if made:
                self.stdout.write("Also in the demo:")
                for line in made:  # a line that starts with spaces is a sub-item of the one before
                    self.stdout.write(f"  {line}" if line.startswith(" ") else f"  - {line}")
                self.stdout.write("")
        self._write_second_factor_note()
        if options["no_serve"]:
            return
        self.stdout.write(f"Sign in at http://{options['host']}:{options['port']}/accounts/login/")
        call_command("serve", host=options["host"], port=options["port"], no_migrate=True)

    def _write_timings(self, timings: dict[str, float], *, migrate: float, total: float) -> None:
        parts = [f"migrate {migrate:.1f}s", *(f"{name} {seconds:.1f}s" for name, seconds in timings.items())]
        self.stdout.write(f"Timing: {total:.1f}s in all — " + ", ".join(parts) + ".")

    def _write_logins(self, world: Any, password: str) -> None:
        rows = [("username", "name", "role", "team", "password")]
        # The people with the widest view first, then the sales line from the top down, team by team.
        shown = sorted((p for p in world.plan.people if not p.is_bulk),
                       key=lambda p: LOGIN_ORDER.get(p.label, len(LOGIN_ORDER)))
        for person in shown:
            label = person.label
            rows.append((person.username, person.full_name, label, world.team_name(person) or
                         world.departments[person.department].name,
                         password if person.left_on is None else "(left: account deactivated)"))
        widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write("Logins (one shared password):")
        for index, row in enumerate(rows):
            self.stdout.write("  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
        bulk = [p for p in world.plan.people if p.is_bulk]
        if bulk:
            examples = ", ".join(p.username for p in bulk[:3])
            self.stdout.write(f"  … and {len(bulk)} more people in {sum(t.is_bulk for t in world.plan.teams)} bulk "
                              f"teams, same password (e.g. {examples}).")
        self.stdout.write("")

    def _write_second_factor_note(self) -> None:
        required = list(getattr(settings, "TOTP_REQUIRED_ROLES", []))
        if not required:
            self.stdout.write("Second factor: off for this demo (KAMGUARD_TOTP_REQUIRED_ROLES is empty), so every "
                              "login above signs in with the password alone.")
        else:
            self.stdout.write(self.style.WARNING(
                f"Second factor: the roles {', '.join(required)} must enrol an authenticator app (TOTP) at first "
                "sign-in. To try the demo without it, run with KAMGUARD_TOTP_REQUIRED_ROLES= (empty)."))


def _people_count() -> int:
    """How many people the database holds; 0 for a database without tables yet."""
    from django.db import connection

    from kamguard.org.models import User

    if User._meta.db_table not in connection.introspection.table_names():
        return 0
    return User.objects.count()


def _ensure_database_is(url: str) -> None:
    """The database is chosen when settings load; here we can only check that it is the one named."""
    import dj_database_url

    try:
        wanted = dj_database_url.parse(url)
    except Exception as exc:  # dj-database-url raises bare errors for unknown schemes
        raise CommandError(f"--database-url is not a valid database URL: {exc}") from exc
    current = settings.DATABASES["default"]
    keys = ("ENGINE", "NAME", "HOST", "PORT")
    if any(str(wanted.get(k) or "") != str(current.get(k) or "") for k in keys):
        raise CommandError(
            "--database-url names another database than the one this process uses. Run `kamguard demo "
            "--database-url URL` (the `kamguard` command chooses the database before settings load) or set "
            "KAMGUARD_DATABASE_URL.")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
