"""Registering many customers at once: the batch path of `customer_create` for imports and intake runs.

`customers_create_many` applies the same rules as `customer_create`, row by row and in order — the same
validation, the same owner checks, the same duplicate check with the same engine and thresholds, the same
ledger, timeline, key and audit rows — but does each kind of database work once per batch instead of once
per row:

* the duplicate check looks up the blocking keys of the whole batch in one statement (a temporary table of
  (query, key, weight) joined to the key table, the weights summed and ranked per query in the database,
  the best `DATABASE_CANDIDATE_LIMIT` kept per query: the same ranking as `DatabaseCandidates`), and checks
  each row also against the rows accepted earlier in the same batch through the engine's in-memory
  `CandidateIndex`, so the second row of one company in a file is still "a duplicate of row N";
* candidate profiles are computed once per customer and kept for the caller's next batches (`BatchCache`);
* regions, pools and owner checks are memoised;
* customers, ledger rows, timeline rows and keys are inserted with `bulk_create`, and the audit events go
  through `audit_record_many` (one chain lock per batch).

A row that fails gets its error in its `CustomerOutcome` — the same `DomainError` `customer_create` raises —
and is not written; the others are. If a bulk insert still fails (a unique USCC or external id taken by a
concurrent writer since the checks), the batch is undone and replayed through `customer_create` row by row,
so the culprit row gets its error and the others are kept.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import AuditEntry, audit_record_many, diff, snapshot
from kamguard.core.errors import DomainError, PermissionRefused, ValidationFailed
from kamguard.customers.domain.dedupe import (
    CandidateIndex,
    CheckResult,
    CustomerRecord,
    Profile,
    blocking_keys,
    customer_profile,
    rank_candidates,
    verdict,
)
from kamguard.customers.domain.normalise import normalise_company_name
from kamguard.customers.models import (
    Contact,
    Customer,
    DedupeKey,
    DedupeStopKey,
    OwnershipChange,
    OwnershipKind,
    Pool,
    TimelineEntry,
)
from kamguard.customers.services.common import is_supervising
from kamguard.customers.services.dedupe import (
    DATABASE_CANDIDATE_LIMIT,
    LIVE_STATUSES,
    STOP_KEY_LIMIT,
    CandidateView,
    _records,
    candidate_views,
    dedupe_stop_keys_update,
)
from kamguard.customers.services.records import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    DuplicateCustomer,
    PossibleDuplicate,
    _clean_contact,
    _clean_customer_fields,
    customer_create,
    region_guess,
)
from kamguard.org.domain.roles import Right
from kamguard.org.models import Region, User
from kamguard.org.scopes import person_in_scope

BATCH_SIZE = 1000
KEY_LENGTH = 160  # DedupeKey.key's max_length: keys are stored and looked up cut to it
QUERY_TABLE = "kamguard_dedupe_batch_query"
PROFILE_CACHE_SIZE = 200_000
NEW_PREFIX = "new:"  # in-batch candidates' external ids in the in-memory index


@dataclass
class CustomerInput:
    """One customer to register, as `customer_create` takes it. `ref` is the caller's (e.g. the file row)."""

    ref: int
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    owner: User | None = None
    to_pool: bool = False
    created_on: dt.date | None = None
    region: Region | None = None
    duplicate_reason: str = ""
    contacts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CustomerOutcome:
    input: CustomerInput
    customer: Customer | None = None
    error: DomainError | None = None


@dataclass
class _Row:
    input: CustomerInput
    fields: dict[str, Any]
    contacts: list[dict[str, Any]]
    owner: User | None
    region: Region | None
    profile: Profile
    weights: dict[str, int]
    proceed: dict[str, Any] | None = None
    customer: Customer | None = None
    outcome: CustomerOutcome | None = None


