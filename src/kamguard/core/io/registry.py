"""The kinds of records that can be imported and exported. Each app plugs its kind in with `kind_register`.

A kind names its columns (in the public order of docs/import-formats.md), the required ones, the right
needed to import, and implements `import_rows` (through the app's services) and `export_rows` (through
its selectors, so exports see only what the exporting person may see).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from kamguard.core.errors import NotFound
from kamguard.org.domain.roles import Right, Scope

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext
    from kamguard.org.models import User


class UnknownKind(NotFound):
    code = "kind_unknown"


class SystemViewer:
    """The system itself (the `kamguard` command without --as) as a selector's viewer: sees everything."""

    pk = None
    id = None
    is_authenticated = True
    is_active = True
    scope = Scope.ALL
    team_id = None
    department_id = None
    department = None

    def has_right(self, right: Right) -> bool:
        return True


SYSTEM_VIEWER = SystemViewer()


class Kind:
    name: ClassVar[str]
    label: ClassVar[Promise]
    columns: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    import_right: ClassVar[Right]
    # The narrowest data scope that may import this kind (customers write across people: a supervisor's).
    import_min_scope: ClassVar[Scope] = Scope.NONE
    # Service field names mapped to the column a person should correct, e.g. "roles" -> "role".
    field_columns: ClassVar[Mapping[str, str]] = {}

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        raise NotImplementedError

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        raise NotImplementedError

    @staticmethod
    def viewer(actor: User | None) -> Any:
        return SYSTEM_VIEWER if actor is None else actor


_KINDS: dict[str, Kind] = {}
_BUILTIN_LOADED = False


def kind_register(kind: Kind) -> Kind:
    _KINDS[kind.name] = kind
    return kind


def _load_builtin() -> None:
    global _BUILTIN_LOADED
    if not _BUILTIN_LOADED:
        from kamguard.core.io.kinds import customers, org, transfers, users  # noqa: F401 - registers on import

        _BUILTIN_LOADED = True


def kind_list() -> list[Kind]:
    _load_builtin()
    return list(_KINDS.values())


def kind_get(name: str) -> Kind:
    _load_builtin()
    kind = _KINDS.get((name or "").strip().lower())
    if kind is None:
        raise UnknownKind(_("Unknown kind %(kind)s. Known kinds: %(known)s.") % {
            "kind": name, "known": ", ".join(_KINDS)})
    return kind

