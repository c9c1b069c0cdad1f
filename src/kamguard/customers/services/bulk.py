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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import AuditEntry, audit_record_many, snapshot
from kamguard.core.errors import DomainError, PermissionRefused, ValidationFailed
from kamguard.core.io.inserts import instances_insert, plain_rows_insert, rows_insert
from kamguard.customers.domain.dedupe import (
    BlockingKey,
    CandidateIndex,
    CheckResult,
    CustomerRecord,
    Profile,
    any_warns,
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
    candidate_views_many,
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
    region: Region | None
    profile: Profile
    keys: tuple[BlockingKey, ...]
    weights: dict[str, int]
    owner: User | None = None
    check: CheckResult | None = None  # the duplicate check's result, when it warned
    refused: bool = False  # by the duplicate check (its error is built once the batch is settled)
    proceed: dict[str, Any] | None = None
    customer: Customer | None = None
    outcome: CustomerOutcome | None = None  # an error that no later round of the check can lift


class BatchCache:
    """What one import keeps between its batches: candidate profiles, regions, pools, owner checks.

    Regions (a few thousand official divisions) and the active pools are read once, the first time they
    are needed, and used for the whole import."""

    def __init__(self) -> None:
        self.profiles: OrderedDict[int, Profile] = OrderedDict()
        self.regions: dict[str, Region | None] = {}
        self.pools: dict[tuple[int | None, str | None], Pool | None] = {}
        self.owner_checks: dict[tuple[int | None, int], str] = {}
        self._regions_loaded = False
        self._active_pools: list[Pool] | None = None

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
        """The region with this code, its parents linked (all regions are read in one query, once)."""
        if not self._regions_loaded:
            every = list(Region.objects.all())
            by_id = {region.pk: region for region in every}
            for region in every:
                region.parent = by_id.get(region.parent_id) if region.parent_id else None
            self.regions.update({region.code: region for region in every})
            self._regions_loaded = True
        return self.regions.get(code)

    def active_pools(self) -> list[Pool]:
        """The active pools with their department and region, by id (read once)."""
        if self._active_pools is None:
            self._active_pools = list(Pool.objects.filter(is_active=True).select_related("department", "region")
                                      .order_by("pk"))
        return self._active_pools

    def default_pool(self, region: Region | None, owner: User | None) -> Pool | None:
        """The pool `records._default_pool` chooses, memoised per (owner's department, region) and chosen
        from the active pools read once: the deepest department pool containing the owner's department
        (equal depths by id), else the first pool by name of the region or one of its parents, else the
        first pool by id."""
        key = (owner.department_id if owner is not None else None, region.code if region is not None else None)
        if key not in self.pools:
            self.pools[key] = self._default_pool(region, owner)
        return self.pools[key]

    def _default_pool(self, region: Region | None, owner: User | None) -> Pool | None:
        pools = self.active_pools()
        if owner is not None and owner.department_id:
            department = owner.department
            for pool in sorted((p for p in pools if p.department is not None),
                               key=lambda p: (-p.department.depth, p.pk)):  # type: ignore[union-attr]
                if department is not None and pool.department is not None and department.path.startswith(
                        pool.department.path):
                    return pool
        if region is not None:
            codes = set()
            node: Region | None = self.region(region.code) or region
            while node is not None:
                codes.add(node.code)
                node = node.parent
            in_region = [p for p in pools if p.region is not None and p.region.code in codes]
            if in_region:
                return min(in_region, key=lambda p: p.name)
        return pools[0] if pools else None


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


def _key_weights(keys: tuple[BlockingKey, ...]) -> dict[str, int]:
    """The keys as stored (cut to KEY_LENGTH), with the largest weight where two meet."""
    weights: dict[str, int] = {}
    for key in keys:
        value = key.key[:KEY_LENGTH]
        weights[value] = max(weights.get(value, 0), key.weight)
    return weights


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _query_table(cursor: Any) -> str:
    """The batch's scratch table of (query number, key, weight), created once per connection, emptied."""
    quoted = connection.ops.quote_name(QUERY_TABLE)
    if connection.vendor == "postgresql":
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {quoted} (qno integer, key varchar(160), "
                       "weight integer) ON COMMIT DELETE ROWS")
    else:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {quoted} (qno integer, key text, weight integer)")
    cursor.execute(f"DELETE FROM {quoted}")  # noqa: S608 - a constant name
    return quoted


def database_candidates_many(queries: Sequence[dict[str, int]], limit: int = DATABASE_CANDIDATE_LIMIT, *,
                             per_key_limit: int | None = None) -> list[list[int]]:
    """For each query (its keys with weights), the ids of the `limit` customers with the heaviest summed
    weights, heaviest first, ties by id — `DatabaseCandidates.candidate_ids` for a whole batch in one
    statement. With `per_key_limit`, the stop keys above it (`DedupeStopKey`) are left out first, as
    `DatabaseCandidates` leaves them out; without it the queries come without their stop keys."""
    results: list[list[int]] = [[] for _ in queries]
    rows = [(number, key, weight) for number, weights in enumerate(queries) for key, weight in weights.items()]
    if not rows:
        return results
    with connection.cursor() as cursor:
        quoted = _query_table(cursor)
        plain_rows_insert(QUERY_TABLE, ("qno", "key", "weight"), rows)
        if per_key_limit is not None:
            cursor.execute(f"DELETE FROM {quoted} WHERE key IN (SELECT s.key FROM "  # noqa: S608 - constant names
                           f"{connection.ops.quote_name(DedupeStopKey._meta.db_table)} s WHERE s.customers > %s)",
                           [per_key_limit])
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


def _stop_keys_record(keys: set[str]) -> None:
    """`dedupe_stop_keys_update(keys=keys)` in one statement: the keys not yet recorded as stop keys are
    counted, and those held by more than STOP_KEY_LIMIT customers recorded with their counts."""
    if not keys:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        quoted = _query_table(cursor)
        plain_rows_insert(QUERY_TABLE, ("qno", "key", "weight"), [(0, key, 0) for key in keys])
        cursor.execute(
            f"SELECT q.key, COUNT(*) FROM {quoted} q JOIN {quote(DedupeKey._meta.db_table)} k ON k.key = q.key "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {quote(DedupeStopKey._meta.db_table)} s WHERE s.key = q.key) "
            "GROUP BY q.key HAVING COUNT(*) > %s", [STOP_KEY_LIMIT])
        counts = cursor.fetchall()
        cursor.execute(f"DELETE FROM {quoted}")  # noqa: S608
    if counts:
        DedupeStopKey.objects.bulk_create([DedupeStopKey(key=key, customers=n) for key, n in counts],
                                          ignore_conflicts=True)


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


