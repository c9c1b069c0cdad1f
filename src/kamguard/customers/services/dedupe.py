"""The duplicate check (查重) against the database: the pure engine in customers.domain.dedupe, with the
blocking keys stored in customers.DedupeKey so a check is a few indexed lookups, never a scan."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import connection, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from kamguard.core.errors import NotFound
from kamguard.customers.domain.dedupe import (
    PER_KEY_LIMIT,
    CheckResult,
    CustomerRecord,
    Profile,
    blocking_keys,
    customer_profile,
    dedupe_check,
)
from kamguard.customers.models import Contact, Customer, CustomerStatus, DedupeKey, DedupeStopKey
from kamguard.customers.selectors import customer_visibility_q
from kamguard.org.models import User

# The database scores the 20 best-weighted candidates: at a million customers the quality benchmark finds the
# same verdicts as with 60 (docs/performance.md), at a third of the scoring work.
DATABASE_CANDIDATE_LIMIT = 20

LIVE_STATUSES = (CustomerStatus.ACTIVE, CustomerStatus.DORMANT, CustomerStatus.CLOSED)


def _record(pk: int, name: str, aliases: Any, english_name: str, uscc: str | None, website: str, *,
            phones: Sequence[str], emails: Sequence[str]) -> CustomerRecord:
    if isinstance(aliases, str):  # raw SQL: the JSON column's text
        aliases = json.loads(aliases or "[]")
    return CustomerRecord(
        external_id=str(pk), name=name, aliases=tuple(a for a in (aliases or []) if isinstance(a, str)),
        english_names=(english_name,) if english_name else (), uscc=uscc,
        phones=tuple(phones), emails=tuple(emails) + ((website,) if website else ()))


def _records(customer_ids: Sequence[int]) -> list[CustomerRecord]:
    if not customer_ids:
        return []
    phones: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, list[str]] = defaultdict(list)
    for customer_id, phone, email in Contact.objects.filter(customer_id__in=customer_ids, is_active=True).values_list(
            "customer_id", "phone", "email"):
        if phone:
            phones[customer_id].append(phone)
        if email:
            emails[customer_id].append(email)
    rows = Customer.objects.filter(pk__in=customer_ids).values_list(
        "pk", "name", "aliases", "english_name", "uscc", "website")
    return [_record(*row, phones=phones.get(row[0], ()), emails=emails.get(row[0], ())) for row in rows]


def customer_keys_refresh(*, customer_ids: Iterable[int]) -> None:
    """Recompute the stored keys of these customers (after a create, an edit, a contact change or a merge)."""
    ids = list(customer_ids)
    DedupeKey.objects.filter(customer_id__in=ids).delete()
    live = set(Customer.objects.filter(pk__in=ids, status__in=LIVE_STATUSES).values_list("pk", flat=True))
    rows = []
    for record in _records([i for i in ids if i in live]):
        for key in blocking_keys(customer_profile(record)):
            rows.append(DedupeKey(customer_id=int(record.external_id), key=key.key[:160], weight=key.weight))
    DedupeKey.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    dedupe_stop_keys_update(keys=[row.key for row in rows])


# The database's stop-key limit: a key held by more customers than this is skipped by every check without
# reading its rows (DedupeStopKey, kept by customer_keys_refresh and rebuilt daily, holds those keys with
# their counts). The engine's PER_KEY_LIMIT, so the database finds what the in-memory CandidateIndex finds: at
# a million customers a lower limit (500, 1,000) was not faster and changed 2 % of the top candidates
# (docs/performance.md, "Duplicate check speed").
STOP_KEY_LIMIT = PER_KEY_LIMIT


class DatabaseCandidates:
    """The engine's CandidateSource backed by the key table, in one query: the query's keys and their weights
    as a VALUES list joined to the key table's (key, customer_id) index, the stop keys left out before any of
    their rows is read, the weights added up per customer, ranked and limited in the database — only the
    winners cross the wire. ``candidate_profiles`` reads the winners' rows and contacts in the same query.

    The same candidates, weights and order as the engine's in-memory
    ``CandidateIndex(per_key_limit=…, candidate_limit=…).candidates`` on the same data (ties by the id as a
    number), provided the stop-key table was last rebuilt with a threshold at or below ``per_key_limit``."""

    def __init__(self, *, exclude_ids: Iterable[int] = (), per_key_limit: int | None = None,
                 candidate_limit: int = DATABASE_CANDIDATE_LIMIT) -> None:
        self.exclude_ids = {int(i) for i in exclude_ids}
        self.per_key_limit = STOP_KEY_LIMIT if per_key_limit is None else per_key_limit
        self.candidate_limit = candidate_limit

    @staticmethod
    def query_keys(query: Profile) -> dict[str, int]:
        """The query's keys as stored (at most 160 characters) with their weights (the largest, if two meet)."""
        weights: dict[str, int] = {}
        for key in blocking_keys(query):
            value = key.key[:160]
            weights[value] = max(weights.get(value, 0), key.weight)
        return weights

    def _ranked_sql(self, weights: dict[str, int]) -> tuple[str, list[Any]]:
        """SELECT customer_id, total … of the heaviest candidates (ORDER BY total DESC, customer_id LIMIT)."""
        quote = connection.ops.quote_name
        excluded = sorted(self.exclude_ids)
        not_excluded = f" AND d.customer_id NOT IN ({', '.join(['%s'] * len(excluded))})" if excluded else ""
        # Only placeholders and quoted table names are put into the text; every value is a bound parameter.
        sql = (f"WITH q (key, weight) AS (VALUES {', '.join(['(%s, %s)'] * len(weights))}) "  # noqa: S608
               f"SELECT d.customer_id, SUM(q.weight) AS total "
               f"FROM q JOIN {quote(DedupeKey._meta.db_table)} d ON d.key = q.key "
               f"WHERE NOT EXISTS (SELECT 1 FROM {quote(DedupeStopKey._meta.db_table)} s "
               f"WHERE s.key = q.key AND s.customers > %s){not_excluded} "
               f"GROUP BY d.customer_id ORDER BY total DESC, d.customer_id LIMIT %s")
        params: list[Any] = [value for pair in weights.items() for value in pair]
        return sql, [*params, self.per_key_limit, *excluded, self.candidate_limit]

    def candidates(self, query: Profile) -> list[tuple[int, int]]:
        """(customer id, summed weight of the keys it shares with the query), heaviest first, ties by id."""
        weights = self.query_keys(query)
        if not weights:
            return []
        sql, params = self._ranked_sql(weights)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(int(customer_id), int(total)) for customer_id, total in cursor.fetchall()]

    def candidate_ids(self, query: Profile) -> list[int]:
        return [customer_id for customer_id, _ in self.candidates(query)]

    def candidate_profiles(self, query: Profile) -> list[Profile]:
        """The candidates' profiles, in the order of candidate_ids: the lookup, the customers' rows and their
        active contacts in one round trip (each round trip costs more than the work on a busy machine)."""
        if type(self).candidate_ids is not DatabaseCandidates.candidate_ids:  # a subclass's own lookup
            ids = self.candidate_ids(query)
            order = {customer_id: number for number, customer_id in enumerate(ids)}
            return [customer_profile(r) for r in sorted(_records(ids), key=lambda r: order[int(r.external_id)])]
        weights = self.query_keys(query)
        if not weights:
            return []
        ranked, params = self._ranked_sql(weights)
        quote = connection.ops.quote_name
        sql = (f"SELECT r.customer_id, c.name, c.aliases, c.english_name, c.uscc, c.website, t.phone, t.email "  # noqa: S608
               f"FROM ({ranked}) r JOIN {quote(Customer._meta.db_table)} c ON c.id = r.customer_id "
               f"LEFT JOIN {quote(Contact._meta.db_table)} t ON t.customer_id = r.customer_id AND t.is_active "
               f"ORDER BY r.total DESC, r.customer_id, t.id")
        rows: dict[int, tuple[Any, ...]] = {}
        phones: dict[int, list[str]] = defaultdict(list)
        emails: dict[int, list[str]] = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for pk, name, aliases, english_name, uscc, website, phone, email in cursor.fetchall():
                rows.setdefault(pk, (name, aliases, english_name, uscc, website))
                if phone:
                    phones[pk].append(phone)
                if email:
                    emails[pk].append(email)
        return [customer_profile(_record(pk, *row, phones=phones.get(pk, ()), emails=emails.get(pk, ())))
                for pk, row in rows.items()]


