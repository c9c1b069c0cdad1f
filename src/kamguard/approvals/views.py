"""Approval pages: my inbox, my requests, a request with its chain and history (approve / reject / withdraw),
policies (administrators), delegations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kamguard.approvals import selectors, services
from kamguard.approvals.forms import STEP_ROWS, DecideForm, DelegationForm, PolicyForm, WithdrawForm
from kamguard.approvals.models import ApprovalPolicy, ApprovalRequest, ApprovalStatus, StepStatus
from kamguard.approvals.registry import handler_for, registered_kinds
from kamguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from kamguard.core.pages import form_apply_error, page_view, paginate, refusal_record
from kamguard.org.domain.roles import Right
from kamguard.org.models import User


def _viewer(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _tabs(viewer: User) -> dict[str, Any]:
    return {"inbox_count": selectors.inbox_count(viewer=viewer), "can_manage": selectors.can_manage_policies(viewer)}


def _subject(r: ApprovalRequest) -> dict[str, Any]:
    handler = handler_for(r.kind)
    return {"label": str(handler.label) if handler else r.kind, "url": handler.url(r.subject_id) if handler else ""}


# ---------------------------------------------------------------- inbox and requests

@page_view(Right.VIEW_ORG)
def home(request: HttpRequest) -> HttpResponse:
    """My inbox: steps waiting for my decision (mine, my role's, delegated to me); overdue first."""
    viewer = _viewer(request)
    now = timezone.now()
    overdue = request.GET.get("overdue") == "1"
    kind = request.GET.get("kind", "")
    search = request.GET.get("q", "").strip()[:100]
    page = paginate(request, selectors.inbox(viewer=viewer, overdue_only=overdue, kind=kind, search=search, now=now))
    rows = [{"step": s, "request": s.request, "subject": _subject(s.request),
             "overdue": bool(s.due_at and s.due_at <= now),
             "on_behalf_of": s.approver if s.approver_id and s.approver_id != viewer.pk else None}
            for s in page.object_list]
    return render(request, "approvals/home.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "kinds": registered_kinds(), "kind": kind,
        "overdue": overdue, "tab": "inbox", **_tabs(viewer)})


def _request_list_page(request: HttpRequest, *, mine: bool) -> HttpResponse:
    viewer = _viewer(request)
    status = request.GET.get("status", "")
    status = status if status in ApprovalStatus.values else ""
    kind = request.GET.get("kind", "")
    search = request.GET.get("q", "").strip()[:100]
    if mine:
        qs = selectors.my_requests(viewer=viewer, status=status)
        if kind:
            qs = qs.filter(kind=kind)
        if search:
            qs = qs.filter(summary__icontains=search)
    else:
        qs = selectors.request_list(viewer=viewer, status=status, kind=kind, search=search)
    page = paginate(request, qs)
    rows = [{"request": r, "subject": _subject(r)} for r in page.object_list]
    return render(request, "approvals/request_list.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "statuses": ApprovalStatus.choices,
        "status": status, "kinds": registered_kinds(), "kind": kind, "mine": mine,
        "tab": "mine" if mine else "all", **_tabs(viewer)})


@page_view(Right.VIEW_ORG)
def request_list(request: HttpRequest) -> HttpResponse:
    """Requests I may see: mine, my scope's, and those I am an approver of."""
    return _request_list_page(request, mine=False)


@page_view(Right.VIEW_ORG)
def my_requests(request: HttpRequest) -> HttpResponse:
    return _request_list_page(request, mine=True)


def _detail_context(request: HttpRequest, approval: ApprovalRequest, **extra: Any) -> dict[str, Any]:
    viewer = _viewer(request)
    step, on_behalf_of = services.acting_step(approval, viewer)
    return {
        "approval": approval, "subject": _subject(approval), "steps": selectors.request_steps(request=approval),
        "history": selectors.request_history(request=approval), "now": timezone.now(),
        "can_decide": step is not None and viewer.pk != approval.requested_by_id, "acting_for": on_behalf_of,
        "can_withdraw": approval.is_pending and approval.requested_by_id == viewer.pk,
        "decide_form": extra.pop("decide_form", None) or DecideForm(),
        "withdraw_form": extra.pop("withdraw_form", None) or WithdrawForm(), **_tabs(viewer), **extra}


def _get(viewer: User, request_id: int) -> ApprovalRequest:
    approval = selectors.request_detail(viewer=viewer, request_id=request_id)
    if approval is None:
        raise NotFound()
    return approval


@page_view(Right.VIEW_ORG)
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    approval = _get(_viewer(request), request_id)
    return render(request, "approvals/request_detail.html", _detail_context(request, approval))


