"""The duplicate check (查重) against the database: the pure engine in customers.domain.dedupe, with the
blocking keys stored in customers.DedupeKey so a check is a few indexed lookups, never a scan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Sum, Value, When
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
    records = []
    for pk, name, aliases, english_name, uscc, website in rows:
        records.append(CustomerRecord(
            external_id=str(pk), name=name, aliases=tuple(a for a in (aliases or []) if isinstance(a, str)),
            english_names=(english_name,) if english_name else (), uscc=uscc,
            phones=tuple(phones.get(pk, ())), emails=tuple(emails.get(pk, ())) + ((website,) if website else ())))
    return records


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


class DatabaseCandidates:
    """The engine's CandidateSource backed by the key table, in two queries: which of the query's keys are
    stop keys, then the other keys' weights added up per customer, ranked and limited in the database (only
    the winners cross the wire). The same ranking as the engine's in-memory CandidateIndex."""

    def __init__(self, *, exclude_ids: Iterable[int] = (), per_key_limit: int = PER_KEY_LIMIT,
                 candidate_limit: int = DATABASE_CANDIDATE_LIMIT) -> None:
        self.exclude_ids = {int(i) for i in exclude_ids}
        self.per_key_limit = per_key_limit  # the stop-key threshold (kept in DedupeStopKey)
        self.candidate_limit = candidate_limit

    def candidate_ids(self, query: Profile) -> list[int]:
        weights: dict[str, int] = {}
        for key in blocking_keys(query):
            value = key.key[:160]
            weights[value] = max(weights.get(value, 0), key.weight)
        if not weights:
            return []
        # Stop keys first (a small primary-key lookup), so the database never reads their long posting lists.
        for stop in DedupeStopKey.objects.filter(key__in=list(weights)).values_list("key", flat=True):
            weights.pop(stop, None)
        if not weights:
            return []
        total = Sum(Case(*[When(key=key, then=Value(weight)) for key, weight in weights.items()],
                         default=Value(0), output_field=IntegerField()))
        rows = (DedupeKey.objects.filter(key__in=list(weights)).exclude(customer_id__in=self.exclude_ids)
                .values("customer_id").annotate(total=total).order_by("-total", "customer_id")[: self.candidate_limit])
        return [row["customer_id"] for row in rows]

    def candidate_profiles(self, query: Profile) -> list[Profile]:
        return [customer_profile(record) for record in _records(self.candidate_ids(query))]


def dedupe_stop_keys_update(*, keys: Iterable[str] | None = None, threshold: int | None = None) -> int:
    """Record which keys are stop keys: those held by more than PER_KEY_LIMIT customers. With `keys`, only
    those are recounted (after a refresh); without, the whole table is rebuilt (the daily job)."""
    limit = PER_KEY_LIMIT if threshold is None else threshold
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
        counts: dict[str, int] = {row["key"]: row["n"] for row in DedupeKey.objects.filter(
            key__in=chunk).values("key").annotate(n=Count("customer_id")).filter(n__gt=limit)}
        if counts:
            DedupeStopKey.objects.bulk_create([DedupeStopKey(key=k, customers=n) for k, n in counts.items()],
                                              update_conflicts=True, unique_fields=["key"], update_fields=["customers"])
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
    ids = [int(m.external_id) for m in result.candidates]
    rows = {c.pk: c for c in Customer.objects.filter(pk__in=ids).select_related("owner", "owner__team")}
    visible = set(ids) if viewer is None else set(
        Customer.objects.filter(customer_visibility_q(viewer), pk__in=ids).values_list("pk", flat=True))
    views = []
    for match in result.candidates:
        customer = rows.get(int(match.external_id))
        if customer is None:
            continue
        owner = customer.owner
        shown = customer.pk in visible
        views.append(CandidateView(
            customer_id=customer.pk if shown else None, external_id=(customer.external_id or "") if shown else "",
            name=match.name, score=match.score, reasons=match.reasons if shown else tuple(
                r for r in match.reasons if not r.startswith(("same phone", "same mail"))),
            owner_name=owner.full_name if owner else _("shared pool"),
            owner_team=(owner.team.name if owner and owner.team else ""), visible=shown,
            claim_token=claim_token_for(viewer=viewer, customer_id=customer.pk)
            if viewer is not None and owner is not None and owner.pk != viewer.pk else ""))
    return views


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


