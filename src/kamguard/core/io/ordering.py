"""Ordering rows that reference each other (a department's parent, a person's supervisor): pure Python.

Rows may name a parent that appears later in the file, so rows are applied parents first. A row that
is part of a loop (A → B → A, or A → A) cannot be placed; neither can a row below such a loop.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class Ordering(Generic[K]):
    order: list[K] = field(default_factory=list)  # parents before children
    cycles: dict[K, list[K]] = field(default_factory=dict)  # key -> the loop it is in, starting at key
    below_cycle: dict[K, K] = field(default_factory=dict)  # key -> its nearest ancestor that is in a loop


def order_parents_first(parent_of: Mapping[K, K | None]) -> Ordering[K]:
    """Order `parent_of`'s keys so every key comes after its parent when the parent is also a key.

    Parents that are not keys (records already in the database, or nothing) impose no order.
    Level by level: the keys without a parent among the keys first, in their original order, then their children.
    """
    result: Ordering[K] = Ordering()
    children: dict[K, list[K]] = {}
    waiting: dict[K, int] = {}
    for key, parent in parent_of.items():
        if parent is not None and parent in parent_of:
            children.setdefault(parent, []).append(key)
            waiting[key] = 1
        else:
            waiting[key] = 0
    ready = [key for key in parent_of if waiting[key] == 0]
    placed: set[K] = set()
    while ready:
        next_ready: list[K] = []
        for key in ready:
            result.order.append(key)
            placed.add(key)
            next_ready.extend(children.get(key, []))
        ready = next_ready
    for key in parent_of:
        if key in placed or key in result.cycles:
            continue
        # Walk up from `key`: every unplaced key has an unplaced parent, so the walk ends in a loop.
        path: list[K] = []
        seen: dict[K, int] = {}
        node: K | None = key
        while node is not None and node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = parent_of[node]
        assert node is not None
        loop = path[seen[node]:]
        for i, member in enumerate(loop):
            result.cycles.setdefault(member, loop[i:] + loop[:i])
    for key in parent_of:
        if key in placed or key in result.cycles:
            continue
        node = parent_of[key]
        while node is not None and node not in result.cycles:
            node = parent_of[node]
        assert node is not None
        result.below_cycle[key] = node
    return result
