"""Assembles the HTTP API: each app contributes its router under /api/v1/."""

from kamguard.core.api import api
from kamguard.org.api import router as org_router

api.add_router("/org", org_router)

__all__ = ["api"]
