"""Customer pages: my and team customers, the customer page, pools, disputes, transfers and the dispute report.

Thin views: validate the form, call a selector or a service, render. A service's error is shown in place."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from kamguard.core.audit import audit_record
from kamguard.core.errors import Conflict, DomainError, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate
from kamguard.customers import reports, selectors
from kamguard.customers.forms import (
    ContactForm,
    CustomerCreateForm,
    CustomerEditForm,
    DisputeAnswerForm,
    DisputeDecideForm,
    DisputeFileForm,
    MergeForm,
    OptionalReasonForm,
    PoolForm,
    PoolMemberForm,
    ReasonForm,
    TeamMemberForm,
    TransferDecideForm,
    TransferForm,
)
from kamguard.customers.models import (
    AccountTeamMember,
    Contact,
    Customer,
    CustomerStatus,
    DisputeStatus,
    OwnershipDispute,
    Pool,
    PoolMembership,
    RequestStatus,
    Tier,
    TierStandard,
    TransferRequest,
)
from kamguard.customers.services import disputes, ownership, pools, records
from kamguard.customers.services.common import is_supervising, require_edit
from kamguard.customers.services.dedupe import candidates_for_viewer, customer_dedupe_check
from kamguard.org import selectors as org_selectors
from kamguard.org.domain.masking import mask
from kamguard.org.domain.roles import Right, Scope
from kamguard.org.models import User

CONTACT_PII = ("phone", "email", "wechat")
IN_POOL = {"pool": True, "owned": False}
# The model's labels ("Active") are shared with people's status; customers need their own words.
STATUS_LABELS = [
    (CustomerStatus.ACTIVE, pgettext_lazy("customer status", "Active")),
    (CustomerStatus.DORMANT, pgettext_lazy("customer status", "Dormant")),
    (CustomerStatus.CLOSED, pgettext_lazy("customer status", "Closed")),
    (CustomerStatus.MERGED, pgettext_lazy("customer status", "Merged into another")),
]


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


# ---------------------------------------------------------------- lists

def _customer_list_page(request: HttpRequest, *, mine: bool) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", CustomerStatus.ACTIVE)
    if status not in CustomerStatus.values and status != "all":
        status = CustomerStatus.ACTIVE
    tier = request.GET.get("tier", "")
    sort = request.GET.get("sort", "name")
    owned = request.GET.get("owned", "")
    qs = selectors.customer_list(
        viewer=viewer, search=request.GET.get("q", "")[:100], owner_id=viewer.pk if mine else _int(request, "owner"),
        pool_id=_int(request, "pool"), tier=tier if tier in Tier.values else "",
        status="" if status == "all" else status, in_pool=None if mine else IN_POOL.get(owned),
        team_id=None if mine else _int(request, "team"), sort=sort)
    page = paginate(request, qs)
    tiers = dict(qs.order_by().values_list("tier").annotate(n=Count("pk")))
    context = {
        "mine": mine, "page": page, "customers": page.object_list, "total": page.paginator.count,
        "tier_counts": [(value, label, tiers.get(value, 0)) for value, label in Tier.choices],
        "tiers": Tier.choices, "statuses": STATUS_LABELS, "status": status, "sort": sort,
        "pools": selectors.pool_list(viewer=viewer), "can_register": viewer.has_right(Right.EDIT_BUSINESS_DATA),
        "sees_team": viewer.scope >= Scope.TEAM,
    }
    if not mine:
        context["teams"] = org_selectors.team_list(viewer=viewer).order_by("name")
        context["owners"] = org_selectors.user_list(viewer=viewer, is_active=True).order_by("full_name")[:500]
    template = "customers/_customer_rows.html" if request.htmx else "customers/customer_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@page_view(Right.VIEW_ORG)
def my_customers(request: HttpRequest) -> HttpResponse:
    return _customer_list_page(request, mine=True)


@page_view(Right.VIEW_ORG)
def team_customers(request: HttpRequest) -> HttpResponse:
    return _customer_list_page(request, mine=False)


# ---------------------------------------------------------------- register and edit (with the duplicate check)

def _customer_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = {k: data[k] for k in ("name", "uscc", "english_name", "aliases", "address", "website", "industry",
                                   "size", "tier")}
    if data.get("pool") is not None:
        fields["pool"] = data["pool"]
    return fields


# The pure engine (customers.domain.dedupe) explains matches in fixed English codes; these are their words.
MATCH_REASONS = {
    "same normalised name": gettext_lazy("same name"), "short name contained": gettext_lazy("short name contained in the name"),
    "short name abbreviation": gettext_lazy("short name or abbreviation"),
    "same core name": gettext_lazy("same core name"), "similar core name": gettext_lazy("similar core name"),
    "same pronunciation": gettext_lazy("same pronunciation"), "similar full name": gettext_lazy("similar full name"),
    "different generic words": gettext_lazy("different generic words"), "different region": gettext_lazy("different region"),
    "same region": gettext_lazy("same region"), "region within region": gettext_lazy("region within region"),
    "branch vs head office": gettext_lazy("branch and head office"), "different branches": gettext_lazy("different branches"),
    "same English name": gettext_lazy("same English name"), "similar English name": gettext_lazy("similar English name"),
    "same phone": gettext_lazy("same phone"), "same mail domain": gettext_lazy("same e-mail domain"),
    "same USCC": gettext_lazy("same unified social credit code"),
    "different USCC": gettext_lazy("different unified social credit code"),
}


def candidates_shown(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The service's candidates with their reasons in the user's language; pool customers marked."""
    pool_label = _("shared pool")
    return [{**c, "reasons": [str(MATCH_REASONS.get(r, r)) for r in c.get("reasons", [])],
             "in_pool": c.get("owner") == pool_label} for c in candidates]


