"""Assembles the HTTP API: each app contributes its router under /api/v1/."""

from kamguard.accounts.api import router as accounts_router
from kamguard.allocation.api import router as allocation_router
from kamguard.audit.api import router as audit_router
from kamguard.core.api import api
from kamguard.core.io.api import router as io_router
from kamguard.customers.api import router as customers_router
from kamguard.org.api import router as org_router

api.add_router("/org", org_router)
api.add_router("/", accounts_router)
api.add_router("/audit", audit_router)
api.add_router("/io", io_router)
api.add_router("/customers", customers_router)
api.add_router("/allocation", allocation_router)

__all__ = ["api"]
