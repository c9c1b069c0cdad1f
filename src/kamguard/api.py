"""Assembles the HTTP API: each app contributes its router under /api/v1/."""

from kamguard.accounts.api import router as accounts_router
from kamguard.activities.api import router as activities_router
from kamguard.allocation.api import router as allocation_router
from kamguard.approvals.api import router as approvals_router
from kamguard.audit.api import router as audit_router
from kamguard.contracts.api import router as contracts_router
from kamguard.core.api import api
from kamguard.core.io.api import router as io_router
from kamguard.customers.api import router as customers_router
from kamguard.goals.api import router as goals_router
from kamguard.meetings.api import router as meetings_router
from kamguard.org.api import router as org_router
from kamguard.performance.api import router as performance_router
from kamguard.plans.api import router as plans_router
from kamguard.records.api import router as records_router
from kamguard.relay.api import router as relay_router
from kamguard.reviews.api import router as reviews_router
from kamguard.risk.api import router as risk_router
from kamguard.sales.api import router as sales_router
from kamguard.supervision.api import router as supervision_router
from kamguard.worklogs.api import router as worklogs_router

api.add_router("/org", org_router)
api.add_router("/", accounts_router)
api.add_router("/audit", audit_router)
api.add_router("/io", io_router)
api.add_router("/customers", customers_router)
api.add_router("/allocation", allocation_router)
api.add_router("/activities", activities_router)
api.add_router("/worklogs", worklogs_router)
api.add_router("/meetings", meetings_router)
api.add_router("/relay", relay_router)
api.add_router("/records", records_router)
api.add_router("/plans", plans_router)
api.add_router("/supervision", supervision_router)
api.add_router("/approvals", approvals_router)
api.add_router("/sales", sales_router)
api.add_router("/contracts", contracts_router)
api.add_router("/risk", risk_router)
api.add_router("/goals", goals_router)
api.add_router("/reviews", reviews_router)
api.add_router("/performance", performance_router)

__all__ = ["api"]