def _dedupe_context(exc: DomainError) -> dict[str, Any]:
    candidates = candidates_shown(exc.extra.get("candidates") or [])
    if isinstance(exc, records.DuplicateCustomer):
        return {"duplicate": {"message": exc.message, "candidates": candidates}}
    return {"possible": {"message": exc.message, "candidates": candidates}}


@page_view(Right.EDIT_BUSINESS_DATA)
def customer_create(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = CustomerCreateForm(request.POST or None)
    context: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contacts = []
        if data["contact_name"] or data["contact_phone"] or data["contact_email"]:
            contacts.append({"name": data["contact_name"] or data["name"], "phone": data["contact_phone"],
                             "email": data["contact_email"]})
        try:
            customer = records.customer_create(actor=viewer, contacts=contacts,
                                               duplicate_reason=data["duplicate_reason"], **_customer_fields(data))
        except (records.DuplicateCustomer, records.PossibleDuplicate) as exc:
            context.update(_dedupe_context(exc))
            if isinstance(exc, records.PossibleDuplicate):
                form_apply_error(form, exc)
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("%(name)s was registered.") % {"name": customer})
            return redirect("customers:customer_detail", customer_id=customer.pk)
    context.update({"form": form, "title": _("Register a customer"),
                    "ask_reason": "possible" in context or bool(form.data.get("duplicate_reason"))})
    return render(request, "customers/customer_form.html", context)


@page_view(Right.EDIT_BUSINESS_DATA)
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    require_edit(viewer, customer)
    initial = {k: getattr(customer, k) for k in ("name", "uscc", "english_name", "address", "website", "industry",
                                                 "size", "tier", "pool")}
    initial["aliases"] = " | ".join(customer.aliases or [])
    form = CustomerEditForm(request.POST or None, initial=initial)
    context: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = {k: v for k, v in _customer_fields(data).items() if k in form.changed_data}
        if "pool" in form.changed_data:
            changed["pool"] = data["pool"]
        try:
            records.customer_update(actor=viewer, customer_id=customer.pk, reason=data["reason"],
                                    duplicate_reason=data["duplicate_reason"], **changed)
        except (records.DuplicateCustomer, records.PossibleDuplicate) as exc:
            context.update(_dedupe_context(exc))
            if isinstance(exc, records.PossibleDuplicate):
                form_apply_error(form, exc)
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:customer_detail", customer_id=customer.pk)
    context.update({"form": form, "customer": customer, "title": _("Edit %(name)s") % {"name": customer},
                    "ask_reason": "possible" in context or bool(form.data.get("duplicate_reason"))})
    return render(request, "customers/customer_form.html", context)


# ---------------------------------------------------------------- the customer page

def _is_insider(viewer: User, customer: Customer, team: list[AccountTeamMember]) -> bool:
    """Owner and account team see contact data in clear."""
    today = timezone.localdate()
    return customer.owner_id == viewer.pk or any(
        m.user_id == viewer.pk and (m.end_on is None or m.end_on >= today) for m in team)