def _decided_message(approval: ApprovalRequest) -> str:
    """What the decision did: the request approved or rejected, or whose step comes next."""
    if approval.status == ApprovalStatus.APPROVED:
        return _("Approved: the request is approved and the requester is told.")
    if approval.status == ApprovalStatus.REJECTED:
        return _("Rejected: the requester is told and may change the item and send it again.")
    waiting = [s.approver_label for s in selectors.request_steps(request=approval) if s.status == StepStatus.PENDING]
    return _("Approved. The request now waits for: %(who)s.") % {"who": " · ".join(waiting) if waiting else "—"}


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def decide(request: HttpRequest, request_id: int) -> HttpResponse:
    viewer = _viewer(request)
    approval = _get(viewer, request_id)
    form = DecideForm(request.POST)
    if form.is_valid():
        try:
            decided = services.approval_decide(actor=viewer, request_id=approval.pk,
                                               approve=form.cleaned_data["decision"] == "approve",
                                               reason=form.cleaned_data["reason"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        except PermissionRefused as exc:  # said in place (why not, e.g. "you are a party"), and audited
            refusal_record(request, exc)
            form.add_error(None, str(exc.message))
            approval.refresh_from_db()
            return render(request, "approvals/request_detail.html",
                          _detail_context(request, approval, decide_form=form), status=403)
        else:
            messages.success(request, _decided_message(decided))
            nxt = request.POST.get("next", "")
            if nxt.startswith("/") and not nxt.startswith("//"):
                return redirect(nxt)
            return redirect("approvals:request_detail", request_id=approval.pk)
    approval.refresh_from_db()
    return render(request, "approvals/request_detail.html", _detail_context(request, approval, decide_form=form),
                  status=422)


@page_view(Right.EDIT_BUSINESS_DATA)
@require_POST
def withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    viewer = _viewer(request)
    approval = _get(viewer, request_id)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.approval_withdraw(actor=viewer, request_id=approval.pk, reason=form.cleaned_data["reason"])
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Request withdrawn."))
            return redirect("approvals:request_detail", request_id=approval.pk)
    approval.refresh_from_db()
    return render(request, "approvals/request_detail.html", _detail_context(request, approval, withdraw_form=form),
                  status=422)


# ---------------------------------------------------------------- policies

@page_view(Right.VIEW_ORG)
def policy_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    kind = request.GET.get("kind", "")
    page = paginate(request, selectors.policy_list(viewer=viewer, kind=kind))
    labels = dict(registered_kinds())
    people = {u.pk: u for u in User.objects.filter(pk__in={s.get("user_id") for p in page.object_list
                                                           for s in (p.steps or []) if s.get("user_id")})}
    rows = [{"policy": p, "kind_label": labels.get(p.kind, p.kind),
             "steps": [{**s, "person": people.get(s.get("user_id"))} for s in (p.steps or [])]}
            for p in page.object_list]
    return render(request, "approvals/policy_list.html", {
        "page": page, "rows": rows, "total": page.paginator.count, "kinds": registered_kinds(), "kind": kind,
        "tab": "policies", **_tabs(viewer)})


def _policy_form_page(request: HttpRequest, policy: ApprovalPolicy | None) -> HttpResponse:
    viewer = _viewer(request)
    if not selectors.can_manage_policies(viewer):
        raise PermissionRefused(_("Only an administrator manages approval policies."),
                                extra={"right": str(Right.MANAGE_ORG)})
    initial = PolicyForm.initial_for(policy) if policy else None
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if policy is None:
                policy = services.policy_create(actor=viewer, **form.values())
            else:
                services.policy_update(actor=viewer, policy_id=policy.pk, **form.values())
        except (ValidationFailed, Conflict) as exc:
            form_apply_error(form, exc)
        else:
            messages.success(request, _("Policy saved."))
            return redirect("approvals:policy_list")
    rows = [{"n": i, "approver": form[f"step{i}_approver"], "role": form[f"step{i}_role"],
             "person": form[f"step{i}_person"], "parallel": form[f"step{i}_parallel"] if i > 1 else None}
            for i in range(1, STEP_ROWS + 1)]
    general = [form[name] for name in ("name", "kind", "priority", "min_amount", "max_amount", "min_discount_pct",
                                        "tiers", "due_hours", "is_active", "description")]
    return render(request, "approvals/policy_form.html", {
        "form": form, "general": general, "step_rows": rows, "policy": policy, "tab": "policies",
        "title": _("Change the policy %(name)s") % {"name": policy.name} if policy else _("New approval policy"),
        "steps_errors": form.errors.get("steps"), **_tabs(viewer)})


@page_view(Right.VIEW_ORG)
def policy_create(request: HttpRequest) -> HttpResponse:
    return _policy_form_page(request, None)


@page_view(Right.VIEW_ORG)
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = selectors.policy_list(viewer=_viewer(request)).filter(pk=policy_id).first()
    if policy is None:
        raise NotFound()
    return _policy_form_page(request, policy)


# ---------------------------------------------------------------- delegations

@page_view(Right.VIEW_ORG)
def delegations(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    form = DelegationForm(request.POST or None)
    if request.method == "POST":
        if not viewer.has_right(Right.EDIT_BUSINESS_DATA):
            raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.delegation_create(actor=viewer, delegate_id=data["delegate"].pk, starts_on=data["starts_on"],
                                           ends_on=data["ends_on"], kinds=",".join(data.get("kinds") or []),
                                           reason=data.get("reason", ""))
            except (ValidationFailed, Conflict) as exc:
                form_apply_error(form, exc)
            else:
                messages.success(request, _("Delegation saved."))
                return redirect("approvals:delegations")
    page = paginate(request, selectors.delegation_list(viewer=viewer))
    labels = dict(registered_kinds())
    today = timezone.localdate()
    rows = [{"d": d, "kinds": [labels.get(k, k) for k in d.kinds.split(",") if k],
             "current": d.revoked_at is None and d.starts_on <= today <= d.ends_on,
             "can_revoke": d.revoked_at is None and (d.delegator_id == viewer.pk or d.created_by_id == viewer.pk
                                                     or viewer.has_right(Right.MANAGE_USERS))}
            for d in page.object_list]
    return render(request, "approvals/delegations.html", {
        "form": form, "page": page, "rows": rows, "total": page.paginator.count, "tab": "delegations",
        "can_delegate": viewer.has_right(Right.EDIT_BUSINESS_DATA), **_tabs(viewer)},
        status=422 if request.method == "POST" else 200)


@page_view(Right.VIEW_ORG)
@require_POST
def delegation_revoke(request: HttpRequest, delegation_id: int) -> HttpResponse:
    try:
        services.delegation_revoke(actor=_viewer(request), delegation_id=delegation_id)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Delegation revoked."))
    return redirect("approvals:delegations")
