"""`kamguard dedupe check NAME …` and `kamguard dedupe scan`: the duplicate check (查重) for operators.

    kamguard dedupe check NAME [--uscc CODE] [--phone PHONE …] [--email E …] [--english-name N] [--json]
    kamguard dedupe check --file FILE [--json]     one name per line, or a CSV with a `name` column
    kamguard dedupe scan [--include-possible] [--chunk-size N] [--json]

The operator runs this as the system: every candidate is shown, by its external id (its primary key when
it has none), name and owner. `check` prints one JSON line per query with --json (verdict and ranked
candidates with score 0–1 and reasons); `scan` reads the customers a chunk at a time and looks each one up
through the key table (never all pairs), then prints the duplicate groups.

A USCC or phone that is not valid only means there is no USCC or phone key: the check runs without it and
says so on stderr. An empty name, a missing file or a file without names exits with status 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kamguard.customers.domain.dedupe import (
    DUPLICATE_THRESHOLD,
    POSSIBLE_THRESHOLD,
    CheckResult,
    Profile,
    blocking_keys,
    customer_profile,
    score,
)
from kamguard.customers.domain.keys import normalise_phone, normalise_uscc
from kamguard.customers.models import Customer, DedupeKey
from kamguard.customers.services.dedupe import (
    LIVE_STATUSES,
    DatabaseCandidates,
    _records,
    candidates_for_viewer,
    customer_dedupe_check,
)

USAGE_ERROR = 2
NAME_COLUMNS = ("name", "customer_name", "company", "名称", "客户名称", "公司名称")


# ---------------------------------------------------------------- queries


@dataclass
class Query:
    """One name to check, with the optional exact keys, and where it came from (for messages)."""

    name: str
    uscc: str | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    english_name: str = ""
    aliases: list[str] = field(default_factory=list)
    source: str = ""


def _split_values(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace(";", "|").split("|") if part.strip()]


def _read_queries(path: str, stdin: TextIO) -> Iterator[Query]:
    """Queries from a file: one name per line, or a CSV whose header has a name column (and optionally
    uscc, phone, email, english_name, aliases). Blank lines are skipped."""
    if path == "-":
        text = stdin.read()
    else:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}", returncode=USAGE_ERROR)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: save it as UTF-8 and try again.",
                               returncode=USAGE_ERROR) from exc
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = [cell.strip().lower() for cell in next(csv.reader([first]))] if first else []
    name_column = next((column for column in NAME_COLUMNS if column in header), None)
    if name_column is None:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield Query(name=" ".join(line.split()), source=f"line {number}")
        return
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [(cell or "").strip().lower() for cell in (reader.fieldnames or [])]
    for row in reader:
        number = reader.line_num
        cells = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(cells.values()):
            continue
        yield Query(name=" ".join(cells.get(name_column, "").split()), uscc=cells.get("uscc") or None,
                    phones=_split_values(cells.get("phone", "") or cells.get("phones", "")),
                    emails=_split_values(cells.get("email", "") or cells.get("website", "")),
                    english_name=cells.get("english_name", ""), aliases=_split_values(cells.get("aliases", "")),
                    source=f"line {number}")


# ---------------------------------------------------------------- output helpers


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _fit(text: str, width: int) -> str:
    """Pad (or cut) to a display width, counting CJK characters as two columns."""
    out: list[str] = []
    used = 0
    for char in text:
        size = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + size > width:
            if out:
                out[-1] = "…"
            break
        out.append(char)
        used += size
    return "".join(out) + " " * (width - _width("".join(out)))


def _table(headers: list[str], rows: list[list[str]], widths: list[int]) -> list[str]:
    lines = ["  ".join(_fit(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(_fit(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return lines


# ---------------------------------------------------------------- scan


class ScanCandidates(DatabaseCandidates):
    """DatabaseCandidates for a scan of the whole table: the same lookup rules, but stop keys found once are
    remembered for the rest of the scan instead of being read again (up to PER_KEY_LIMIT + 1 rows each)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stop_keys: set[str] = set()
        self.queries = 0

    def candidate_ids(self, query: Profile) -> list[int]:
        weights: dict[int, int] = defaultdict(int)
        for key in blocking_keys(query):
            value = key.key[:160]
            if value in self.stop_keys:
                continue
            self.queries += 1
            ids = list(DedupeKey.objects.filter(key=value).values_list("customer_id", flat=True)[
                : self.per_key_limit + 1])
            if len(ids) > self.per_key_limit:
                self.stop_keys.add(value)
                continue
            for customer_id in ids:
                weights[customer_id] += key.weight
        for customer_id in self.exclude_ids:
            weights.pop(customer_id, None)
        ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
        return [customer_id for customer_id, _ in ranked[: self.candidate_limit]]