def _contact_rows(viewer: User, customer: Customer, contacts: list[Contact], insider: bool) -> list[dict[str, Any]]:
    return [{"contact": c, "pii": {f: (getattr(c, f) if insider else mask(f, getattr(c, f) or ""))
                                   for f in CONTACT_PII}} for c in contacts]


def _permissions(viewer: User, customer: Customer) -> dict[str, bool]:
    edits = viewer.has_right(Right.EDIT_BUSINESS_DATA)
    try:
        require_edit(viewer, customer)
        can_edit = customer.status != CustomerStatus.MERGED
    except PermissionRefused:
        can_edit = False
    is_member = customer.pool_id is not None and PoolMembership.objects.filter(
        pool_id=customer.pool_id, user=viewer).exists()
    owned = customer.owner_id is not None
    active = customer.status == CustomerStatus.ACTIVE
    return {
        "edit": can_edit,
        "claim": edits and active and not owned and is_member,
        "release": edits and customer.owner_id == viewer.pk,
        "lock": edits and owned and (customer.owner_id == viewer.pk or is_supervising(viewer)),
        "transfer": is_supervising(viewer) and active,
        "request_transfer": edits and owned and active and not is_supervising(viewer),
        "merge": is_supervising(viewer) and customer.status != CustomerStatus.MERGED,
        "dispute": edits and owned and active and customer.owner_id != viewer.pk,
        "reveal": viewer.has_right(Right.REVEAL_PII),
    }


def _owner_on(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    raw = request.GET.get("on", "")
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return {"date": raw, "error": _("Enter a date as YYYY-MM-DD.")}
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time.max))
    owner_id = selectors.owner_on(customer_id=customer.pk, on=moment)
    owner = User.objects.filter(pk=owner_id).first() if owner_id else None
    return {"date": day, "owner": owner}


@page_view(Right.VIEW_ORG)
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    team = list(customer.team_members.select_related("user").order_by("-credit_share", "pk"))
    insider = _is_insider(viewer, customer, team)
    contacts = list(customer.contacts.order_by("-is_active", "-is_decision_maker", "name"))
    timeline = paginate(request, reports.customer_timeline(viewer=viewer, customer=customer), 20)
    context = {
        "customer": customer, "team": team, "contacts": _contact_rows(viewer, customer, contacts, insider),
        "insider": insider, "ledger": selectors.ownership_history(viewer=viewer, customer=customer),
        "owner_on": _owner_on(request, customer), "timeline": timeline, "can": _permissions(viewer, customer),
        "shared": sum((m.credit_share for m in team), start=0),
        "merged_from": Customer.objects.filter(merged_into=customer).order_by("name"),
        "tier_standard": TierStandard.objects.filter(tier=customer.tier).first(),
        "transfer_pending": customer.transfer_requests.filter(status=RequestStatus.PENDING).first(),
    }
    if request.htmx and request.GET.get("page"):  # type: ignore[attr-defined]
        return render(request, "customers/_timeline.html", context)
    return render(request, "customers/customer_detail.html", context)


@page_view(Right.VIEW_ORG)
@require_POST
def contact_reveal(request: HttpRequest, customer_id: int, contact_id: int, field: str) -> HttpResponse:
    """Reveal one masked contact value: needs the right; always audited (pii.revealed)."""
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    contact = Contact.objects.filter(pk=contact_id, customer=customer).first()
    if contact is None or field not in CONTACT_PII:
        raise NotFound()
    value = contact_pii_reveal(actor=viewer, contact=contact, field=field)
    return render(request, "customers/_revealed.html", {"value": value, "field": field})


@transaction.atomic
def contact_pii_reveal(*, actor: User, contact: Contact, field: str) -> str:
    """Kept here until the integrator moves it into services/records.py (see the report)."""
    if not actor.has_right(Right.REVEAL_PII):
        raise PermissionRefused(_("You do not have the right to see personal contact data."),
                                extra={"right": str(Right.REVEAL_PII)})
    audit_record(actor=actor, action="pii.revealed", obj=contact, object_label=f"{contact.customer} · {contact}",
                 changes={"field": {"before": None, "after": field}})
    return getattr(contact, field) or ""