class BatchCache:
    """What one import keeps between its batches: candidate profiles, regions, pools, owner checks."""

    def __init__(self) -> None:
        self.profiles: OrderedDict[int, Profile] = OrderedDict()
        self.regions: dict[str, Region | None] = {}
        self.pools: dict[tuple[int | None, str | None], Pool | None] = {}
        self.owner_checks: dict[tuple[int | None, int], str] = {}

    def profiles_for(self, customer_ids: Sequence[int]) -> dict[int, Profile]:
        missing = [i for i in customer_ids if i not in self.profiles]
        for record in _records(missing):
            self.profiles[int(record.external_id)] = customer_profile(record)
        found = {}
        for customer_id in customer_ids:
            profile = self.profiles.get(customer_id)
            if profile is not None:
                self.profiles.move_to_end(customer_id)
                found[customer_id] = profile
        while len(self.profiles) > PROFILE_CACHE_SIZE:
            self.profiles.popitem(last=False)
        return found

    def remember(self, customer_id: int, profile: Profile) -> None:
        """Keep the profile of a customer just written (the next batches will meet it as a candidate)."""
        self.profiles[customer_id] = replace(profile, external_id=str(customer_id))

    def region(self, code: str) -> Region | None:
        if code not in self.regions:
            self.regions[code] = Region.objects.filter(code=code).select_related("parent__parent").first()
        return self.regions[code]

    def default_pool(self, region: Region | None, owner: User | None) -> Pool | None:
        """`records._default_pool`, memoised per (owner's department, region)."""
        from kamguard.customers.services.records import _default_pool

        key = (owner.department_id if owner is not None else None, region.code if region is not None else None)
        if key not in self.pools:
            self.pools[key] = _default_pool(region, owner)
        return self.pools[key]


def _record_of(fields: dict[str, Any], contacts: list[dict[str, Any]], external_id: str = "") -> CustomerRecord:
    """The record the key table is computed from — built as `dedupe._records` builds it from stored rows."""
    website = fields.get("website") or ""
    return CustomerRecord(
        external_id=external_id, name=fields["name"],
        aliases=tuple(a for a in (fields.get("aliases") or []) if isinstance(a, str)),
        english_names=(fields["english_name"],) if fields.get("english_name") else (), uscc=fields.get("uscc") or None,
        phones=tuple(c["phone"] for c in contacts if c.get("phone") and c.get("is_active", True)),
        emails=tuple(c["email"] for c in contacts if c.get("email") and c.get("is_active", True))
        + ((website,) if website else ()))


def _key_weights(profile: Profile) -> dict[str, int]:
    weights: dict[str, int] = {}
    for key in blocking_keys(profile):
        value = key.key[:KEY_LENGTH]
        weights[value] = max(weights.get(value, 0), key.weight)
    return weights


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _stop_keys(keys: set[str]) -> set[str]:
    """The keys held by more customers than the lookup reads (as `DatabaseCandidates` decides them)."""
    found: set[str] = set()
    for chunk in _chunks(sorted(keys), 900):
        found.update(DedupeStopKey.objects.filter(key__in=list(chunk), customers__gt=STOP_KEY_LIMIT)
                     .values_list("key", flat=True))
    return found


def database_candidates_many(queries: Sequence[dict[str, int]],
                             limit: int = DATABASE_CANDIDATE_LIMIT) -> list[list[int]]:
    """For each query (its keys with weights, stop keys already removed), the ids of the `limit` customers
    with the heaviest summed weights, heaviest first, ties by id — `DatabaseCandidates.candidate_ids` for a
    whole batch in one statement."""
    results: list[list[int]] = [[] for _ in queries]
    rows = [(number, key, weight) for number, weights in enumerate(queries) for key, weight in weights.items()]
    if not rows:
        return results
    quoted = connection.ops.quote_name(QUERY_TABLE)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {quoted} (qno integer, key varchar(160), "
                           "weight integer) ON COMMIT DELETE ROWS")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {quoted} (qno integer, key text, weight integer)")
        cursor.execute(f"DELETE FROM {quoted}")  # noqa: S608 - a constant name
        cursor.executemany(f"INSERT INTO {quoted} (qno, key, weight) VALUES (%s, %s, %s)", rows)  # noqa: S608
        cursor.execute(
            "SELECT qno, customer_id FROM ("  # noqa: S608 - constant names, the limit a bound parameter
            " SELECT q.qno AS qno, k.customer_id AS customer_id,"
            "  ROW_NUMBER() OVER (PARTITION BY q.qno ORDER BY SUM(q.weight) DESC, k.customer_id) AS place"
            f" FROM {quoted} q JOIN customers_dedupekey k ON k.key = q.key"
            " GROUP BY q.qno, k.customer_id) ranked"
            " WHERE place <= %s ORDER BY qno, place", [limit])
        for number, customer_id in cursor.fetchall():
            results[number].append(customer_id)
        cursor.execute(f"DELETE FROM {quoted}")  # noqa: S608
    return results


