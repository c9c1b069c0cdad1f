"""`kamguard risk scan [--as-of DATE] [--json]`: the risk engine's scan for operators.

    kamguard risk scan                      today's data; stores the run, its scores and raises alerts
    kamguard risk scan --as-of 2025-03-31   the data as it stood that day (nothing after it is used);
                                            stores the scores, raises no alerts
    kamguard risk scan --json               the ranked list as one JSON object
    kamguard risk scan --no-save            evaluate and print only
    kamguard risk scan --type customer --limit 20

Each line of the ranked list is a subject (customer, manager or order) with its external id, score, and every
signal that fired with its evidence. Exit status 1 with a message when the scan cannot give a result (no data,
an as-of date before any data or in the future); 2 for a malformed date.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
from kamguard.core.errors import DomainError
from kamguard.risk.explain import explain, signal_label
from kamguard.risk.models import ScanKind
from kamguard.risk.services.scan import ScanOutcome, scan_run

USAGE_ERROR = 2


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise CommandError(f"--as-of {value!r} is not a date; write it as YYYY-MM-DD.", returncode=USAGE_ERROR) from exc


def ranked(outcome: ScanOutcome, *, subject_type: str = "", limit: int = 0) -> list[dict[str, Any]]:
    """The ranked list as plain data (what --json prints and what tests read)."""
    rows: list[dict[str, Any]] = []
    for rank, score in enumerate(outcome.evaluation.scores, start=1):
        if subject_type and score.subject_type.value != subject_type:
            continue
        subject = outcome.subjects[(score.subject_type.value, score.subject_id)]
        person = outcome.subjects.get(("manager", subject.person_id)) if subject.person_id else None
        rows.append({
            "rank": rank, "subject_type": score.subject_type.value, "external_id": subject.external_id,
            "id": score.subject_id, "name": subject.label, "score": round(score.score, 4),
            "person": (person.external_id if person else subject.person_id),
            "rollup": round(score.rollup, 4) if score.rollup else None,
            "signals": [dict(e.to_json(), contribution=round(score.contributions.get(e.signal.value, 0.0), 4),
                             explanation=explain(e.key, e.numbers)) for e in score.evidence],
            "related": [{"subject_type": r.subject_type.value, "id": r.subject_id, "score": round(r.score, 4)}
                        for r in score.related[:5]],
        })
        if limit and len(rows) >= limit:
            break
    return rows


class Command(BaseCommand):
    help = "Risk engine: `kamguard risk scan [--as-of DATE] [--json]` prints the ranked signals with evidence."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="{scan}")
        actions.required = True
        scan = actions.add_parser(
            "scan", help="Scan the data and print the ranked customers, managers and orders.",
            description="Evaluate every risk signal on the data as it stood on the as-of date (today by default), "
                        "store the run and its scores, raise alerts (today's scans only) and print the ranked list.")
        scan.add_argument("--as-of", dest="as_of", metavar="DATE",
                          help="Evaluate the data as it stood on this day (YYYY-MM-DD); nothing after it is used.")
        scan.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        scan.add_argument("--type", dest="subject_type", choices=("customer", "manager", "order"), default="",
                          help="Only this kind of subject.")
        scan.add_argument("--limit", type=int, default=0, help="At most this many subjects (default: all).")
        scan.add_argument("--no-save", action="store_true", help="Evaluate and print only; store nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate("en")
        if options["limit"] < 0:
            raise CommandError("--limit cannot be negative.", returncode=USAGE_ERROR)
        as_of = _date(options["as_of"]) if options["as_of"] else None
        token = set_request_meta(RequestMeta(channel="cli"))
        try:
            outcome = scan_run(actor=None, as_of=as_of, kind=ScanKind.COMMAND, save=not options["no_save"])
        except DomainError as error:
            if options["json"]:
                self.stdout.write(json.dumps({"error": {"code": error.code, "message": str(error.message)}},
                                             ensure_ascii=False))
            raise CommandError(str(error.message)) from error
        finally:
            reset_request_meta(token)
        rows = ranked(outcome, subject_type=options["subject_type"], limit=options["limit"])
        run = outcome.run
        if options["json"]:
            self.stdout.write(json.dumps({
                "as_of": run.as_of.isoformat(), "run": run.pk, "saved": run.pk is not None,
                "subjects": len(outcome.evaluation.scores), "alerts_raised": outcome.alerts_raised,
                "raises_alerts": run.raises_alerts, "read": outcome.evaluation.counts, "ranked": rows,
            }, ensure_ascii=False, default=str))
            return
        self.stdout.write(f"Risk scan as of {run.as_of.isoformat()}: {len(outcome.evaluation.scores)} subjects with "
                          f"signals; {outcome.alerts_raised} alerts raised"
                          + ("" if run.raises_alerts else " (a past date raises none)")
                          + ("" if run.pk else " (not saved)") + ".")
        if not rows:
            self.stdout.write("Nothing stands out.")
        for row in rows:
            self.stdout.write("")
            self.stdout.write(f"{row['rank']:>4}. {row['subject_type']:<8} {row['external_id']:<16} "
                              f"{row['score']:.2f}  {row['name']}")
            for signal in row["signals"]:
                self.stdout.write(f"        {signal_label(signal['signal'])} ({signal['score']:.2f}): "
                                  f"{signal['explanation']}")
            if row["rollup"]:
                self.stdout.write(f"        + riskiest customers and orders: {row['rollup']:.2f}")
