"""Loading the official administrative divisions from the dataset the cpca package ships.

The file is read directly (cpca itself need not be imported, which builds a large matcher).
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Iterator
from pathlib import Path


def adcodes_path() -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The cpca package is not installed; it provides the official region codes.")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def level_of(code: str) -> str:
    if code[2:6] == "0000":
        return "province"
    if code[4:6] == "00":
        return "city"
    return "district"


def official_regions() -> Iterator[tuple[str, str, str, str | None, float | None, float | None]]:
    """(code, name, level, parent_code, longitude, latitude), parents before children."""
    rows = []
    with adcodes_path().open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["adcode"][:6]
            rows.append((code, row["name"].strip(), float(row["longitude"] or 0) or None,
                         float(row["latitude"] or 0) or None))
    codes = {code for code, *_ in rows}
    rows.sort(key=lambda r: (["province", "city", "district"].index(level_of(r[0])), r[0]))
    for code, name, lng, lat in rows:
        level = level_of(code)
        parent: str | None = None
        if level == "city":
            parent = code[:2] + "0000"
        elif level == "district":
            parent = code[:4] + "00" if code[:4] + "00" in codes else code[:2] + "0000"
        if parent is not None and parent not in codes:
            parent = None
        yield code, name, level, parent, lng, lat
