"""Parsing cells shared by the kinds: required text, ISO dates, regions, references and their problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils.translation import gettext as _

from kamguard.core.io.ordering import Ordering
from kamguard.org.models import Region

EXTERNAL_ID_MAX = 64


class Problems:
    """Collects (column, message) pairs for one row."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, column: str, message: str) -> None:
        self.items.append((column, message))

    def __bool__(self) -> bool:
        return bool(self.items)


def date_parse(value: str, column: str, problems: Problems) -> dt.date | None:
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.add(column, _("%(value)s is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31.") % {"value": value})
        return None


class RegionLookup:
    """A region by its 6-digit code or its exact name; an ambiguous name asks for the code.

    With `preload` (a large import, whose rows name many regions) every region is read at the first lookup, in
    one query, instead of one query per distinct value; the answers are the same."""

    def __init__(self, *, preload: bool = False) -> None:
        self._cache: dict[str, Region | str] = {}
        self._preload = preload
        self._by_code: dict[str, Region] | None = None
        self._by_name: dict[str, list[Region]] = {}

    def resolve(self, value: str, column: str, problems: Problems) -> Region | None:
        if not value:
            return None
        if value not in self._cache:
            self._cache[value] = self._find(value)
        found = self._cache[value]
        if isinstance(found, str):
            problems.add(column, found)
            return None
        return found

    def _load(self) -> None:
        every = list(Region.objects.order_by("code"))
        by_id = {region.pk: region for region in every}
        for region in every:
            region.parent = by_id.get(region.parent_id) if region.parent_id else None
            self._by_name.setdefault(region.name, []).append(region)
        self._by_code = {region.code: region for region in every}

    def _find(self, value: str) -> Region | str:
        if self._preload and self._by_code is None:
            self._load()
        if value.isdigit():
            region = self._by_code.get(value) if self._by_code is not None else \
                Region.objects.filter(code=value).first()
            return region or _("Unknown region code %(code)s; use a 6-digit official code.") % {"code": value}
        matches = self._by_name.get(value, [])[:5] if self._by_code is not None else \
            list(Region.objects.filter(name=value).select_related("parent")[:5])
        if len(matches) == 1:
            return matches[0]
        if not matches:
            return _("Unknown region %(name)s; use an official name or its 6-digit code.") % {"name": value}
        codes = ", ".join(f"{m.code} {m.full_name}" for m in matches)
        return _("%(name)s names several regions (%(codes)s); use the 6-digit code.") % {"name": value, "codes": codes}


def region_code(region: Region | None) -> str:
    return region.code if region is not None else ""


def keyed_rows(rows: list[tuple[int, dict[str, str]]], fail: Callable[[int, str, list[tuple[str, str]]], None]
               ) -> dict[str, tuple[int, dict[str, str]]]:
    """Rows by external_id; a row without one, with one too long, or repeating one is reported and dropped."""
    keyed: dict[str, tuple[int, dict[str, str]]] = {}
    for number, row in rows:
        external_id = row.get("external_id", "")
        if not external_id:
            fail(number, "", [("external_id", _("This field is required."))])
        elif len(external_id) > EXTERNAL_ID_MAX:
            fail(number, external_id[:EXTERNAL_ID_MAX],
                 [("external_id", _("At most %(max)s characters.") % {"max": EXTERNAL_ID_MAX})])
        elif external_id in keyed:
            fail(number, external_id, [("external_id", _("This external id already appears in row %(row)s.")
                                        % {"row": keyed[external_id][0]})])
        else:
            keyed[external_id] = (number, row)
    return keyed


def loop_problems(ordering: Ordering[str], keyed: dict[str, tuple[int, dict[str, str]]], column: str,
                  self_message: str, loop_message: str, below_message: str
                  ) -> dict[str, list[tuple[str, str]]]:
    """The problem of each row that is in a loop, or below one."""
    problems: dict[str, list[tuple[str, str]]] = {}
    for key, loop in ordering.cycles.items():
        if len(loop) == 1:
            problems[key] = [(column, self_message)]
        else:
            path = " → ".join(f"{k} ({_('row')} {keyed[k][0]})" for k in [*loop, loop[0]])
            problems[key] = [(column, loop_message % {"path": path})]
    for key, ancestor in ordering.below_cycle.items():
        problems[key] = [(column, below_message % {"ancestor": ancestor, "row": keyed[ancestor][0]})]
    return problems
