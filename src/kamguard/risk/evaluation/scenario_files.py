"""A scenario as files: one CSV per import (in the import formats of docs/import-formats.md, loaded in the order
of `manifest.json`), `reads.json` for the sensitive reads no import format carries, and the ground truth in
`truth/ground-truth.json` — a separate folder the loader and the scan never read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamguard.risk.domain.scenarios import INDUSTRIES, NOT_IMPORTABLE, Scenario

MANIFEST = "manifest.json"
READS = "reads.json"
TRUTH = Path("truth") / "ground-truth.json"


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def scenario_write(scenario: Scenario, directory: Path) -> Path:
    """Write the scenario's files under `directory`; returns the manifest's path."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for n, (stem, kind, rows) in enumerate(scenario.phases, start=1):
        name = f"{n:02d}-{stem}.csv"
        (directory / name).write_bytes(csv_bytes(rows))
        files.append({"file": name, "kind": kind, "rows": len(rows)})
    (directory / READS).write_text(json.dumps(
        [{"person": r.person, "reveals": r.reveals, "notice_days_ago": r.notice_days_ago} for r in scenario.reads],
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    manifest = {"seed": scenario.seed, "customers": scenario.customers, "as_of": scenario.as_of.isoformat(),
                "industries": [{"code": c, "name": n} for c, n, _w in INDUSTRIES], "files": files, "reads": READS,
                "noise": scenario.noise, "not_importable": list(NOT_IMPORTABLE)}
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    truth = directory / TRUTH
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_text(json.dumps({"seed": scenario.seed, "as_of": scenario.as_of.isoformat(),
                                 "stories": [s.to_json() for s in scenario.truth]}, ensure_ascii=False, indent=1)
                     + "\n", encoding="utf-8")
    return directory / MANIFEST


@dataclass
class LoadedFile:
    file: str
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[str]
    seconds: float


def scenario_load(directory: Path) -> list[LoadedFile]:
    """Load the files of `manifest.json` into the current database: the industries the customers name (reference
    data an administrator keeps), every file through `import_run` as `kamguard import KIND FILE` does, then the
    resignation notices and sensitive reads through the services."""
    import time

    from django.db import transaction

    from kamguard.core.context import RequestMeta, reset_request_meta, set_request_meta
    from kamguard.core.io.runner import import_run
    from kamguard.org.models import Industry

    manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    for industry in manifest["industries"]:
        Industry.objects.get_or_create(code=industry["code"], defaults={"name": industry["name"]})
    loaded = []
    token = set_request_meta(RequestMeta(channel="cli"))
    try:
        for item in manifest["files"]:
            data = (directory / item["file"]).read_bytes()
            started = time.perf_counter()
            if item["rows"]:
                report = import_run(actor=None, kind=item["kind"], data=data, filename=item["file"])
                errors = [p.as_text() for p in report.errors]
                counts = (report.created, report.updated, report.unchanged, report.failed)
            else:
                errors, counts = [], (0, 0, 0, 0)
            loaded.append(LoadedFile(item["file"], item["kind"], item["rows"], *counts, errors=errors,
                                     seconds=round(time.perf_counter() - started, 2)))
        with transaction.atomic():
            reads_apply(json.loads((directory / manifest["reads"]).read_text(encoding="utf-8")),
                        as_of=dt.date.fromisoformat(manifest["as_of"]))
    finally:
        reset_request_meta(token)
    return loaded


def reads_apply(reads: list[dict[str, Any]], *, as_of: dt.date) -> None:
    """Resignation notices (allocation's service) and contact details revealed (the audit trail, as the reveal
    button records them): the data-access pattern, which no import format carries."""
    from kamguard.allocation.services.people import departure_notice_set
    from kamguard.core.audit import AuditEntry, audit_record_many
    from kamguard.customers.models import Contact
    from kamguard.org.models import User

    people = {u.external_id: u for u in User.objects.filter(external_id__in=[r["person"] for r in reads])}
    for read in reads:
        person = people.get(read["person"])
        if person is None:
            continue
        if read.get("notice_days_ago") is not None:
            noticed = as_of - dt.timedelta(days=int(read["notice_days_ago"]))
            departure_notice_set(actor=None, person=person, noticed_on=noticed,
                                 leaves_on=noticed + dt.timedelta(days=30), note="个人原因离职")
        if read["reveals"]:
            contacts = list(Contact.objects.filter(customer__owner=person).order_by("pk")[:60]) or list(
                Contact.objects.order_by("pk")[:60])
            entries = [AuditEntry(action="pii.revealed", object_type="customers.contact", object_id=c.pk,
                                  object_label=str(c), reason="phone")
                       for c in (contacts * (int(read["reveals"]) // max(1, len(contacts)) + 1))[:int(read["reveals"])]]
            audit_record_many(actor=person, entries=entries)
