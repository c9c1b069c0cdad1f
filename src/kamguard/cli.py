"""The `kamguard` command: a thin front over Django's management commands.

    kamguard serve | worker | scheduler | migrate | createadmin | demo | import | export | audit verify | reseal
             | dedupe check | dedupe scan | risk scan

Configuration comes from KAMGUARD_* environment variables (see docs/configuration.md), so several
instances can run side by side on one machine with different KAMGUARD_DATA_DIR and ports.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "Run the web server (waitress) with static files."),
    "worker": ("db_worker", "Run a background worker for queued tasks (django-tasks database backend)."),
    "scheduler": ("scheduler", "Enqueue periodic jobs, once per job and period (safe to run several)."),
    "migrate": ("migrate", "Create or upgrade the database tables."),
    "createadmin": ("createadmin", "Create an administrator account."),
    "demo": ("demo", "Build a fresh demo database with a realistic organisation, then serve it."),
    "import": ("kg_import", "Import KIND from a CSV, XLSX or JSON Lines file."),
    "export": ("kg_export", "Export KIND to a CSV, XLSX or JSON Lines file."),
    "audit": ("audit", "Audit trail commands: `kamguard audit verify`."),
    "dedupe": ("dedupe", "Duplicate check: `kamguard dedupe check NAME` / `kamguard dedupe scan`."),
    "risk": ("risk", "Risk engine: `kamguard risk scan [--as-of DATE] --json`."),
    "reseal": ("reseal", "Re-seal stored secrets with the first key of KAMGUARD_FIELD_KEYS (key rotation)."),
    "check": ("check", "Check the configuration (add --deploy for production checks)."),
    "manage": ("", "Run any Django management command: kamguard manage COMMAND …"),
}

SUBCOMMANDS = {("audit", "verify"): "audit_verify"}


def _usage() -> str:
    lines = ["usage: kamguard COMMAND [options]", "", "Commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name:<12} {text}")
    lines += ["", "Run `kamguard COMMAND --help` for a command's options.",
              "Environment: KAMGUARD_DATA_DIR, KAMGUARD_DATABASE_URL, KAMGUARD_SECRET_KEY, KAMGUARD_DEBUG, "
              "KAMGUARD_ENV (production), KAMGUARD_ALLOWED_HOSTS."]
    return "\n".join(lines)


def _prepare_environment() -> None:
    production = os.environ.get("KAMGUARD_ENV", "").lower() == "production"
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", "kamguard.settings.production" if production else "kamguard.settings.base"
    )
    if not os.environ.get("KAMGUARD_SECRET_KEY") and not production:
        from kamguard.settings.env import data_dir

        # A single-machine install keeps its own key beside its data; production sets it explicitly.
        directory = data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        key_file = directory / "secret.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        os.environ["KAMGUARD_SECRET_KEY"] = key_file.read_text().strip()
    from kamguard.settings.env import data_dir as _data_dir

    # Static files are served from the installed apps (WhiteNoise finders) until `collectstatic` fills this.
    (_data_dir() / "static").mkdir(parents=True, exist_ok=True)


def _prepare_demo(rest: list[str]) -> list[str]:
    """The demo works on a fresh database of its own: never the operator's main database.

    `--database-url URL` names another one explicitly (e.g. PostgreSQL for a scaled benchmark demo).
    Second factors are not required in the demo, so every printed login works at once.
    """
    url = ""
    remaining: list[str] = []
    iterator = iter(rest)
    for arg in iterator:
        if arg == "--database-url":
            url = next(iterator, "")
        elif arg.startswith("--database-url="):
            url = arg.split("=", 1)[1]
        else:
            remaining.append(arg)
    if not url:
        from kamguard.settings.env import data_dir

        directory = data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        database = directory / "demo.sqlite3"
        if "-h" not in remaining and "--help" not in remaining:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{database}"
        remaining.append("--force")
    os.environ["KAMGUARD_DATABASE_URL"] = url
    os.environ.setdefault("KAMGUARD_TOTP_REQUIRED_ROLES", "")
    return remaining


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"kamguard: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    if name == "manage":
        if not rest:
            print("usage: kamguard manage COMMAND [options]", file=sys.stderr)
            return 2
        command, rest = rest[0], rest[1:]
    elif name == "audit":
        if not rest or rest[0] in {"-h", "--help"}:
            print("usage: kamguard audit verify [--json]\n\n  verify   Check the hash chain of the audit trail; "
                  "exit 1 and name the first bad event if it was tampered with.")
            return 0 if rest else 2
        command = SUBCOMMANDS.get((name, rest[0]), "")
        if not command:
            print(f"kamguard audit: unknown subcommand {rest[0]!r}; try `kamguard audit verify`", file=sys.stderr)
            return 2
        rest = rest[1:]
    else:
        command = COMMANDS[name][0]
    if name == "demo":
        rest = _prepare_demo(rest)
    _prepare_environment()
    try:
        if name == "manage":
            from django.core.management import execute_from_command_line

            execute_from_command_line(["kamguard manage", command, *rest])
        else:
            import django
            from django.core.management import get_commands, load_command_class

            django.setup()
            display = "audit verify" if command == "audit_verify" else name
            # run_from_argv prints "usage: kamguard <display>", parses the options, and turns a
            # CommandError into a message and exit status 1.
            load_command_class(get_commands()[command], command).run_from_argv(["kamguard", display, *rest])
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
