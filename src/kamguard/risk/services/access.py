"""Who may see and do what in the risk engine.

- Risk (dashboards, scores, alerts, cases) is seen by internal auditors and administrators only.
- Investigating (reviewing alerts, cases, penalties) is the internal auditors' work.
- The settings are changed by auditors and administrators; scans are started by them too.
- Nobody sees alerts or cases about themselves, whatever their role.
- A person's supervisor sees a case about them only once an auditor shares it, read-only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from kamguard.core.errors import PermissionRefused
from kamguard.org.domain.roles import Role
from kamguard.org.scopes import NOTHING

RIGHT_VIEW = "risk.view"
RIGHT_INVESTIGATE = "risk.investigate"
RIGHT_CONFIGURE = "risk.configure"


def _active(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def may_view_risk(user: Any) -> bool:
    return _active(user) and bool({Role.AUDITOR, Role.ADMIN} & set(user.roles))


def may_investigate(user: Any) -> bool:
    return _active(user) and Role.AUDITOR in user.roles


def may_configure(user: Any) -> bool:
    return may_view_risk(user)


def require_view(actor: Any) -> None:
    if actor is not None and not may_view_risk(actor):
        raise PermissionRefused(_("Risk findings are for internal auditors and administrators."),
                                extra={"right": RIGHT_VIEW})


def require_investigator(actor: Any) -> None:
    if actor is not None and not may_investigate(actor):
        raise PermissionRefused(_("Only an internal auditor may review alerts and run investigations."),
                                extra={"right": RIGHT_INVESTIGATE})


def require_configure(actor: Any) -> None:
    if actor is not None and not may_configure(actor):
        raise PermissionRefused(_("Only internal auditors and administrators may change risk settings or "
                                  "start a scan."), extra={"right": RIGHT_CONFIGURE})


def alert_visibility_q(viewer: Any) -> Q:
    """The alerts `viewer` may see: none unless they see risk; never those about themselves."""
    if viewer is None:
        return ~Q(pk__in=[])
    if not may_view_risk(viewer):
        return NOTHING
    return ~Q(person_id=viewer.pk) & ~Q(subject_type="manager", subject_id=viewer.pk)


def score_visibility_q(viewer: Any) -> Q:
    return alert_visibility_q(viewer)


def case_visibility_q(viewer: Any) -> Q:
    """The cases `viewer` may see: auditors and administrators all but their own; a supervisor those shared
    with them; nobody a case about themselves."""
    if viewer is None:
        return ~Q(pk__in=[])
    if not _active(viewer):
        return NOTHING
    about_self = Q(person_id=viewer.pk)
    if may_view_risk(viewer):
        return ~about_self
    return Q(shared_with_id=viewer.pk) & ~about_self
