"""Region names for company-name normalisation, read from the file the cpca package ships.

The file is located with ``importlib.util.find_spec`` and read directly: importing cpca builds a
large address matcher we do not need. Every official province, city and district name is kept in
its full form (``深圳市``, ``朝阳区``) and, where that is unambiguous enough, a short form
(``深圳``, ``广东``, ``昆山``). District short forms ending in 区 (``朝阳``, ``新华``) are left out:
they are ordinary words in too many brand names.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_SKIPPED = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# Suffixes removed to form short names, longest first.
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "盟", "县")


@dataclass(frozen=True, slots=True)
class Region:
    """One official division: its 6-digit code, level and the short form used in comparisons."""

    code: str
    name: str
    short: str
    level: str  # "province" | "city" | "district"

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def city_code(self) -> str | None:
        return None if self.level == "province" else self.code[:4]


def _adcodes_path() -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The cpca package is not installed; it ships the official region names.")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _nations() -> list[str]:
    path = _adcodes_path().with_name("56_nations.csv")
    if not path.exists():
        return []
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # 蒙古族 also appears as 蒙古 in 巴音郭楞蒙古自治州.
    return names + [name.removesuffix("族") for name in names if len(name) > 2]


def _level(code: str) -> str:
    if code[2:6] == "0000":
        return "province"
    if code[4:6] == "00":
        return "city"
    return "district"


def _short_form(name: str, level: str, nations: list[str]) -> str | None:
    if name in _PROVINCE_SHORT:
        return _PROVINCE_SHORT[name]
    short = name
    if "自治" in name:
        cut = min((i for nation in nations if (i := name.find(nation, 2)) >= 2), default=-1)
        short = name[:cut] if cut >= 2 else name[: name.find("自治")]
    else:
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                short = name[: -len(suffix)]
                break
    if len(short) < 2 or short == name:
        return None
    if level == "district" and not name.endswith("市"):
        return None  # 朝阳区 → 朝阳 is too ambiguous; county-level cities (昆山市 → 昆山) are kept.
    return short


@cache
def regions_by_name() -> dict[str, Region]:
    """Every full and short region name → its :class:`Region` (provinces win over cities win over
    districts when a short form is shared, e.g. 吉林)."""
    nations = _nations()
    found: dict[str, Region] = {}
    rank = {"province": 0, "city": 1, "district": 2}
    with _adcodes_path().open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["name"].strip()
            if not name or name in _SKIPPED:
                continue
            code = row["adcode"][:6]
            level = _level(code)
            short = _short_form(name, level, nations) or name
            region = Region(code=code, name=name, short=short, level=level)
            for key in {name, short}:
                current = found.get(key)
                if current is None or rank[level] < rank[current.level]:
                    found[key] = region
    # Common informal short forms.
    for informal, official in (("内蒙", "内蒙古"),):
        if official in found and informal not in found:
            found[informal] = found[official]
    return found


@cache
def region_prefixes_by_length() -> tuple[tuple[int, frozenset[str]], ...]:
    """Region names grouped by length, longest first, for greedy prefix matching."""
    by_length: dict[int, set[str]] = {}
    for name in regions_by_name():
        by_length.setdefault(len(name), set()).add(name)
    return tuple((length, frozenset(names)) for length, names in sorted(by_length.items(), reverse=True))


def region_of(name: str) -> Region | None:
    """The region a full or short region name stands for, or None."""
    return regions_by_name().get(name)


def match_region_prefix(text: str) -> str | None:
    """The longest region name ``text`` starts with, or None."""
    for length, names in region_prefixes_by_length():
        if len(text) >= length and text[:length] in names:
            return text[:length]
    return None


def regions_conflict(first: Region | None, second: Region | None) -> bool:
    """True when both regions are known and neither contains the other (北京 vs 上海; not 广东 vs 深圳)."""
    if first is None or second is None:
        return False
    if first.province_code != second.province_code:
        return True
    if first.level == "province" or second.level == "province":
        return False
    if first.city_code != second.city_code:
        return True
    if first.level == "city" or second.level == "city":
        return False
    return first.code != second.code