def dedupe_stop_keys_update(*, keys: Iterable[str] | None = None, threshold: int | None = None) -> int:
    """Record the stop keys — those held by more than STOP_KEY_LIMIT (or `threshold`) customers — with their
    counts. With `keys` (after a refresh), those not yet recorded are counted and added if they crossed the
    limit; keys already recorded are not counted again — at a million customers a common key such as
    ``b:科技`` has tens of thousands of rows, and recounting it on every write would cost more than the check.
    Without `keys`, the whole table is rebuilt (the daily job): every count refreshed, and the keys that fell
    back under the limit dropped. Returns the number of keys recorded."""
    limit = STOP_KEY_LIMIT if threshold is None else threshold
    if keys is None:
        common = DedupeKey.objects.values("key").annotate(n=Count("customer_id")).filter(n__gt=limit)
        with transaction.atomic():
            DedupeStopKey.objects.all().delete()
            DedupeStopKey.objects.bulk_create([DedupeStopKey(key=row["key"], customers=row["n"]) for row in common],
                                              batch_size=2000)
        return DedupeStopKey.objects.count()
    changed = 0
    key_list = sorted(set(keys))
    for start in range(0, len(key_list), 500):
        chunk = key_list[start:start + 500]
        known = set(DedupeStopKey.objects.filter(key__in=chunk).values_list("key", flat=True))
        fresh = [key for key in chunk if key not in known]
        if not fresh:
            continue
        counts: dict[str, int] = {row["key"]: row["n"] for row in DedupeKey.objects.filter(
            key__in=fresh).values("key").annotate(n=Count("customer_id")).filter(n__gt=limit)}
        if counts:
            DedupeStopKey.objects.bulk_create([DedupeStopKey(key=k, customers=n) for k, n in counts.items()],
                                              ignore_conflicts=True)
            changed += len(counts)
    return changed