def _owner_problem(actor: User | None, owner: User | None, cache: BatchCache) -> str:
    if owner is None:
        return ""
    key = (actor.pk if actor is not None else None, owner.pk)
    if key not in cache.owner_checks:
        problem = ""
        if actor is not None and owner.pk != actor.pk and not (is_supervising(actor) and person_in_scope(actor, owner)):
            problem = "scope"
        elif not owner.is_active:
            problem = "left"
        cache.owner_checks[key] = problem
    return cache.owner_checks[key]


def _prepare(actor: User | None, item: CustomerInput, cache: BatchCache) -> _Row:
    """Validate one input as `customer_create` does; raises the same errors."""
    unknown = set(item.fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    fields = _clean_customer_fields({"name": item.name, **item.fields})
    contacts = [_clean_contact(dict(c)) for c in item.contacts]
    owner = None if item.to_pool else (item.owner if item.owner is not None else actor)
    problem = _owner_problem(actor, owner, cache)
    if problem == "scope":
        raise PermissionRefused(_("You can only register customers for yourself."), extra={"right": "customer.owner"})
    if problem == "left":
        raise ValidationFailed(field_errors={"owner": [_("This person has left; choose an active owner.")]})
    region = item.region or region_guess(name=fields["name"], address=fields.get("address", ""),
                                         region_by_code=cache.region)
    if fields.get("pool") is None:
        fields["pool"] = cache.default_pool(region, owner)
    if owner is None and fields.get("pool") is None:
        raise ValidationFailed(field_errors={"pool": [_("Choose the shared pool the customer goes to.")]})
    profile = customer_profile(_record_of(fields, contacts))
    return _Row(input=item, fields=fields, contacts=contacts, owner=owner, region=region, profile=profile,
                weights=_key_weights(profile))


def _batch_candidate_views(actor: User | None, result: CheckResult, batch: dict[str, _Row]) -> list[dict[str, Any]]:
    """What the user may see of the candidates: stored customers through `candidate_views`, and rows accepted
    earlier in this batch (the caller's own input) as they were entered."""
    stored = CheckResult(verdict=result.verdict, candidates=tuple(
        m for m in result.candidates if not m.external_id.startswith(NEW_PREFIX)))
    views = {key: view.as_dict() for key, view in candidate_views(viewer=actor, result=stored).items()}
    ordered = []
    for match in result.candidates:
        if match.external_id.startswith(NEW_PREFIX):
            row = batch[match.external_id]
            owner = row.owner
            ordered.append(CandidateView(
                customer_id=None, external_id=row.fields.get("external_id") or "", name=match.name, score=match.score,
                reasons=match.reasons, owner_name=owner.full_name if owner else _("shared pool"),
                owner_team="", visible=True).as_dict())
        elif match.external_id in views:
            ordered.append(views[match.external_id])
    return ordered


def _dedupe_verdicts(actor: User | None, rows: list[_Row], cache: BatchCache) -> None:
    """Run the duplicate check of every prepared row, in order; set `outcome` on the rows it refuses."""
    stop = _stop_keys({key for row in rows for key in row.weights})
    queries = [{k: w for k, w in row.weights.items() if k not in stop} for row in rows]
    candidate_ids = database_candidates_many(queries)
    profiles = cache.profiles_for(sorted({i for ids in candidate_ids for i in ids}))
    index = CandidateIndex(candidate_limit=DATABASE_CANDIDATE_LIMIT)
    accepted: dict[str, _Row] = {}
    for number, row in enumerate(rows):
        candidates = [profiles[i] for i in candidate_ids[number] if i in profiles]
        candidates += index.candidate_profiles(row.profile)
        matches = rank_candidates(row.profile, candidates, limit=10)
        result = CheckResult(verdict=verdict(matches), candidates=matches)
        if result.verdict == "duplicate":
            views = _batch_candidate_views(actor, result, accepted)
            top = views[0] if views else {"name": "", "owner": ""}
            row.outcome = CustomerOutcome(input=row.input, error=DuplicateCustomer(
                _("%(name)s is already registered (owner: %(owner)s). It cannot be registered twice; if you "
                  "believe it should be yours, file an ownership claim.") % {"name": top["name"],
                                                                              "owner": top["owner"]},
                extra={"candidates": views, "verdict": result.verdict}))
            continue
        if result.verdict == "possible_duplicate":
            views = _batch_candidate_views(actor, result, accepted)
            reason = (row.input.duplicate_reason or "").strip()
            if not reason:
                row.outcome = CustomerOutcome(input=row.input, error=PossibleDuplicate(
                    _("Similar customers exist. Check them; to register this one anyway, say why it is a different "
                      "company."), field_errors={"duplicate_reason": [_("Required: similar customers exist.")]},
                    extra={"candidates": views, "verdict": result.verdict}))
                continue
            row.proceed = {"verdict": result.verdict, "candidates": [v["customer_id"] or v["name"] for v in views],
                           "reason": reason}
        key = f"{NEW_PREFIX}{number}"
        accepted[key] = row
        index.add(replace(row.profile, external_id=key))


def _registration_moment(created_on: dt.date | None, now: dt.datetime) -> dt.datetime:
    if created_on is None:
        return now
    return timezone.make_aware(dt.datetime.combine(created_on, dt.time(9, 0)))


def _write(actor: User | None, rows: list[_Row], kind: str, cache: BatchCache) -> None:
    """Insert the accepted rows and everything that goes with them. Raises IntegrityError on a unique clash."""
    now = timezone.now()
    today = timezone.localdate()
    customers = []
    for row in rows:
        fields = row.fields
        effective = _registration_moment(row.input.created_on, now)
        customer = Customer(**fields, region=row.region, created_on=row.input.created_on or today, created_by=actor,
                            owner=row.owner, owned_since=effective if row.owner else None,
                            normalised_name=normalise_company_name(fields["name"]).full[:200])
        row.customer = customer
        customers.append(customer)
    Customer.objects.bulk_create(customers, batch_size=500)
    contacts: list[Contact] = []
    for row in rows:
        for values in row.contacts:
            contacts.append(Contact(customer=row.customer, **values))
    if contacts:
        Contact.objects.bulk_create(contacts, batch_size=500)
    entries: list[AuditEntry] = []
    ledger: list[OwnershipChange] = []
    timeline: list[TimelineEntry] = []
    keys: list[tuple[int, str, int]] = []
    registered_by = str(actor) if actor is not None else _("the system")
    shared_pool = _("shared pool")
    first_registration = _("first registration")
    contact_index = 0
    for row in rows:
        if row.customer is None:  # pragma: no cover - set above for every row
            continue
        customer = row.customer
        effective = _registration_moment(row.input.created_on, now)
        for _values in row.contacts:
            contact = contacts[contact_index]
            contact_index += 1
            entries.append(AuditEntry(action="customers.contact.created", obj=contact,
                                      changes=diff({}, snapshot(contact, CONTACT_FIELDS)),
                                      object_label=f"{customer} · {contact}"))
        entries.append(AuditEntry(action="customers.customer.created", obj=customer,
                                  changes=diff({}, snapshot(customer, (*CUSTOMER_FIELDS, "owner"))),
                                  reason=row.proceed["reason"] if row.proceed else ""))
        timeline.append(TimelineEntry(customer=customer, occurred_at=effective, kind="customer.registered",
                                      actor=actor, summary=(_("Registered by %(who)s") % {"who": registered_by})[:400],
                                      data={}))
        if row.proceed:
            timeline.append(TimelineEntry(
                customer=customer, occurred_at=now, kind="customer.possible_duplicate", actor=actor,
                summary=(_("Registered despite similar customers: %(reason)s") % {"reason": row.proceed["reason"]})[:400],
                data=row.proceed))
        owner_id = row.owner.pk if row.owner is not None else None
        ledger.append(OwnershipChange(customer=customer, from_owner_id=None, to_owner_id=owner_id, kind=kind,
                                      effective_at=effective, reason=first_registration, actor=actor))
        entries.append(AuditEntry(action=f"customers.ownership.{kind}", obj=customer, reason=first_registration,
                                  changes={"owner": {"before": None, "after": owner_id}}))
        timeline.append(TimelineEntry(
            customer=customer, occurred_at=effective, kind=f"ownership.{kind}", actor=actor,
            summary=(_("Owner: %(before)s → %(after)s") % {
                "before": shared_pool, "after": row.owner.full_name if row.owner is not None else shared_pool})[:400],
            data={"from": None, "to": owner_id, "reason": first_registration}))
        if customer.status in LIVE_STATUSES:
            # The keys of the record the check profiled: the same as `customer_keys_refresh` computes from the
            # stored rows (the record differs only in its external id, which no key depends on).
            keys.extend((customer.pk, key, weight) for key, weight in row.weights.items())
            cache.remember(customer.pk, row.profile)
    OwnershipChange.objects.bulk_create(ledger, batch_size=500)
    TimelineEntry.objects.bulk_create(timeline, batch_size=500)
    # Some twenty keys per customer: inserted without building model instances.
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {connection.ops.quote_name(DedupeKey._meta.db_table)} "  # noqa: S608
                           "(customer_id, key, weight) VALUES (%s, %s, %s)", keys)
    audit_record_many(actor=actor, entries=entries)
    dedupe_stop_keys_update(keys={key for _customer, key, _weight in keys})