def _prepare_record(item: CustomerInput, cache: BatchCache) -> _Row:
    """Validate one input's record as `customer_create` does (fields, contacts), with its region, profile
    and keys; raises the same errors. Nothing here depends on the owner."""
    unknown = set(item.fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    fields = _clean_customer_fields({"name": item.name, **item.fields})
    contacts = [_clean_contact(dict(c)) for c in item.contacts]
    region = item.region or region_guess(name=fields["name"], address=fields.get("address", ""),
                                         region_by_code=cache.region)
    profile = customer_profile(_record_of(fields, contacts))
    keys = blocking_keys(profile)
    return _Row(input=item, fields=fields, contacts=contacts, region=region, profile=profile, keys=keys,
                weights=_key_weights(keys))


def _prepare_owner(actor: User | None, row: _Row, cache: BatchCache) -> None:
    """The owner checks of `customer_create` and the pool (given, or the default one); the same errors."""
    item = row.input
    owner = None if item.to_pool else (item.owner if item.owner is not None else actor)
    problem = _owner_problem(actor, owner, cache)
    if problem == "scope":
        raise PermissionRefused(_("You can only register customers for yourself."), extra={"right": "customer.owner"})
    if problem == "left":
        raise ValidationFailed(field_errors={"owner": [_("This person has left; choose an active owner.")]})
    pool = item.fields.get("pool")
    row.fields["pool"] = pool if pool is not None else cache.default_pool(row.region, owner)
    if owner is None and row.fields["pool"] is None:
        raise ValidationFailed(field_errors={"pool": [_("Choose the shared pool the customer goes to.")]})
    row.owner = owner


def _batch_candidate_views(result: CheckResult, stored: dict[str, CandidateView],
                           batch: dict[str, _Row]) -> list[dict[str, Any]]:
    """What the user may see of the candidates: stored customers as `candidate_views` shows them (`stored`), and
    rows accepted earlier in this batch (the caller's own input) as they were entered."""
    ordered = []
    for match in result.candidates:
        if match.external_id.startswith(NEW_PREFIX):
            row = batch[match.external_id]
            owner = row.owner
            ordered.append(CandidateView(
                customer_id=None, external_id=row.fields.get("external_id") or "", name=match.name, score=match.score,
                reasons=match.reasons, owner_name=owner.full_name if owner else _("shared pool"),
                owner_team="", visible=True).as_dict())
        elif match.external_id in stored:
            ordered.append(stored[match.external_id].as_dict())
    return ordered


def _dedupe_verdicts(rows: list[_Row], cache: BatchCache) -> dict[str, _Row]:
    """Run the duplicate check of every row, in order, against the database and the rows accepted before it:
    set `check` on the rows it warns about and `refused` on those it refuses (a duplicate, or a possible
    duplicate without a reason). Returns the accepted rows by the id the in-batch candidates carry."""
    candidate_ids = database_candidates_many([row.weights for row in rows], per_key_limit=STOP_KEY_LIMIT)
    profiles = cache.profiles_for(sorted({i for ids in candidate_ids for i in ids}))
    index = CandidateIndex(candidate_limit=DATABASE_CANDIDATE_LIMIT)
    accepted: dict[str, _Row] = {}
    for number, row in enumerate(rows):
        row.check, row.refused, row.proceed = None, False, None
        candidates = [profiles[i] for i in candidate_ids[number] if i in profiles]
        candidates += index.candidate_profiles(row.profile, row.keys)
        # Nearly every row of distinct companies is unique: `any_warns` says so without scoring every
        # candidate, and a unique row's candidates are not used.
        if any_warns(row.profile, candidates):
            matches = rank_candidates(row.profile, candidates, limit=10)
            row.check = CheckResult(verdict=verdict(matches), candidates=matches)
            row.refused = row.check.verdict == "duplicate" or (
                row.check.verdict == "possible_duplicate" and not (row.input.duplicate_reason or "").strip())
            if row.refused:
                continue
        key = f"{NEW_PREFIX}{number}"
        accepted[key] = row
        index.add(replace(row.profile, external_id=key), row.keys)
    return accepted


def _verdict_outcomes(actor: User | None, rows: list[_Row], accepted: dict[str, _Row]) -> None:
    """The duplicate check's answers, once the owners are known: the errors of the refused rows (what the
    user may see of the candidates, and who owns them), what to record of the possible duplicates that
    proceed with a reason."""
    warned = [row for row in rows if row.check is not None and row.check.verdict != "unique"]
    stored_views = candidate_views_many(viewer=actor, results=[CheckResult(
        verdict=row.check.verdict, candidates=tuple(m for m in row.check.candidates  # type: ignore[union-attr]
                                                    if not m.external_id.startswith(NEW_PREFIX))) for row in warned])
    for row, stored in zip(warned, stored_views, strict=True):
        result = row.check
        assert result is not None
        views = _batch_candidate_views(result, stored, accepted)
        if result.verdict == "duplicate":
            top = views[0] if views else {"name": "", "owner": ""}
            row.outcome = CustomerOutcome(input=row.input, error=DuplicateCustomer(
                _("%(name)s is already registered (owner: %(owner)s). It cannot be registered twice; if you "
                  "believe it should be yours, file an ownership claim.") % {"name": top["name"],
                                                                              "owner": top["owner"]},
                extra={"candidates": views, "verdict": result.verdict}))
        elif row.refused:
            row.outcome = CustomerOutcome(input=row.input, error=PossibleDuplicate(
                _("Similar customers exist. Check them; to register this one anyway, say why it is a different "
                  "company."), field_errors={"duplicate_reason": [_("Required: similar customers exist.")]},
                extra={"candidates": views, "verdict": result.verdict}))
        else:
            row.proceed = {"verdict": result.verdict, "candidates": [v["customer_id"] or v["name"] for v in views],
                           "reason": (row.input.duplicate_reason or "").strip()}


def _registration_moment(created_on: dt.date | None, now: dt.datetime) -> dt.datetime:
    if created_on is None:
        return now
    return timezone.make_aware(dt.datetime.combine(created_on, dt.time(9, 0)))


_CREATED_FIELDS = (*CUSTOMER_FIELDS, "owner")
_LEDGER_COLUMNS = ("customer_id", "from_owner_id", "to_owner_id", "kind", "effective_at", "reason", "actor_id",
                   "approved_by_id", "reference")
_TIMELINE_COLUMNS = ("customer_id", "occurred_at", "kind", "actor_id", "summary", "data")


def _created(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`diff({}, values)` for a snapshot (values already as stored): every field that is not empty."""
    return {name: {"before": None, "after": value} for name, value in values.items() if value is not None}


def _write(actor: User | None, rows: list[_Row], kind: str, cache: BatchCache) -> None:
    """Insert the accepted rows and everything that goes with them. Raises IntegrityError on a unique clash.

    The rows are those `customer_create` writes, inserted per table with multi-row statements
    (`core.io.inserts`): no model instance is built for the ledger, timeline and key rows."""
    now = timezone.now()
    today = timezone.localdate()
    moments: dict[dt.date | None, dt.datetime] = {}
    for row in rows:
        if row.input.created_on not in moments:
            moments[row.input.created_on] = _registration_moment(row.input.created_on, now)
    customers = []
    for row in rows:
        fields = row.fields
        effective = moments[row.input.created_on]
        customer = Customer(**fields, region=row.region, created_on=row.input.created_on or today, created_by=actor,
                            owner=row.owner, owned_since=effective if row.owner else None,
                            normalised_name=normalise_company_name(fields["name"]).full[:200])
        row.customer = customer
        customers.append(customer)
    instances_insert(customers)
    contacts: list[Contact] = []
    for row in rows:
        for values in row.contacts:
            contacts.append(Contact(customer=row.customer, **values))
    instances_insert(contacts)
    entries: list[AuditEntry] = []
    ledger: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    keys: list[tuple[int, str, int]] = []
    actor_id = actor.pk if actor is not None else None
    registered = (_("Registered by %(who)s") % {"who": str(actor) if actor is not None else _("the system")})[:400]
    shared_pool = _("shared pool")
    first_registration = _("first registration")
    ownership_action = f"customers.ownership.{kind}"
    ownership_kind = f"ownership.{kind}"
    contact_index = 0
    for row in rows:
        if row.customer is None:  # pragma: no cover - set above for every row
            continue
        customer = row.customer
        customer_id = customer.pk
        effective = moments[row.input.created_on]
        for _values in row.contacts:
            contact = contacts[contact_index]
            contact_index += 1
            entries.append(AuditEntry(action="customers.contact.created", obj=contact,
                                      changes=_created(snapshot(contact, CONTACT_FIELDS)),
                                      object_label=f"{customer} · {contact}"))
        entries.append(AuditEntry(action="customers.customer.created", obj=customer,
                                  changes=_created(snapshot(customer, _CREATED_FIELDS)),
                                  reason=row.proceed["reason"] if row.proceed else ""))
        timeline.append((customer_id, effective, "customer.registered", actor_id, registered, {}))
        if row.proceed:
            timeline.append((customer_id, now, "customer.possible_duplicate", actor_id, (_(
                "Registered despite similar customers: %(reason)s") % {"reason": row.proceed["reason"]})[:400],
                row.proceed))
        owner_id = row.owner.pk if row.owner is not None else None
        ledger.append((customer_id, None, owner_id, kind, effective, first_registration, actor_id, None, ""))
        entries.append(AuditEntry(action=ownership_action, obj=customer, reason=first_registration,
                                  changes={"owner": {"before": None, "after": owner_id}}))
        timeline.append((customer_id, effective, ownership_kind, actor_id, (_("Owner: %(before)s → %(after)s") % {
            "before": shared_pool, "after": row.owner.full_name if row.owner is not None else shared_pool})[:400],
            {"from": None, "to": owner_id, "reason": first_registration}))
        if customer.status in LIVE_STATUSES:
            # The keys of the record the check profiled: the same as `customer_keys_refresh` computes from the
            # stored rows (the record differs only in its external id, which no key depends on).
            keys.extend((customer_id, key, weight) for key, weight in row.weights.items())
            cache.remember(customer_id, row.profile)
    rows_insert(OwnershipChange, _LEDGER_COLUMNS, ledger)
    rows_insert(TimelineEntry, _TIMELINE_COLUMNS, timeline)
    # Some twenty keys per customer: inserted without building model instances.
    plain_rows_insert(str(DedupeKey._meta.db_table), ("customer_id", "key", "weight"), keys)
    audit_record_many(actor=actor, entries=entries)
    _stop_keys_record({key for _customer, key, _weight in keys})


Assign = Callable[[list[CustomerInput]], None]


def customers_create_many(*, actor: User | None, inputs: Sequence[CustomerInput], kind: str = OwnershipKind.IMPORT,
                          cache: BatchCache | None = None, assign: Assign | None = None) -> list[CustomerOutcome]:
    """Register `inputs` in order, as `customer_create` would one by one; one outcome per input, in order.

    `assign` is for callers that choose the owners themselves (allocation): called after the duplicate check
    with the inputs it accepted, in order, it sets their `owner` / `to_pool` (and `fields["pool"]`), so that a
    refused input takes no one's turn. If the owner checks then refuse one of them, the check is run again
    without it and `assign` called again from the start. With `assign` the inputs are one batch, whatever
    their number.

    Call inside a transaction (an import's); the batch's writes are one savepoint.
    """
    if actor is not None and not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    cache = cache or BatchCache()
    if assign is not None:
        return _create_chunk(actor, list(inputs), kind, cache, assign)
    outcomes: list[CustomerOutcome] = []
    for chunk in _chunks(list(inputs), BATCH_SIZE):
        outcomes.extend(_create_chunk(actor, list(chunk), kind, cache, None))
    return outcomes


def _create_chunk(actor: User | None, inputs: list[CustomerInput], kind: str, cache: BatchCache,
                  assign: Assign | None) -> list[CustomerOutcome]:
    rows: list[_Row] = []
    outcomes: dict[int, CustomerOutcome] = {}
    for position, item in enumerate(inputs):
        try:
            row = _prepare_record(item, cache)
            if assign is None:
                _prepare_owner(actor, row, cache)
        except DomainError as exc:
            outcomes[position] = CustomerOutcome(input=item, error=exc)
            continue
        rows.append(row)
    _unique_clashes(rows)
    while True:
        candidates = [row for row in rows if row.outcome is None]
        in_batch = _dedupe_verdicts(candidates, cache)
        accepted = [row for row in candidates if not row.refused]
        if assign is None:
            break
        assign([row.input for row in accepted])
        retry = False
        for row in accepted:
            try:
                _prepare_owner(actor, row, cache)
            except DomainError as exc:
                row.outcome = CustomerOutcome(input=row.input, error=exc)
                retry = True
        if not retry:
            break
    _verdict_outcomes(actor, candidates, in_batch)
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
