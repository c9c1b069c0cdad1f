"""Department tree rules: pure functions over parent links."""

from __future__ import annotations

from collections.abc import Mapping


class CycleError(ValueError):
    pass


def would_create_cycle(*, node_id: int, new_parent_id: int | None, parent_of: Mapping[int, int | None]) -> bool:
    """True if making `new_parent_id` the parent of `node_id` would put `node_id` under itself."""
    current = new_parent_id
    seen: set[int] = set()
    while current is not None:
        if current == node_id:
            return True
        if current in seen:  # an existing cycle in stored data; refuse rather than loop
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def descendants(root_id: int, children_of: Mapping[int, list[int]]) -> set[int]:
    """`root_id` and every node below it."""
    result = {root_id}
    stack = [root_id]
    while stack:
        node = stack.pop()
        for child in children_of.get(node, []):
            if child not in result:
                result.add(child)
                stack.append(child)
    return result


def supervisor_chain_has_cycle(*, user_id: int, new_supervisor_id: int | None, supervisor_of: Mapping[int, int | None]) -> bool:
    return would_create_cycle(node_id=user_id, new_parent_id=new_supervisor_id, parent_of=supervisor_of)