def _contact_page(request: HttpRequest, customer_id: int, contact_id: int | None) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    require_edit(viewer, customer)
    contact = None
    initial: dict[str, Any] = {"is_active": True}
    if contact_id is not None:
        contact = Contact.objects.filter(pk=contact_id, customer=customer).first()
        if contact is None:
            raise NotFound()
        initial = {f: getattr(contact, f) for f in ContactForm.base_fields}
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = form.cleaned_data if contact is None else {
            k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            records.contact_save(actor=viewer, customer_id=customer.pk, contact_id=contact_id, **fields)
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("customers:customer_detail", customer_id=customer.pk)
    title = (_("Add a contact to %(name)s") if contact is None else _("Edit contact %(contact)s")) % {
        "name": customer, "contact": contact}
    return render(request, "customers/form.html", {"form": form, "title": title, "customer": customer})


@page_view(Right.EDIT_BUSINESS_DATA)
def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _contact_page(request, customer_id, None)


@page_view(Right.EDIT_BUSINESS_DATA)
def contact_edit(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    return _contact_page(request, customer_id, contact_id)


@page_view(Right.EDIT_BUSINESS_DATA)
def team_member_set(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    require_edit(viewer, customer)
    initial: dict[str, Any] = {}
    member = AccountTeamMember.objects.filter(customer=customer, user_id=_int(request, "user") or 0).first()
    if member is not None:
        initial = {"user": member.user_id, "role": member.role, "credit_share": member.credit_share,
                   "end_on": member.end_on}
    form = TeamMemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            records.account_team_set(actor=viewer, customer_id=customer.pk, user=data["user"], role=data["role"],
                                     credit_share=data["credit_share"], end_on=data["end_on"], reason=data["reason"])
        except ValidationFailed as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Account team saved."))
            return redirect("customers:customer_detail", customer_id=customer.pk)
    return render(request, "customers/form.html", {
        "form": form, "customer": customer, "title": _("Account team of %(name)s") % {"name": customer}})


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def team_member_remove(request: HttpRequest, customer_id: int, user_id: int) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    records.account_team_remove(actor=viewer, customer_id=customer.pk, user_id=user_id,
                                reason=request.POST.get("reason", "")[:1000])
    messages.success(request, _("Removed from the account team."))
    return redirect("customers:customer_detail", customer_id=customer.pk)


# ---------------------------------------------------------------- ownership actions

@page_view(Right.VIEW_ORG)
@require_POST
def customer_claim(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Claim from the pool. With htmx the row's cell is replaced by the result; a lost race says who won."""
    viewer = _viewer(request)
    error = ""
    customer = None
    try:
        customer = ownership.customer_claim(actor=viewer, customer_id=customer_id)
    except NotFound:
        raise
    except PermissionRefused as exc:
        if not request.htmx:  # type: ignore[attr-defined]
            raise
        error = str(exc.message)
    except (Conflict, ValidationFailed) as exc:
        error = str(exc.message)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "customers/_claim_result.html", {"error": error, "customer": customer})
    if error:
        messages.error(request, error)
        return redirect("customers:customer_detail", customer_id=customer_id) if selectors.customer_is_visible(
            viewer=viewer, customer_id=customer_id) else redirect("customers:pool_list")
    messages.success(request, _("%(name)s is now yours.") % {"name": customer})
    return redirect("customers:customer_detail", customer_id=customer_id)


def _reason_action(request: HttpRequest, customer_id: int, *, title: str, action: Any, done: str,
                   optional: bool = False, danger: bool = False) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    form = (OptionalReasonForm if optional else ReasonForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            action(viewer, customer, form.cleaned_data["reason"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, done)
            if selectors.customer_is_visible(viewer=viewer, customer_id=customer.pk):
                return redirect("customers:customer_detail", customer_id=customer.pk)
            return redirect("customers:my_customers")
    return render(request, "customers/form.html", {"form": form, "customer": customer,
                                                   "title": title % {"name": customer}, "danger": danger})


@page_view(Right.EDIT_BUSINESS_DATA)
def customer_release(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _reason_action(
        request, customer_id, title=_("Release %(name)s to the shared pool"), danger=True,
        done=_("Released to the shared pool."),
        action=lambda v, c, reason: ownership.customer_release(actor=v, customer_id=c.pk, reason=reason))


@page_view(Right.EDIT_BUSINESS_DATA)
def customer_lock(request: HttpRequest, customer_id: int, locked: int) -> HttpResponse:
    return _reason_action(
        request, customer_id, optional=True,
        title=_("Lock %(name)s against reclaim") if locked else _("Unlock %(name)s"),
        done=_("Locked.") if locked else _("Unlocked."),
        action=lambda v, c, reason: ownership.customer_lock(actor=v, customer_id=c.pk, locked=bool(locked),
                                                            reason=reason))


def _transfer_page(request: HttpRequest, customer_id: int, *, direct: bool) -> HttpResponse:
    viewer = _viewer(request)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    form = TransferForm(request.POST or None)
    form.fields["to_owner"].queryset = org_selectors.user_list(  # type: ignore[attr-defined]
        viewer=viewer, is_active=True).order_by("full_name") if direct else User.objects.filter(
        is_active=True).order_by("full_name")
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["to_owner"]
        try:
            if direct:
                ownership.customer_transfer(actor=viewer, customer_id=customer.pk,
                                            to_owner_id=target.pk if target else None,
                                            reason=form.cleaned_data["reason"])
            else:
                ownership.transfer_request_create(actor=viewer, customer_id=customer.pk,
                                                  to_owner_id=target.pk if target else None,
                                                  reason=form.cleaned_data["reason"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Transferred.") if direct else _(
                "Transfer requested. A supervisor will decide."))
            if selectors.customer_is_visible(viewer=viewer, customer_id=customer.pk):
                return redirect("customers:customer_detail", customer_id=customer.pk)
            return redirect("customers:transfer_list")
    title = _("Transfer %(name)s") if direct else _("Request a transfer of %(name)s")
    return render(request, "customers/form.html", {"form": form, "customer": customer,
                                                   "title": title % {"name": customer}})


@page_view(Right.EDIT_BUSINESS_DATA)
def customer_transfer(request: HttpRequest, customer_id: int) -> HttpResponse:
    if not is_supervising(_viewer(request)):
        raise PermissionRefused(extra={"right": "customer.transfer"})
    return _transfer_page(request, customer_id, direct=True)


@page_view(Right.EDIT_BUSINESS_DATA)
def transfer_request_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _transfer_page(request, customer_id, direct=False)


@page_view(Right.EDIT_BUSINESS_DATA)
def customer_merge(request: HttpRequest, customer_id: int) -> HttpResponse:
    viewer = _viewer(request)
    if not is_supervising(viewer):
        raise PermissionRefused(extra={"right": "customer.merge"})
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id)
    result = customer_dedupe_check(name=customer.name, uscc=None, english_name=customer.english_name,
                                   aliases=customer.aliases or [], exclude_ids=[customer.pk])
    candidates = [(c.customer_id, f"{c.name} · {c.owner_name} · {c.score:.2f}")
                  for c in candidates_for_viewer(viewer=viewer, result=result) if c.customer_id]
    form = MergeForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        merged_id = form.chosen()
        if not merged_id:
            form.add_error("merged", _("Choose the duplicate."))
        else:
            try:
                records.customer_merge(actor=viewer, survivor_id=customer.pk, merged_id=merged_id,
                                       reason=form.cleaned_data["reason"])
            except NotFound:
                form.add_error("merged_id", _("No such customer in your scope."))
            except (ValidationFailed, Conflict) as exc:
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Merged. Both histories are kept."))
                return redirect("customers:customer_detail", customer_id=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": customer, "danger": True,
                                                   "title": _("Merge a duplicate into %(name)s") % {"name": customer}})


@page_view(Right.EDIT_BUSINESS_DATA)
def dispute_file(request: HttpRequest, customer_id: int | None = None, token: str = "") -> HttpResponse:
    """File an ownership claim. The claimant may not see the customer (they learnt of it from the duplicate
    check): then the page names nothing about it."""
    viewer = _viewer(request)
    if token:
        from kamguard.customers.services.dedupe import claim_token_read

        customer_id = claim_token_read(viewer=viewer, token=token)
    elif customer_id is None or not selectors.customer_is_visible(viewer=viewer, customer_id=customer_id):
        raise NotFound()
    visible = selectors.customer_is_visible(viewer=viewer, customer_id=customer_id)
    customer = selectors.customer_get(viewer=viewer, customer_id=customer_id) if visible else None
    form = DisputeFileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dispute = disputes.dispute_file(actor=viewer, customer_id=None if token else customer_id,
                                            claim_token=token, evidence=data["evidence"],
                                            first_contact_on=data["first_contact_on"],
                                            contacts_known=data["contacts_known"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Your claim was filed. The owner answers, then a supervisor decides."))
            return redirect("customers:dispute_detail", dispute_id=dispute.pk)
    title = _("File an ownership claim on %(name)s") % {"name": customer} if customer else _(
        "File an ownership claim")
    return render(request, "customers/form.html", {"form": form, "customer": customer, "title": title})


# ---------------------------------------------------------------- pools

def _can_manage_pool(viewer: User, pool: Pool | None) -> bool:
    if viewer.has_right(Right.MANAGE_ORG) or (viewer.scope >= Scope.DEPARTMENT
                                              and viewer.has_right(Right.EDIT_BUSINESS_DATA)):
        return True
    return pool is not None and PoolMembership.objects.filter(pool=pool, user=viewer, is_admin=True).exists()


@page_view(Right.VIEW_ORG)
def pool_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    pools_qs = selectors.pool_list(viewer=viewer).annotate(
        unowned=Count("customers", filter=Q(customers__owner__isnull=True, customers__status=CustomerStatus.ACTIVE),
                      distinct=True),
        members=Count("memberships", distinct=True))
    return render(request, "customers/pool_list.html", {"pools": pools_qs, "can_create": _can_manage_pool(viewer, None)})


@page_view(Right.VIEW_ORG)
def pool_detail(request: HttpRequest, pool_id: int) -> HttpResponse:
    viewer = _viewer(request)
    pool = selectors.pool_get(viewer=viewer, pool_id=pool_id)
    qs = selectors.customer_list(viewer=viewer, pool_id=pool.pk, in_pool=True, search=request.GET.get("q", "")[:100],
                                 sort=request.GET.get("sort", "name"))
    page = paginate(request, qs)
    member = PoolMembership.objects.filter(pool=pool, user=viewer).first()
    context = {
        "pool": pool, "page": page, "customers": page.object_list, "total": page.paginator.count,
        "can_claim": member is not None and viewer.has_right(Right.EDIT_BUSINESS_DATA),
        "can_manage": _can_manage_pool(viewer, pool),
        "memberships": pool.memberships.select_related("user", "user__team").order_by("-is_admin", "user__full_name"),
        "member_form": PoolMemberForm(),
    }
    return render(request, "customers/pool_detail.html", context)


def _pool_form_page(request: HttpRequest, pool: Pool | None) -> HttpResponse:
    viewer = _viewer(request)
    if not _can_manage_pool(viewer, pool):
        raise PermissionRefused(extra={"right": "pool.manage"})
    from kamguard.customers.services.pools import RULE_FIELDS

    initial: dict[str, Any] = {"is_active": True, "cooldown_days": 30, "protection_days": 15,
                               "warn_days_before": 7, "max_locks": 5}
    if pool is not None:
        initial = {f: getattr(pool, f) for f in ("name", "is_active", *RULE_FIELDS)}
    form = PoolForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = form.cleaned_data if pool is None else {
            k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            saved = pools.pool_save(actor=viewer, pool_id=pool.pk if pool else None, **fields)
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Pool saved."))
            return redirect("customers:pool_detail", pool_id=saved.pk)
    title = _("New shared pool") if pool is None else _("Rules of %(name)s") % {"name": pool}
    return render(request, "customers/form.html", {"form": form, "title": title})


@page_view(Right.VIEW_ORG)
def pool_create(request: HttpRequest) -> HttpResponse:
    return _pool_form_page(request, None)


@page_view(Right.VIEW_ORG)
def pool_edit(request: HttpRequest, pool_id: int) -> HttpResponse:
    return _pool_form_page(request, selectors.pool_get(viewer=_viewer(request), pool_id=pool_id))


@page_view(Right.VIEW_ORG)
@require_POST
def pool_member(request: HttpRequest, pool_id: int) -> HttpResponse:
    viewer = _viewer(request)
    pool = selectors.pool_get(viewer=viewer, pool_id=pool_id)
    form = PoolMemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a person."))
        return redirect("customers:pool_detail", pool_id=pool.pk)
    remove = request.POST.get("remove") == "1"
    try:
        pools.pool_member_set(actor=viewer, pool_id=pool.pk, user=form.cleaned_data["user"], is_member=not remove,
                              is_admin=form.cleaned_data["is_admin"])
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Members saved."))
    return redirect("customers:pool_detail", pool_id=pool.pk)


# ---------------------------------------------------------------- disputes

def _dispute_rows(disputes_qs: Any) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [{"dispute": d, "overdue": d.status in (DisputeStatus.OPEN, DisputeStatus.ANSWERED) and d.deadline < today}
            for d in disputes_qs]


@page_view(Right.VIEW_ORG)
def dispute_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", "")
    role = request.GET.get("role", "")
    qs = selectors.dispute_list(viewer=viewer, status=status if status in DisputeStatus.values else "")
    if role == "claimant":
        qs = qs.filter(claimant=viewer)
    elif role == "owner":
        qs = qs.filter(owner=viewer)
    elif role == "arbiter":
        qs = qs.filter(arbiter=viewer)
    page = paginate(request, qs)
    return render(request, "customers/dispute_list.html", {
        "page": page, "rows": _dispute_rows(page.object_list), "total": page.paginator.count,
        "statuses": DisputeStatus.choices, "status": status, "role": role,
        "can_report": reports.dispute_report_allowed(viewer)})


def _dispute_get(viewer: User, dispute_id: int) -> OwnershipDispute:
    found = selectors.dispute_list(viewer=viewer).filter(pk=dispute_id).first()
    if found is None:
        raise NotFound()
    return found


def _dispute_page(request: HttpRequest, dispute: OwnershipDispute, **forms: Any) -> HttpResponse:
    viewer = _viewer(request)
    is_open = dispute.status in (DisputeStatus.OPEN, DisputeStatus.ANSWERED)
    can_decide = is_open and viewer.has_right(Right.EDIT_BUSINESS_DATA) and viewer.pk not in (
        dispute.claimant_id, dispute.owner_id) and (viewer.pk == dispute.arbiter_id or is_supervising(viewer))
    context = {
        "dispute": dispute, "overdue": is_open and dispute.deadline < timezone.localdate(),
        "customer_visible": selectors.customer_is_visible(viewer=viewer, customer_id=dispute.customer_id),
        "answer_form": forms.get("answer_form") or (DisputeAnswerForm() if dispute.status == DisputeStatus.OPEN
                                                    and dispute.owner_id == viewer.pk else None),
        "decide_form": forms.get("decide_form") or (DisputeDecideForm() if can_decide else None),
        "can_withdraw": is_open and dispute.claimant_id == viewer.pk,
    }
    return render(request, "customers/dispute_detail.html", context)


@page_view(Right.VIEW_ORG)
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    return _dispute_page(request, _dispute_get(_viewer(request), dispute_id))


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def dispute_answer(request: HttpRequest, dispute_id: int) -> HttpResponse:
    viewer = _viewer(request)
    dispute = _dispute_get(viewer, dispute_id)
    form = DisputeAnswerForm(request.POST)
    if form.is_valid():
        try:
            disputes.dispute_answer(actor=viewer, dispute_id=dispute.pk, answer=form.cleaned_data["answer"],
                                    first_contact_on=form.cleaned_data["first_contact_on"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Your answer was recorded. The arbiter decides next."))
            return redirect("customers:dispute_detail", dispute_id=dispute.pk)
    return _dispute_page(request, dispute, answer_form=form)


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def dispute_decide(request: HttpRequest, dispute_id: int) -> HttpResponse:
    viewer = _viewer(request)
    dispute = _dispute_get(viewer, dispute_id)
    form = DisputeDecideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            disputes.dispute_decide(actor=viewer, dispute_id=dispute.pk, outcome=data["outcome"],
                                    reason=data["reason"], claimant_share=data["claimant_share"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Decided. Both people see the decision and its reason."))
            return redirect("customers:dispute_detail", dispute_id=dispute.pk)
    return _dispute_page(request, dispute, decide_form=form)


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def dispute_withdraw(request: HttpRequest, dispute_id: int) -> HttpResponse:
    viewer = _viewer(request)
    dispute = _dispute_get(viewer, dispute_id)
    try:
        disputes.dispute_withdraw(actor=viewer, dispute_id=dispute.pk)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Claim withdrawn."))
    return redirect("customers:dispute_detail", dispute_id=dispute.pk)


# ---------------------------------------------------------------- transfer requests

def _transfer_approval(transfer: TransferRequest) -> Any:
    from kamguard.approvals.selectors import latest_request_for
    from kamguard.customers.approvals import KIND

    return latest_request_for(kind=KIND, subject_id=transfer.pk)


def _may_decide_transfer(viewer: User, transfer: TransferRequest, approval: Any) -> bool:
    """The approval engine says who decides (the step's approver, their delegate); a request filed before the
    engine existed is decided by a supervisor who is not a party, as before."""
    from kamguard.approvals.services import acting_step

    if transfer.status != RequestStatus.PENDING or viewer.pk in (
            transfer.requested_by_id, transfer.from_owner_id, transfer.to_owner_id):
        return False
    if approval is not None and approval.status == "pending":
        return acting_step(approval, viewer)[0] is not None
    return is_supervising(viewer)


@page_view(Right.VIEW_ORG)
def transfer_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", RequestStatus.PENDING)
    qs = selectors.transfer_request_list(viewer=viewer, status=status if status in RequestStatus.values else "")
    page = paginate(request, qs)
    rows = []
    for r in page.object_list:
        approval = _transfer_approval(r) if r.status == RequestStatus.PENDING else None
        rows.append({"request": r, "approval": approval,
                     "can_decide": _may_decide_transfer(viewer, r, approval),
                     "can_cancel": r.status == RequestStatus.PENDING and r.requested_by_id == viewer.pk})
    return render(request, "customers/transfer_list.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "statuses": RequestStatus.choices,
        "status": status})


@page_view(Right.EDIT_BUSINESS_DATA)
def transfer_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    viewer = _viewer(request)
    transfer = selectors.transfer_request_list(viewer=viewer).filter(pk=request_id).first()
    if transfer is None:
        raise NotFound()
    approval = _transfer_approval(transfer)
    if not (_may_decide_transfer(viewer, transfer, approval) if transfer.status == RequestStatus.PENDING
            else is_supervising(viewer)):
        raise PermissionRefused(_("This transfer request is not waiting for your decision."),
                                extra={"right": "transfer.decide"})
    form = TransferDecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ownership.transfer_request_decide(actor=viewer, request_id=transfer.pk,
                                              approve=form.cleaned_data["approve"], reason=form.cleaned_data["reason"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("customers:transfer_list")
    return render(request, "customers/transfer_decide.html", {"form": form, "transfer": transfer, "approval": approval})


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def transfer_cancel(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        ownership.transfer_request_cancel(actor=_viewer(request), request_id=request_id)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Request cancelled."))
    return redirect("customers:transfer_list")


# ---------------------------------------------------------------- the dispute report

REPORT_COLUMNS = ("period", "side", "team", "filed", "pending", "withdrawn", "outcome_keep", "outcome_transfer",
                  "outcome_share", "outcome_pool", "decided", "average_days_to_decide")


def _date(request: HttpRequest, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return None


def _csv_cell(value: object) -> object:
    """No formula injection: a text cell never starts with =, +, - or @."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@page_view(Right.VIEW_ORG)
def dispute_report(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    period = request.GET.get("period", "month")
    start, end = _date(request, "start"), _date(request, "end")
    rows = reports.dispute_report(viewer=viewer, period=period, start=start, end=end)
    if request.GET.get("format") == "csv":
        if not viewer.can_export:
            raise PermissionRefused(_("You may not export data. Ask an administrator."), extra={"right": "export"})
        audit_record(actor=viewer, action="customers.dispute_report.exported", object_type="report",
                     object_id="dispute_report", reason=f"period={period} start={start or ''} end={end or ''}",
                     changes={"rows": {"before": None, "after": len(rows)}})
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="dispute-report-{period}.csv"'
        response.write("\ufeff")  # Excel opens UTF-8 with a byte-order mark
        writer = csv.writer(response)
        writer.writerow(REPORT_COLUMNS)
        for row in rows:
            values = row.as_dict()
            writer.writerow([_csv_cell(values[c]) for c in REPORT_COLUMNS])
        return response
    return render(request, "customers/dispute_report.html", {
        "rows": rows, "period": period, "start": start, "end": end, "can_export": viewer.can_export})
