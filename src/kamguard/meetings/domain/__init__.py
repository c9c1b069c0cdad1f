"""Pure Python for meeting minutes: no Django.

Action items move open → done (with a note) and may be reopened; an open item past its due date is overdue.
"""

from __future__ import annotations

import datetime as dt

KINDS = ("daily", "weekly", "monthly", "special")
ITEM_OPEN = "open"
ITEM_DONE = "done"


def is_overdue(*, status: str, due_on: dt.date | None, today: dt.date) -> bool:
    return status == ITEM_OPEN and due_on is not None and due_on < today


def days_overdue(*, status: str, due_on: dt.date | None, today: dt.date) -> int:
    return (today - due_on).days if due_on is not None and is_overdue(status=status, due_on=due_on, today=today) else 0


def decisions_split(text: str) -> list[str]:
    """The decisions as a list: one per line, list markers ("1.", "-", "•") removed, blank lines dropped."""
    items = []
    for line in text.splitlines():
        line = line.strip()
        for marker in ("-", "•", "·", "*"):
            if line.startswith(marker):
                line = line[len(marker):].strip()
        head, sep, rest = line.partition(".")
        if sep and head.isdigit():
            line = rest.strip()
        head, sep, rest = line.partition("、")
        if sep and head.isdigit():
            line = rest.strip()
        if line:
            items.append(line)
    return items