def customers_create_many(*, actor: User | None, inputs: Sequence[CustomerInput], kind: str = OwnershipKind.IMPORT,
                          cache: BatchCache | None = None) -> list[CustomerOutcome]:
    """Register `inputs` in order, as `customer_create` would one by one; one outcome per input, in order.

    Call inside a transaction (an import's); the batch's writes are one savepoint.
    """
    if actor is not None and not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    cache = cache or BatchCache()
    outcomes: list[CustomerOutcome] = []
    for chunk in _chunks(list(inputs), BATCH_SIZE):
        outcomes.extend(_create_chunk(actor, list(chunk), kind, cache))
    return outcomes


def _create_chunk(actor: User | None, inputs: list[CustomerInput], kind: str, cache: BatchCache) -> list[CustomerOutcome]:
    rows: list[_Row] = []
    outcomes: dict[int, CustomerOutcome] = {}
    for position, item in enumerate(inputs):
        try:
            rows.append(_prepare(actor, item, cache))
        except DomainError as exc:
            outcomes[position] = CustomerOutcome(input=item, error=exc)
    _unique_clashes(rows)
    candidates = [row for row in rows if row.outcome is None]
    _dedupe_verdicts(actor, candidates, cache)
    accepted = [row for row in candidates if row.outcome is None]
    try:
        with transaction.atomic():
            _write(actor, accepted, kind, cache)
    except (IntegrityError, DomainError):
        # Something changed under us since the checks: replay the rows one by one, so each gets its own verdict.
        return [_create_one(actor, item, kind) for item in inputs]
    for row in accepted:
        row.outcome = CustomerOutcome(input=row.input, customer=row.customer)
    by_input = {id(row.input): row.outcome for row in rows}
    return [outcomes.get(position) or by_input[id(item)] or CustomerOutcome(input=item)
            for position, item in enumerate(inputs)]


