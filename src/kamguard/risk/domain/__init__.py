"""The risk engine's pure core (no Django): signals over plain data, each returning a score 0–1 with the
numbers that explain it; the configuration (weights, thresholds, parameters) and its validation; the
combination of signals into per-subject scores and their ranking.

- `stats`     small robust statistics (median, MAD, robust z, ramps);
- `evidence`  what a signal returns: `Evidence` (signal code, score, explanation key, numbers, references);
- `signals`   one function per signal, each with its parameter dataclass;
- `config`    `RiskConfig`: weights, thresholds and parameters, parsed and checked from plain mappings;
- `combine`   signals into subject scores (noisy-OR of weighted signals), roll-ups and the ranking.
"""