def query_profile(*, name: str, uscc: str | None = None, english_name: str = "", aliases: Sequence[str] = (),
                  phones: Sequence[str] = (), emails: Sequence[str] = ()) -> Profile:
    return customer_profile(CustomerRecord(
        external_id="", name=name, aliases=tuple(a for a in aliases if a), uscc=uscc or None,
        english_names=(english_name,) if english_name else (), phones=tuple(p for p in phones if p),
        emails=tuple(e for e in emails if e)))


def customer_dedupe_check(*, name: str, uscc: str | None = None, english_name: str = "",
                          aliases: Sequence[str] = (), phones: Sequence[str] = (), emails: Sequence[str] = (),
                          exclude_ids: Iterable[int] = (), limit: int = 10) -> CheckResult:
    """The full check for one customer as entered. Candidates' external_id is the customer's primary key."""
    profile = query_profile(name=name, uscc=uscc, english_name=english_name, aliases=aliases, phones=phones,
                            emails=emails)
    return dedupe_check(profile, DatabaseCandidates(exclude_ids=exclude_ids), limit=limit)


@dataclass(frozen=True)
class CandidateView:
    """A candidate as one viewer may see it: a customer outside their scope shows only that it exists and
    who owns it — never its details or its id."""

    customer_id: int | None
    name: str
    score: float
    reasons: tuple[str, ...]
    owner_name: str
    owner_team: str
    visible: bool
    external_id: str = ""
    claim_token: str = ""


    def as_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "external_id": self.external_id, "name": self.name,
                "score": round(self.score, 4), "reasons": list(self.reasons), "owner": self.owner_name,
                "owner_team": self.owner_team, "visible": self.visible, "claim_token": self.claim_token}


def candidates_for_viewer(*, viewer: User | None, result: CheckResult) -> list[CandidateView]:
    """What `viewer` may see of the result's candidates, best first."""
    return list(candidate_views(viewer=viewer, result=result).values())


def candidate_views(*, viewer: User | None, result: CheckResult) -> dict[str, CandidateView]:
    """The same, by the candidate's match id (a customer that no longer exists is left out)."""
    return candidate_views_many(viewer=viewer, results=[result])[0]


def candidate_views_many(*, viewer: User | None, results: Sequence[CheckResult]) -> list[dict[str, CandidateView]]:
    """`candidate_views` of several results (a batch's refused rows), with one read of their customers."""
    ids = sorted({int(m.external_id) for result in results for m in result.candidates})
    if not ids:
        return [{} for _result in results]
    rows = {c.pk: c for c in Customer.objects.filter(pk__in=ids).select_related("owner", "owner__team")}
    visible = set(ids) if viewer is None else set(
        Customer.objects.filter(customer_visibility_q(viewer), pk__in=ids).values_list("pk", flat=True))
    answers: list[dict[str, CandidateView]] = []
    for result in results:
        views: dict[str, CandidateView] = {}
        for match in result.candidates:
            customer = rows.get(int(match.external_id))
            if customer is None:
                continue
            owner = customer.owner
            shown = customer.pk in visible
            views[match.external_id] = (CandidateView(
                customer_id=customer.pk if shown else None, external_id=(customer.external_id or "") if shown else "",
                name=match.name, score=match.score, reasons=match.reasons if shown else tuple(
                    r for r in match.reasons if not r.startswith(("same phone", "same mail"))),
                owner_name=owner.full_name if owner else _("shared pool"),
                owner_team=(owner.team.name if owner and owner.team else ""), visible=shown,
                claim_token=claim_token_for(viewer=viewer, customer_id=customer.pk)
                if viewer is not None and owner is not None and owner.pk != viewer.pk else ""))
        answers.append(views)
    return answers


CLAIM_TOKEN_SALT = "kamguard.customers.dispute-claim"  # noqa: S105 - a salt, not a secret
CLAIM_TOKEN_MAX_AGE = 7 * 24 * 3600


def claim_token_for(*, viewer: User, customer_id: int) -> str:
    """A signed, expiring token that lets `viewer` file an ownership claim on a customer the duplicate check
    showed them, without learning its id or being able to claim customers by guessing ids."""
    return signing.dumps({"c": customer_id, "u": viewer.pk}, salt=CLAIM_TOKEN_SALT, compress=True)


def claim_token_read(*, viewer: User, token: str) -> int:
    """The customer id inside a claim token issued to `viewer`; NotFound when forged, expired or not theirs."""
    try:
        data = signing.loads(token, salt=CLAIM_TOKEN_SALT, max_age=CLAIM_TOKEN_MAX_AGE)
    except signing.BadSignature as exc:
        raise NotFound() from exc
    if not isinstance(data, dict) or data.get("u") != viewer.pk or not isinstance(data.get("c"), int):
        raise NotFound()
    return int(data["c"])


