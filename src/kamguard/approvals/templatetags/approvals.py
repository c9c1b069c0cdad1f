"""Template tags for subject pages: `{% approval_panel approval request.user as ap %}`."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.simple_tag
def approval_panel(approval: Any, user: Any) -> dict[str, Any]:
    from kamguard.approvals import selectors, services

    if approval is None or not getattr(user, "is_authenticated", False):
        return {"steps": [], "can_decide": False, "acting_for": None, "now": timezone.now()}
    step, acting_for = services.acting_step(approval, user)
    return {"steps": list(selectors.request_steps(request=approval)), "now": timezone.now(),
            "can_decide": step is not None and user.pk != approval.requested_by_id, "acting_for": acting_for}
