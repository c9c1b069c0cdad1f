"""Evaluation of the risk engine on seeded scenarios (issue 7, item 6): files in the import formats with planted
diversion stories (`kamguard.risk.domain.scenarios`), loaded through `kamguard.core.io`, scanned, and scored
against the ground truth at inspection budgets (`metrics`). See docs/risk.md, "Evaluation"."""
