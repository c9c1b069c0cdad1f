"""Every write of sales, one module per area (each module's docstring lists its functions):

- `opportunities` — opportunity_create, opportunity_update, opportunity_move (required steps, lost reasons),
  opportunity_contract_signed (called by the contracts app).
- `quotes` — quote_create, quote_update, quote_submit (discount authority, then the approval engine),
  quote_decided and the "sales.quote" subject handler.
- `catalogue` — products, stages, the discount authority table, the sales settings (administrators).
- `forecasts` — forecast_submit, forecasts_lock (periodic), forecast_accuracy_compute (periodic).
- `common` — who may edit, clean values.
"""

from kamguard.sales.services.opportunities import (
    opportunity_contract_signed,
    opportunity_create,
    opportunity_move,
    opportunity_update,
)
from kamguard.sales.services.quotes import quote_create, quote_submit, quote_update

__all__ = [
    "opportunity_contract_signed",
    "opportunity_create",
    "opportunity_move",
    "opportunity_update",
    "quote_create",
    "quote_submit",
    "quote_update",
]
