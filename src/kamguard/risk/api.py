"""HTTP API of the risk engine: scores, alerts and investigations, for the people allowed to see them."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["Risk"])
