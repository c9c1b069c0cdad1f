from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from kamguard.core.io.report import ImportReport
from kamguard.core.io.runner import import_run
from kamguard.core.models import AuditEvent

ORG_CSV = """external_id,name,parent,kind,region
T-SH,上海一组,D-EAST,team,310000
D-EAST,华东销售部,D-HQ,department,上海市
D-HQ,总公司,,department,
"""

USERS_CSV = """external_id,username,full_name,role,department,supervisor,email,phone,region,grade,hired_on,left_on
U-ALICE,alice2,李爱丽,manager,T-SH,U-SAM,Alice2@Example.com,138 0013 8000,310000,,2024-01-15,
U-SAM,sam2,沈明,supervisor,D-EAST,,sam2@example.com,13900000001,,,2023-05-01,
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    import io

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def jsonl_bytes(objects: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(o, ensure_ascii=False) for o in objects) + "\n").encode()


def run(kind: str, content: str | bytes, *, actor: Any = None, name: str = "data.csv", **options: Any) -> ImportReport:
    data = content.encode() if isinstance(content, str) else content
    return import_run(actor=actor, kind=kind, data=data, filename=name, **options)


def errors_by_row(report: ImportReport) -> dict[int, list[tuple[str, str]]]:
    result: dict[int, list[tuple[str, str]]] = {}
    for problem in report.errors:
        result.setdefault(problem.row or 0, []).append((problem.column, problem.message))
    return result


def audit_count(prefix: str = "") -> int:
    return AuditEvent.objects.filter(action__startswith=prefix).count()
