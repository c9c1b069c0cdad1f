"""Kind `org`: departments and teams. Columns: external_id, name, parent, kind (department/team), region."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.io.kinds.common import Problems, RegionLookup, keyed_rows, loop_problems, region_code
from kamguard.core.io.ordering import order_parents_first
from kamguard.core.io.registry import Kind, kind_register
from kamguard.core.io.report import RowStatus
from kamguard.core.io.runner import RowInvalid
from kamguard.org import selectors, services
from kamguard.org.domain.roles import Right
from kamguard.org.models import Department, Region, Team

if TYPE_CHECKING:
    from kamguard.core.io.runner import ImportContext
    from kamguard.org.models import User

DEPARTMENT = "department"
TEAM = "team"


class OrgKind(Kind):
    name = "org"
    label = gettext_lazy("Organisation (departments and teams)")
    columns = ("external_id", "name", "parent", "kind", "region")
    required = ("external_id", "name")
    import_right = Right.MANAGE_ORG
    field_columns = {"department": "parent", "parent": "parent", "name": "name", "region": "region",
                     "external_id": "external_id"}

    # ------------------------------------------------------------ import

    def import_rows(self, ctx: ImportContext, rows: list[tuple[int, dict[str, str]]]) -> None:
        keyed = keyed_rows(rows, ctx.fail)
        has_parent = ctx.has_column("parent")
        parent_of = {key: (row.get("parent") or None) if has_parent else None for key, (_n, row) in keyed.items()}
        ordering = order_parents_first(parent_of)
        refused = loop_problems(
            ordering, keyed, "parent",
            self_message=_("A department or team cannot be its own parent."),
            loop_message=_("The parents form a loop: %(path)s. Break the loop in the file."),
            below_message=_("Its parent line leads into a loop at %(ancestor)s (row %(row)s)."),
        )
        for key, problems in refused.items():
            ctx.fail(keyed[key][0], key, problems)
        regions = RegionLookup()
        for key in ordering.order:
            number, row = keyed[key]
            ctx.attempt(number, key, partial(self._apply, ctx, key, row, keyed, regions))

    def _apply(self, ctx: ImportContext, external_id: str, row: dict[str, str],
               keyed: dict[str, tuple[int, dict[str, str]]], regions: RegionLookup) -> RowStatus:
        problems = Problems()
        department = Department.objects.filter(external_id=external_id).first()
        team = Team.objects.filter(external_id=external_id).first()
        current = TEAM if team is not None else DEPARTMENT if department is not None else None
        kind = (row.get("kind") or "").lower() if ctx.has_column("kind") else ""
        if kind and kind not in (DEPARTMENT, TEAM):
            problems.add("kind", _("Use department or team."))
        kind = kind or current or DEPARTMENT
        if current is not None and kind != current:
            message = (_("%(id)s is already a team; a record cannot change its kind.") if current == TEAM
                       else _("%(id)s is already a department; a record cannot change its kind."))
            problems.add("kind", message % {"id": external_id})
        name = row.get("name", "")
        if not name:
            problems.add("name", _("This field is required."))
        fields: dict[str, Any] = {"name": name}
        if ctx.has_column("parent"):
            fields["parent"] = self._parent(row.get("parent", ""), keyed, problems)
            if kind == TEAM and fields["parent"] is None and not problems:
                problems.add("parent", _("A team needs a parent department."))
        elif kind == TEAM and team is None:
            problems.add("parent", _("A team needs a parent department."))
        if ctx.has_column("region"):
            fields["region"] = regions.resolve(row.get("region", ""), "region", problems)
        if problems:
            raise RowInvalid(problems.items)
        if kind == TEAM:
            return self._save_team(ctx, team, external_id, fields)
        return self._save_department(ctx, department, external_id, fields)

    @staticmethod
    def _parent(value: str, keyed: dict[str, tuple[int, dict[str, str]]], problems: Problems) -> Department | None:
        if not value:
            return None
        parent = Department.objects.filter(external_id=value).first()
        if parent is not None:
            return parent
        if Team.objects.filter(external_id=value).exists():
            problems.add("parent", _("%(id)s is a team; the parent must be a department.") % {"id": value})
        elif value in keyed:
            problems.add("parent", _("The parent %(id)s (row %(row)s) was not imported.")
                         % {"id": value, "row": keyed[value][0]})
        else:
            problems.add("parent", _("Unknown department %(id)s: no such external id.") % {"id": value})
        return None

    @staticmethod
    def _save_department(ctx: ImportContext, department: Department | None, external_id: str,
                         fields: dict[str, Any]) -> RowStatus:
        if Team.objects.filter(external_id=external_id).exists():
            raise RowInvalid([("external_id", _("This external id is already used."))])
        if department is None:
            services.department_create(actor=ctx.actor, external_id=external_id, **fields)
            return RowStatus.CREATED
        changed = _changed(department, fields)
        if not changed:
            return RowStatus.UNCHANGED
        services.department_update(actor=ctx.actor, department=department, reason=_import_reason(ctx), **changed)
        return RowStatus.UPDATED

    @staticmethod
    def _save_team(ctx: ImportContext, team: Team | None, external_id: str, fields: dict[str, Any]) -> RowStatus:
        if "parent" in fields:
            fields["department"] = fields.pop("parent")
        if team is None:
            services.team_create(actor=ctx.actor, external_id=external_id, **fields)
            return RowStatus.CREATED
        changed = _changed(team, fields)
        if not changed:
            return RowStatus.UNCHANGED
        services.team_update(actor=ctx.actor, team=team, reason=_import_reason(ctx), **changed)
        return RowStatus.UPDATED

    # ------------------------------------------------------------ export

    def export_rows(self, actor: User | None) -> Iterable[dict[str, str]]:
        viewer = self.viewer(actor)
        for department in selectors.department_list(viewer=viewer):
            yield {
                "external_id": department.external_id or "",
                "name": department.name,
                "parent": (department.parent.external_id or "") if department.parent else "",
                "kind": DEPARTMENT,
                "region": region_code(department.region),
            }
        for team in selectors.team_list(viewer=viewer):
            yield {
                "external_id": team.external_id or "",
                "name": team.name,
                "parent": team.department.external_id or "",
                "kind": TEAM,
                "region": region_code(team.region),
            }


def _changed(instance: Department | Team, fields: dict[str, Any]) -> dict[str, Any]:
    changed = {}
    for key, value in fields.items():
        current = getattr(instance, f"{key}_id") if key in ("parent", "department", "region") else getattr(instance, key)
        wanted = value.pk if isinstance(value, Department | Region) else value
        if current != wanted:
            changed[key] = value
    return changed


def _import_reason(ctx: ImportContext) -> str:
    return f"import {ctx.source}".strip()


kind_register(OrgKind())
