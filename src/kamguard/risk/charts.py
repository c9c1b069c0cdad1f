"""Chart geometry for the risk pages, drawn as SVG in the templates (no inline style or script: the CSP).
Each chart comes with the same figures as a table for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WIDTH = 640


def heat_colour(score: float) -> str:
    """White-ish for 0 through amber to red for 1."""
    score = max(0.0, min(1.0, score))
    if score < 0.5:
        t = score / 0.5
        r, g, b = 247 + (253 - 247) * t, 247 + (215 - 247) * t, 247 + (140 - 247) * t
    else:
        t = (score - 0.5) / 0.5
        r, g, b = 253 + (180 - 253) * t, 215 + (35 - 215) * t, 140 + (24 - 140) * t
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def heat_map(teams: Sequence[str], regions: Sequence[str], cells: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Rows are teams, columns regions; each cell coloured by the highest manager score, labelled with how many
    managers are over the threshold of how many."""
    left, top, cell_w, cell_h = 150, 28, 90, 30
    rows = []
    for i, team in enumerate(teams):
        row = []
        for j, region in enumerate(regions):
            cell = cells.get((team, region))
            row.append({"x": left + j * cell_w, "y": top + i * cell_h, "w": cell_w - 2, "h": cell_h - 2,
                        "fill": heat_colour(cell.top) if cell else "#f3f4f6", "cell": cell,
                        "tx": left + j * cell_w + (cell_w - 2) / 2, "ty": top + i * cell_h + 19})
        rows.append({"label": team, "y": top + i * cell_h + 19, "cells": row})
    columns = [{"label": region, "x": left + j * cell_w + (cell_w - 2) / 2} for j, region in enumerate(regions)]
    return {"width": left + cell_w * max(len(regions), 1) + 10, "height": top + cell_h * max(len(teams), 1) + 6,
            "rows": rows, "columns": columns}


def lines(labels: Sequence[str], series: dict[str, Sequence[float]], colours: dict[str, str],
          height: int = 160) -> dict[str, Any]:
    """Polylines over a common x axis (labels), each scaled to the largest value of all series."""
    n = len(labels)
    left, right, top, bottom = 44, 10, 10, 24
    inner_w, inner_h = WIDTH - left - right, height - top - bottom
    peak = max((max(values) for values in series.values() if values), default=0.0) or 1.0
    step = inner_w / max(n - 1, 1)
    drawn = []
    for name, values in series.items():
        points = " ".join(f"{left + i * step:.1f},{top + inner_h - (v / peak) * inner_h:.1f}"
                          for i, v in enumerate(values))
        drawn.append({"name": name, "points": points, "colour": colours.get(name, "#1f4e79")})
    ticks = [{"x": left + i * step, "label": labels[i][5:] if len(labels[i]) >= 10 else labels[i]}
             for i in range(0, n, max(1, n // 6))]
    return {"width": WIDTH, "height": height, "lines": drawn, "ticks": ticks, "peak": peak, "top": top,
            "base": top + inner_h, "left": left}


def bars_and_line(labels: Sequence[str], bars: Sequence[float], line: Sequence[float] | None,
                  height: int = 180) -> dict[str, Any]:
    """Bars (e.g. orders per 30 days) with an optional line on its own scale (e.g. contacts)."""
    n = max(len(bars), 1)
    left, right, top, bottom = 44, 10, 10, 24
    inner_w, inner_h = WIDTH - left - right, height - top - bottom
    slot = inner_w / n
    peak = max(bars, default=0.0) or 1.0
    drawn = [{"x": left + i * slot + 2, "y": top + inner_h - (v / peak) * inner_h, "w": max(slot - 4, 1),
              "h": (v / peak) * inner_h, "value": v, "label": labels[i] if i < len(labels) else ""}
             for i, v in enumerate(bars)]
    points = ""
    line_peak = 0.0
    if line:
        line_peak = max(line) or 1.0
        points = " ".join(f"{left + i * slot + slot / 2:.1f},{top + inner_h - (v / line_peak) * inner_h:.1f}"
                          for i, v in enumerate(line))
    ticks = [{"x": left + i * slot + slot / 2, "label": (labels[i][5:] if len(labels[i]) >= 10 else labels[i])}
             for i in range(0, min(n, len(labels)), max(1, n // 6))]
    return {"width": WIDTH, "height": height, "bars": drawn, "points": points, "peak": peak, "line_peak": line_peak,
            "ticks": ticks, "base": top + inner_h, "left": left}
