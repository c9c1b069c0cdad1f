"""Customer records: registration (with the duplicate check), edits, contacts, the account team, merges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kamguard.core.audit import audit_record, diff, snapshot
from kamguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from kamguard.core.fields import clean_decimal
from kamguard.customers.domain.keys import normalise_phone, normalise_uscc
from kamguard.customers.domain.normalise import normalise_company_name
from kamguard.customers.models import (
    AccountTeamMember,
    Contact,
    Customer,
    CustomerStatus,
    OwnershipKind,
    Pool,
    Size,
    Tier,
)
from kamguard.customers.services.common import (
    is_supervising,
    ledger_append,
    require_edit,
    timeline_add,
    visible_customer,
)
from kamguard.customers.services.dedupe import (
    candidates_for_viewer,
    customer_dedupe_check,
    customer_keys_refresh,
)
from kamguard.org.domain.roles import Right
from kamguard.org.models import Industry, Region, User
from kamguard.org.scopes import person_in_scope

CUSTOMER_FIELDS = ("name", "uscc", "english_name", "aliases", "region", "address", "website", "industry", "size",
                   "tier", "status", "source", "pool", "external_id")
CONTACT_FIELDS = ("name", "title", "phone", "email", "wechat", "is_decision_maker", "is_active", "external_id")


class DuplicateCustomer(Conflict):
    """The customer exists already: blocked. `extra["candidates"]` holds what the user may see of them."""

    code = "duplicate"


class PossibleDuplicate(ValidationFailed):
    """Similar customers exist: proceeding needs a reason."""

    code = "possible_duplicate"


# The allowed values of the choice fields, built once (an import checks them for every row).
_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("size", tuple(Size.values)), ("tier", tuple(Tier.values)), ("status", tuple(CustomerStatus.values)))


def _clean_customer_fields(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in fields:
        name = " ".join((fields["name"] or "").split())
        if not name:
            errors["name"] = [_("Enter the customer's name.")]
        elif len(name) > 200:
            errors["name"] = [_("At most 200 characters.")]
        fields["name"] = name
    if "uscc" in fields:
        raw = (fields["uscc"] or "").strip()
        if raw:
            code = normalise_uscc(raw)
            if code is None:
                errors["uscc"] = [_("This is not a valid unified social credit code: check the 18 characters; "
                                    "the last one is a check character.")]
            fields["uscc"] = code
        else:
            fields["uscc"] = None
    if "aliases" in fields:
        aliases = fields["aliases"] or []
        if isinstance(aliases, str):
            aliases = aliases.split("|")
        fields["aliases"] = [a.strip() for a in aliases if a and a.strip()][:20]
    for key, choices in _CHOICES:
        if key in fields and fields[key] not in choices and fields[key] not in ("", None):
            errors[key] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)}]
    if fields.get("tier") in ("", None) and "tier" in fields:
        fields["tier"] = Tier.C
    if fields.get("size") is None and "size" in fields:
        fields["size"] = ""
    for key in ("english_name", "address", "website", "source"):
        if key in fields:
            fields[key] = (fields[key] or "").strip()
    if fields.get("external_id") == "":
        fields["external_id"] = None
    if errors:
        raise ValidationFailed(field_errors=errors)
    return fields


def region_guess(*, name: str, address: str,
                 region_by_code: Callable[[str], Region | None] | None = None) -> Region | None:
    """The most precise official region named at the start of the address, else in the company name.
    `region_by_code` looks a code up (a batch passes a memoised one); by default each guess reads its rows."""
    from kamguard.customers.domain.regions import match_region_prefix, region_of

    for text in (address, name):
        if not text:
            continue
        codes: list[str] = []
        rest = "".join(text.split())
        for _level in range(3):  # province, city, district, each a prefix of what remains
            prefix = match_region_prefix(rest)
            if not prefix:
                break
            found = region_of(prefix)
            if found is not None:
                codes.append(found.code)
            rest = rest[len(prefix):]
        lookup = region_by_code
        if lookup is None:
            lookup = {r.code: r for r in Region.objects.filter(code__in=codes)}.get
        for code in reversed(codes):  # the most precise level found
            region = lookup(code)
            if region is not None:
                return region
    return None


def _dedupe_gate(*, actor: User | None, fields: dict[str, Any], contacts: list[dict[str, Any]],
                 duplicate_reason: str, exclude_ids: tuple[int, ...] = ()) -> dict[str, Any] | None:
    """Run the duplicate check; block duplicates, require a reason for possible duplicates.

    Returns what to record about a possible duplicate the user proceeded past, or None.
    """
    result = customer_dedupe_check(
        name=fields.get("name", ""), uscc=fields.get("uscc"), english_name=fields.get("english_name", ""),
        aliases=fields.get("aliases") or [], phones=[c.get("phone", "") for c in contacts],
        emails=[c.get("email", "") for c in contacts] + ([fields["website"]] if fields.get("website") else []),
        exclude_ids=exclude_ids)
    if result.verdict == "unique":
        return None
    views = [v.as_dict() for v in candidates_for_viewer(viewer=actor, result=result)]
    if result.verdict == "duplicate":
        top = views[0] if views else {"name": "", "owner": ""}
        raise DuplicateCustomer(
            _("%(name)s is already registered (owner: %(owner)s). It cannot be registered twice; if you "
              "believe it should be yours, file an ownership claim.") % {"name": top["name"], "owner": top["owner"]},
            extra={"candidates": views, "verdict": result.verdict})
    if not (duplicate_reason or "").strip():
        raise PossibleDuplicate(
            _("Similar customers exist. Check them; to register this one anyway, say why it is a different "
              "company."), field_errors={"duplicate_reason": [_("Required: similar customers exist.")]},
            extra={"candidates": views, "verdict": result.verdict})
    return {"verdict": result.verdict, "candidates": [v["customer_id"] or v["name"] for v in views],
            "reason": duplicate_reason.strip()}


def _clean_contact(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            errors["name"] = [_("Enter the contact's name.")]
    if fields.get("phone"):
        phone = normalise_phone(fields["phone"])
        if phone is None:
            errors["phone"] = [_("Enter a valid phone number, e.g. 13800138000 or +86 10 8888 8888.")]
        fields["phone"] = phone or ""
    elif "phone" in fields:
        fields["phone"] = ""
    if fields.get("email"):
        fields["email"] = fields["email"].strip().lower()
        try:
            validate_email(fields["email"])
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    elif "email" in fields:
        fields["email"] = ""
    for key in ("title", "wechat"):
        if key in fields:
            fields[key] = (fields[key] or "").strip()
    if fields.get("external_id") == "":
        fields["external_id"] = None
    if errors:
        raise ValidationFailed(field_errors=errors)
    return fields


def _default_pool(region: Region | None, owner: User | None) -> Pool | None:
    pools = Pool.objects.filter(is_active=True)
    if owner is not None and owner.department_id:
        # The deepest pool whose department contains the owner's (one query, departments joined).
        from_department = pools.filter(department__isnull=False).select_related("department").order_by(
            "-department__depth")
        for pool in from_department:
            if owner.department and pool.department and owner.department.path.startswith(pool.department.path):
                return pool
    if region is not None:
        codes = [region.code]
        parent = region.parent
        while parent is not None:
            codes.append(parent.code)
            parent = parent.parent
        match = pools.filter(region__code__in=codes).first()
        if match:
            return match
    return pools.order_by("pk").first()


@transaction.atomic
def customer_create(*, actor: User | None, name: str, owner: User | None = None, to_pool: bool = False,
                    contacts: list[dict[str, Any]] | None = None, duplicate_reason: str = "",
                    created_on: dt.date | None = None, region: Region | None = None,
                    kind: str = OwnershipKind.REGISTERED, skip_dedupe: bool = False, **fields: Any) -> Customer:
    """Register a customer. The duplicate check blocks duplicates and asks a reason for possible ones.

    The owner is the registering manager unless `owner` is given (a supervisor may register for someone in
    their scope) or `to_pool` puts it straight into the shared pool.
    """
    if actor is not None and not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    fields = _clean_customer_fields({"name": name, **fields})
    contact_rows = [_clean_contact(dict(c)) for c in (contacts or [])]
    if to_pool:
        owner = None
    elif owner is None:
        owner = actor
    if owner is not None and actor is not None and owner.pk != actor.pk and not (
            is_supervising(actor) and person_in_scope(actor, owner)):
        raise PermissionRefused(_("You can only register customers for yourself."), extra={"right": "customer.owner"})
    if owner is not None and not owner.is_active:
        raise ValidationFailed(field_errors={"owner": [_("This person has left; choose an active owner.")]})
    if fields.get("uscc") and Customer.objects.filter(uscc=fields["uscc"]).exists() and skip_dedupe:
        raise DuplicateCustomer(_("A customer with this unified social credit code exists already."))
    proceed = None if skip_dedupe else _dedupe_gate(actor=actor, fields=fields, contacts=contact_rows,
                                                   duplicate_reason=duplicate_reason)
    if region is None:
        region = region_guess(name=fields["name"], address=fields.get("address", ""))
    if fields.get("pool") is None:
        fields["pool"] = _default_pool(region, owner)
    if owner is None and fields.get("pool") is None:
        raise ValidationFailed(field_errors={"pool": [_("Choose the shared pool the customer goes to.")]})
    now = timezone.now()
    effective = now
    if created_on is not None:
        effective = timezone.make_aware(dt.datetime.combine(created_on, dt.time(9, 0)))
    customer = Customer(**fields, region=region, created_on=created_on or timezone.localdate(), created_by=actor,
                        owner=owner, owned_since=effective if owner else None,
                        normalised_name=normalise_company_name(fields["name"]).full[:200])
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise DuplicateCustomer(_("A customer with this unified social credit code or external id exists already."),
                                extra={"candidates": []}) from exc
    for row in contact_rows:
        contact = Contact.objects.create(customer=customer, **row)
        audit_record(actor=actor, action="customers.contact.created", obj=contact,
                     changes=diff({}, snapshot(contact, CONTACT_FIELDS)), object_label=f"{customer} · {contact}")
    audit_record(actor=actor, action="customers.customer.created", obj=customer,
                 changes=diff({}, snapshot(customer, (*CUSTOMER_FIELDS, "owner"))),
                 reason=proceed["reason"] if proceed else "")
    timeline_add(customer=customer, kind="customer.registered", actor=actor, at=effective,
                 summary=_("Registered by %(who)s") % {"who": actor or _("the system")})
    if proceed:
        timeline_add(customer=customer, kind="customer.possible_duplicate", actor=actor,
                     summary=_("Registered despite similar customers: %(reason)s") % {"reason": proceed["reason"]},
                     data=proceed)
    ledger_append(customer=customer, from_owner_id=None, to_owner_id=owner.pk if owner else None, kind=kind,
                  actor=actor, effective_at=effective, reason=_("first registration"))
    customer_keys_refresh(customer_ids=[customer.pk])
    return customer


@transaction.atomic
def customer_update(*, actor: User | None, customer_id: int, reason: str = "", duplicate_reason: str = "",
                    **fields: Any) -> Customer:
    customer = visible_customer(actor, customer_id) if actor is not None else Customer.objects.get(pk=customer_id)
    require_edit(actor, customer)
    unknown = set(fields) - set(CUSTOMER_FIELDS) - {"region"}
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    if "status" in fields and fields["status"] == CustomerStatus.MERGED:
        raise ValidationFailed(field_errors={"status": [_("Use merge to merge customers.")]})
    fields = _clean_customer_fields(fields)
    before = snapshot(customer, (*CUSTOMER_FIELDS, "region"))
    identity_changed = any(k in fields and fields[k] != getattr(customer, k) for k in (
        "name", "uscc", "english_name", "aliases", "website"))
    if identity_changed:
        merged = {k: fields.get(k, getattr(customer, k)) for k in ("name", "uscc", "english_name", "aliases",
                                                                   "website")}
        _dedupe_gate(actor=actor, fields=merged, contacts=[], duplicate_reason=duplicate_reason,
                     exclude_ids=(customer.pk,))
    for key, value in fields.items():
        setattr(customer, key, value)
    if "name" in fields:
        customer.normalised_name = normalise_company_name(customer.name).full[:200]
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise DuplicateCustomer(_("Another customer has this unified social credit code or external id.")) from exc
    changes = diff(before, snapshot(customer, (*CUSTOMER_FIELDS, "region")))
    if changes:
        audit_record(actor=actor, action="customers.customer.updated", obj=customer, changes=changes,
                     reason=reason or duplicate_reason)
        timeline_add(customer=customer, kind="customer.updated", actor=actor,
                     summary=_("Changed: %(fields)s") % {"fields": ", ".join(sorted(changes))})
    if identity_changed:
        customer_keys_refresh(customer_ids=[customer.pk])
    return customer


# ---------------------------------------------------------------- contacts

@transaction.atomic
def contact_save(*, actor: User | None, customer_id: int, contact_id: int | None = None, **fields: Any) -> Contact:
    customer = visible_customer(actor, customer_id) if actor is not None else Customer.objects.get(pk=customer_id)
    require_edit(actor, customer)
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationFailed(field_errors={k: [_("Unknown field.")] for k in unknown})
    fields = _clean_contact(fields)
    if contact_id is None:
        if not fields.get("name"):
            raise ValidationFailed(field_errors={"name": [_("Enter the contact's name.")]})
        contact = Contact(customer=customer)
        before: dict[str, Any] = {}
    else:
        found = Contact.objects.filter(pk=contact_id, customer=customer).first()
        if found is None:
            from kamguard.core.errors import NotFound

            raise NotFound()
        contact = found
        before = snapshot(contact, CONTACT_FIELDS)
    for key, value in fields.items():
        setattr(contact, key, value)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise ValidationFailed(field_errors={"external_id": [_("This external id is already used.")]}) from exc
    changes = diff(before, snapshot(contact, CONTACT_FIELDS))
    if changes:
        audit_record(actor=actor, action="customers.contact." + ("created" if not before else "updated"),
                     obj=contact, changes=changes, object_label=f"{customer} · {contact}")
        summary = _("Contact added: %(name)s") if not before else _("Contact changed: %(name)s")
        timeline_add(customer=customer, kind="contact.saved", actor=actor, summary=summary % {"name": contact.name},
                     data={"contact": contact.pk, "fields": sorted(changes)})
        if {"phone", "email"} & set(changes):
            customer_keys_refresh(customer_ids=[customer.pk])
    return contact


# ---------------------------------------------------------------- account team (C6)

def _decimal(value: Any, field: str) -> Decimal:
    number = clean_decimal(value, field)
    if number < 0 or number > 100:
        raise ValidationFailed(field_errors={field: [_("Between 0 and 100.")]})
    return number


@transaction.atomic
def account_team_set(*, actor: User | None, customer_id: int, user: User, role: str, credit_share: Any,
                     end_on: dt.date | None = None, reason: str = "") -> AccountTeamMember:
    """Add or change a collaborator. The shares of the team (the owner keeps the rest) add up to at most 100%."""
    customer = visible_customer(actor, customer_id) if actor is not None else Customer.objects.get(pk=customer_id)
    require_edit(actor, customer)
    share = _decimal(credit_share, "credit_share")
    if not (role or "").strip():
        raise ValidationFailed(field_errors={"role": [_("Say what this person does on the account.")]})
    if user.pk == customer.owner_id:
        raise ValidationFailed(field_errors={"user": [_("The owner is not a team member; the owner keeps the "
                                                        "share the team does not have.")]})
    if not user.is_active or not user.has_right(Right.EDIT_BUSINESS_DATA):
        raise ValidationFailed(field_errors={"user": [_("Choose an active person who works on customers.")]})
    today = timezone.localdate()
    if end_on is not None and end_on < today:
        raise ValidationFailed(field_errors={"end_on": [_("The end date is in the past.")]})
    others = AccountTeamMember.objects.filter(Q(end_on__isnull=True) | Q(end_on__gte=today),
                                              customer=customer).exclude(user=user)
    total = (others.aggregate(total=Sum("credit_share"))["total"] or Decimal(0)) + share
    if total > 100:
        raise ValidationFailed(field_errors={"credit_share": [
            _("The team's shares would add up to %(total)s%%; at most 100%% can be shared.") % {"total": total}]})
    member, created = AccountTeamMember.objects.get_or_create(
        customer=customer, user=user, defaults={"role": role.strip(), "credit_share": share, "start_on": today,
                                                "end_on": end_on})
    before = {} if created else {"role": member.role, "credit_share": str(member.credit_share),
                                 "end_on": member.end_on}
    if not created:
        member.role, member.credit_share, member.end_on = role.strip(), share, end_on
        member.save()
    after = {"role": member.role, "credit_share": str(member.credit_share), "end_on": member.end_on}
    audit_record(actor=actor, action="customers.account_team.set", obj=customer, changes={
        "member": {"before": None if created else user.pk, "after": user.pk}, **diff(before, after)}, reason=reason)
    timeline_add(customer=customer, kind="account_team.set", actor=actor, summary=_(
        "%(name)s on the account team as %(role)s with %(share)s%% of the credit") % {
        "name": user, "role": member.role, "share": member.credit_share})
    return member


@transaction.atomic
def account_team_remove(*, actor: User | None, customer_id: int, user_id: int, reason: str = "") -> None:
    customer = visible_customer(actor, customer_id) if actor is not None else Customer.objects.get(pk=customer_id)
    require_edit(actor, customer)
    member = AccountTeamMember.objects.filter(customer=customer, user_id=user_id).select_related("user").first()
    if member is None:
        from kamguard.core.errors import NotFound

        raise NotFound()
    member.delete()
    audit_record(actor=actor, action="customers.account_team.removed", obj=customer,
                 changes={"member": {"before": user_id, "after": None}}, reason=reason)
    timeline_add(customer=customer, kind="account_team.removed", actor=actor,
                 summary=_("%(name)s left the account team") % {"name": member.user})


# ---------------------------------------------------------------- merge

@transaction.atomic
def customer_merge(*, actor: User | None, survivor_id: int, merged_id: int, reason: str) -> Customer:
    """Merge a duplicate into the survivor. Every history is kept: contacts and the account team move to the
    survivor; the merged record stays (status "merged", pointing at the survivor) with its own timeline, ledger
    and audit trail, which the survivor's page shows beside its own."""
    if actor is not None and not is_supervising(actor):
        raise PermissionRefused(_("Only a supervisor or an administrator can merge customers."),
                                extra={"right": "customer.merge"})
    if survivor_id == merged_id:
        raise ValidationFailed(field_errors={"merged": [_("Choose two different customers.")]})
    if not (reason or "").strip():
        raise ValidationFailed(field_errors={"reason": [_("Say why these records are the same customer.")]})
    if actor is not None:
        survivor = visible_customer(actor, survivor_id, for_update=True)
        merged = visible_customer(actor, merged_id, for_update=True)
    else:
        survivor = Customer.objects.get(pk=survivor_id)
        merged = Customer.objects.get(pk=merged_id)
    for customer in (survivor, merged):
        if customer.status == CustomerStatus.MERGED:
            raise ValidationFailed(_("%(name)s was already merged into another customer.") % {"name": customer})
    moved_contacts = Contact.objects.filter(customer=merged).update(customer=survivor)
    for member in AccountTeamMember.objects.filter(customer=merged):
        if not AccountTeamMember.objects.filter(customer=survivor, user=member.user).exists() and \
                member.user_id != survivor.owner_id:
            AccountTeamMember.objects.create(customer=survivor, user=member.user, role=member.role,
                                             credit_share=Decimal(0), start_on=member.start_on, end_on=member.end_on)
    if merged.owner_id and merged.owner_id != survivor.owner_id and merged.owner_id and not \
            AccountTeamMember.objects.filter(customer=survivor, user_id=merged.owner_id).exists():
        AccountTeamMember.objects.create(customer=survivor, user_id=merged.owner_id, role=_("former owner (merge)"),
                                         credit_share=Decimal(0), start_on=timezone.localdate())
    aliases = list(dict.fromkeys([*survivor.aliases, merged.name, *merged.aliases]))
    uscc = survivor.uscc or merged.uscc
    merged_uscc = merged.uscc
    Customer.objects.filter(pk=merged.pk).update(status=CustomerStatus.MERGED, merged_into=survivor, uscc=None,
                                                 updated_at=timezone.now())
    Customer.objects.filter(pk=survivor.pk).update(aliases=aliases[:20], uscc=uscc, updated_at=timezone.now())
    if merged.owner_id is not None:
        from kamguard.customers.services.ownership import owner_change

        owner_change(customer=merged, expected_owner_id=merged.owner_id, new_owner=None, kind=OwnershipKind.MERGE,
                     actor=actor, reason=reason, reference=f"merged-into:{survivor.pk}")
    audit_record(actor=actor, action="customers.customer.merged", obj=survivor, reason=reason, changes={
        "merged": {"before": None, "after": merged.pk}, "contacts_moved": {"before": 0, "after": moved_contacts},
        "uscc": {"before": survivor.uscc, "after": uscc if uscc != survivor.uscc else survivor.uscc}})
    timeline_add(customer=survivor, kind="customer.merged", actor=actor,
                 summary=_("%(name)s merged into this customer: %(reason)s") % {"name": merged.name, "reason": reason},
                 data={"merged": merged.pk, "uscc_from_merged": merged_uscc})
    timeline_add(customer=merged, kind="customer.merged_away", actor=actor,
                 summary=_("Merged into %(name)s") % {"name": survivor.name}, data={"survivor": survivor.pk})
    customer_keys_refresh(customer_ids=[survivor.pk, merged.pk])
    survivor.refresh_from_db()
    return survivor


def industry_by_name(name: str) -> Industry | None:
    return Industry.objects.filter(name=name).first() if name else None