def _unique_clashes(rows: list[_Row]) -> None:
    """External ids and USCCs taken already (a USCC clash is also caught by the duplicate check's exact key;
    an external id is not a duplicate-check key, so it is checked here)."""
    external_ids = [row.fields["external_id"] for row in rows if row.fields.get("external_id")]
    taken: set[str] = set()
    for chunk in _chunks(external_ids, 900):
        taken.update(str(value) for value in Customer.objects.filter(external_id__in=list(chunk)).values_list(
            "external_id", flat=True))
    seen: set[str] = set()
    for row in rows:
        external_id = row.fields.get("external_id")
        if external_id and (external_id in taken or external_id in seen):
            row.outcome = CustomerOutcome(input=row.input, error=DuplicateCustomer(
                _("A customer with this unified social credit code or external id exists already."),
                extra={"candidates": []}))
        elif external_id:
            seen.add(external_id)


def _create_one(actor: User | None, item: CustomerInput, kind: str) -> CustomerOutcome:
    try:
        with transaction.atomic():
            customer = customer_create(actor=actor, name=item.name, owner=item.owner, to_pool=item.to_pool,
                                       contacts=item.contacts, duplicate_reason=item.duplicate_reason,
                                       created_on=item.created_on, region=item.region, kind=kind, **item.fields)
    except DomainError as exc:
        return CustomerOutcome(input=item, error=exc)
    return CustomerOutcome(input=item, customer=customer)