class ProfileCache:
    """The most recently used candidate profiles, so neighbours of a chunk are not re-read for every member."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._items: OrderedDict[int, Profile] = OrderedDict()

    def get_many(self, ids: list[int]) -> list[Profile]:
        missing = [i for i in ids if i not in self._items]
        for record in _records(missing):
            self.put(int(record.external_id), customer_profile(record))
        found = []
        for customer_id in ids:
            profile = self._items.get(customer_id)
            if profile is not None:
                self._items.move_to_end(customer_id)
                found.append(profile)
        return found

    def put(self, customer_id: int, profile: Profile) -> None:
        self._items[customer_id] = profile
        self._items.move_to_end(customer_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass
class ScanResult:
    customers: int
    threshold: float
    groups: list[tuple[list[int], list[tuple[int, int, float, tuple[str, ...]]]]]  # members, pairs
    names: dict[int, str]
    key_queries: int
    stop_keys: int


def customers_scan(*, include_possible: bool = False, chunk_size: int = 500,
                   progress: Any = None) -> ScanResult:
    """Duplicate groups across all live customers, looked up through the key table a chunk at a time.

    Memory holds one chunk, a bounded cache of candidate profiles and the pairs at or above the threshold —
    never all customers or all pairs. A pair found from both sides is reported once.
    """
    threshold = POSSIBLE_THRESHOLD if include_possible else DUPLICATE_THRESHOLD
    source = ScanCandidates()
    cache = ProfileCache()
    parent: dict[int, int] = {}

    def find(item: int) -> int:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    found: dict[tuple[int, int], tuple[int, int, float, tuple[str, ...]]] = {}
    names: dict[int, str] = {}
    scanned, last_pk = 0, 0
    live = Customer.objects.filter(status__in=LIVE_STATUSES)
    while True:
        chunk = list(live.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:chunk_size])
        if not chunk:
            break
        last_pk = chunk[-1]
        for record in _records(chunk):
            customer_id = int(record.external_id)
            profile = customer_profile(record)
            cache.put(customer_id, profile)
            source.exclude_ids = {customer_id}
            for candidate in cache.get_many(source.candidate_ids(profile)):
                other = int(candidate.external_id)
                pair = (min(customer_id, other), max(customer_id, other))
                if pair in found:
                    continue
                match = score(profile, candidate)
                if match.score >= threshold:
                    found[pair] = (customer_id, other, match.score, match.reasons)
                    names[customer_id], names[other] = profile.display_name, candidate.display_name
                    parent[find(customer_id)] = find(other)
        scanned += len(chunk)
        if progress is not None:
            progress(scanned, len(found))
    members: dict[int, list[int]] = defaultdict(list)
    for item in list(parent):
        members[find(item)].append(item)
    pairs: dict[int, list[tuple[int, int, float, tuple[str, ...]]]] = defaultdict(list)
    for pair_found in found.values():
        pairs[find(pair_found[0])].append(pair_found)
    groups = [(sorted(ids), sorted(pairs[root], key=lambda p: (-p[2], p[0], p[1])))
              for root, ids in members.items()]
    groups.sort(key=lambda group: (-len(group[0]), group[0]))
    return ScanResult(customers=scanned, threshold=threshold, groups=groups, names=names,
                      key_queries=source.queries, stop_keys=len(source.stop_keys))


# ---------------------------------------------------------------- the command


class Command(BaseCommand):
    help = "Duplicate check: `kamguard dedupe check NAME` (or --file FILE) and `kamguard dedupe scan`."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="{check,scan}")
        actions.required = True
        check = actions.add_parser(
            "check", help="Check one name, or every name in a file, against the customers.",
            description="Check names against the registered customers: the verdict (duplicate, "
                        "possible_duplicate, unique) and the ranked candidates with score 0-1 and reasons.")
        check.add_argument("name", nargs="?", help="The customer name as it would be registered.")
        check.add_argument("--file", metavar="FILE",
                           help="Names to check: one per line, or a CSV with a name column (and optionally "
                                "uscc, phone, email, english_name, aliases); - reads standard input.")
        check.add_argument("--uscc", help="Unified social credit code.")
        check.add_argument("--phone", action="append", default=[], help="A contact phone (repeatable).")
        check.add_argument("--email", action="append", default=[],
                           help="A contact e-mail or the web site (repeatable).")
        check.add_argument("--english-name", default="", help="The English name.")
        check.add_argument("--alias", action="append", default=[], help="Another name (repeatable).")
        check.add_argument("--limit", type=int, default=10, help="Candidates shown per query (default 10).")
        check.add_argument("--json", action="store_true", help="One JSON object per query, one per line.")
        scan = actions.add_parser(
            "scan", help="Find duplicate groups across the whole database.",
            description="Look every live customer up through the key table, a chunk at a time, and print the "
                        "groups of customers that are duplicates of each other.")
        scan.add_argument("--include-possible", action="store_true",
                          help=f"Also group possible duplicates (score ≥ {POSSIBLE_THRESHOLD:.2f}, not only "
                               f"≥ {DUPLICATE_THRESHOLD:.2f}).")
        scan.add_argument("--chunk-size", type=int, default=500, help="Customers read per round trip.")
        scan.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        scan.add_argument("--progress", action="store_true", help="Report progress on stderr.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            self._check(options)
        else:
            self._scan(options)

    # ------------------------------------------------------------ check

    def _warn(self, message: str) -> None:
        self.stderr.write(f"warning: {message}")

    def _queries(self, options: dict[str, Any]) -> Iterable[Query]:
        if options["file"] and options["name"]:
            raise CommandError("Give a NAME or --file FILE, not both.", returncode=USAGE_ERROR)
        if options["file"]:
            return _read_queries(options["file"], sys.stdin)
        name = " ".join((options["name"] or "").split())
        if not name:
            raise CommandError("Give the customer name to check (or --file FILE): the name is empty.",
                               returncode=USAGE_ERROR)
        return [Query(name=name, uscc=options["uscc"], phones=options["phone"], emails=options["email"],
                      english_name=options["english_name"], aliases=options["alias"])]

    def _clean(self, query: Query) -> Query | None:
        where = f"{query.source}: " if query.source else ""
        if not query.name:
            self._warn(f"{where}no name; skipped.")
            return None
        if query.uscc and normalise_uscc(query.uscc) is None:
            self._warn(f"{where}{query.uscc!r} is not a valid unified social credit code; checked without it "
                       "(no USCC key).")
            query.uscc = None
        phones = []
        for phone in query.phones:
            if normalise_phone(phone) is None:
                self._warn(f"{where}{phone!r} is not a valid phone number; checked without it.")
            else:
                phones.append(phone)
        query.phones = phones
        return query

    def _candidates(self, result: CheckResult) -> list[dict[str, Any]]:
        views = candidates_for_viewer(viewer=None, result=result)
        return [{"external_id": view.external_id or str(view.customer_id), "customer_id": view.customer_id,
                 "name": view.name, "score": round(view.score, 4), "reasons": list(view.reasons),
                 "owner": view.owner_name} for view in views]

    def _check(self, options: dict[str, Any]) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.", returncode=USAGE_ERROR)
        checked = 0
        verdicts: dict[str, int] = defaultdict(int)
        for raw in self._queries(options):
            query = self._clean(raw)
            if query is None:
                continue
            result = customer_dedupe_check(name=query.name, uscc=query.uscc, english_name=query.english_name,
                                           aliases=query.aliases, phones=query.phones, emails=query.emails,
                                           limit=options["limit"])
            candidates = self._candidates(result)
            checked += 1
            verdicts[result.verdict] += 1
            if options["json"]:
                self.stdout.write(json.dumps({"query": query.name, "verdict": result.verdict,
                                              "candidates": candidates}, ensure_ascii=False))
            else:
                self._print_check(query, result.verdict, candidates)
        if checked == 0:
            raise CommandError("No names to check: the file is empty or has only blank lines.",
                               returncode=USAGE_ERROR)
        if not options["json"] and checked > 1:
            summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
            self.stdout.write(f"{checked} names checked: {summary}")

    def _print_check(self, query: Query, verdict: str, candidates: list[dict[str, Any]]) -> None:
        self.stdout.write(f"{query.name}: {verdict}")
        if not candidates:
            self.stdout.write("  no similar customers")
        else:
            rows = [[str(i), c["external_id"], f"{c['score']:.2f}", c["name"], c["owner"], "; ".join(c["reasons"])]
                    for i, c in enumerate(candidates, start=1)]
            for line in _table(["#", "external id", "score", "name", "owner", "reasons"], rows,
                               [2, 16, 5, 36, 12, 40]):
                self.stdout.write("  " + line)
        self.stdout.write("")

    # ------------------------------------------------------------ scan

    def _scan(self, options: dict[str, Any]) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.", returncode=USAGE_ERROR)

        def progress(scanned: int, pairs: int) -> None:
            if options["progress"]:
                self.stderr.write(f"{scanned} customers scanned, {pairs} pairs found")

        result = customers_scan(include_possible=options["include_possible"], chunk_size=options["chunk_size"],
                                progress=progress)
        ids = sorted({i for members, _pairs in result.groups for i in members})
        external: dict[int, str | None] = {}
        for start in range(0, len(ids), 1000):
            external.update(Customer.objects.filter(pk__in=ids[start:start + 1000]).values_list("pk", "external_id"))

        def label(customer_id: int) -> str:
            return external.get(customer_id) or str(customer_id)

        groups: list[dict[str, Any]] = []
        for members, pairs in result.groups:
            groups.append({
                "customers": [{"external_id": label(i), "customer_id": i, "name": result.names.get(i, "")}
                              for i in members],
                "pairs": [{"first": label(a), "second": label(b), "score": round(s, 4), "reasons": list(r)}
                          for a, b, s, r in pairs],
            })
        if options["json"]:
            self.stdout.write(json.dumps({"customers_scanned": result.customers, "threshold": result.threshold,
                                          "include_possible": options["include_possible"], "groups": groups},
                                         ensure_ascii=False))
            return
        kind = "duplicate or possible duplicate" if options["include_possible"] else "duplicate"
        self.stdout.write(f"{result.customers} customers scanned; {len(groups)} {kind} groups "
                          f"(pairs scoring ≥ {result.threshold:.2f}).")
        for number, group in enumerate(groups, start=1):
            self.stdout.write("")
            self.stdout.write(f"Group {number}: {len(group['customers'])} customers")
            for customer in group["customers"]:
                self.stdout.write(f"  {_fit(customer['external_id'], 16)}  {customer['name']}")
            for pair in group["pairs"]:
                self.stdout.write(f"    {pair['first']} ~ {pair['second']}  {pair['score']:.2f}  "
                                  f"{'; '.join(pair['reasons'])}")
