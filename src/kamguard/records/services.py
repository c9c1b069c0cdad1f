"""Every write of work records and market information: keyword-only, transactional, audited.

- `record_create(*, actor, title, category="", description="", record_on=None, customer_id=None, plan_ref="",
  files=())` — a record with its files; every file is checked (size, extension, content sniffed) before
  anything is written, and a refused file refuses the whole record (nothing is kept).
- `attachment_add(*, actor, record_id, file)`, `record_update(...)` — the keeper only.
- `attachment_open(*, viewer, attachment_id)` — a permitted download, audited.
- `market_create(...)`, `market_update(...)` — market information (the reporter edits their own).

Files go to `<data dir>/records/<year>/<month>/<random>.<ext>`: outside the web root and the static files.
A file written in a transaction that then fails is removed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamguard.core.audit import audit_record
from kamguard.core.errors import NotFound, PermissionRefused, ValidationFailed
from kamguard.org.domain.roles import Right
from kamguard.org.models import User
from kamguard.records import selectors
from kamguard.records.domain.files import ACCEPTED, HEAD_BYTES, file_check
from kamguard.records.models import Attachment, MarketInfo, MarketInfoKind, RecordCategory, WorkRecord

MAX_FILES = 10
TITLE_MAX = 200
TEXT_MAX = 5000
PLAN_REF = re.compile(r"^[a-z_]+:[0-9A-Za-z_-]{1,40}$")

KIND_LABELS = {
    "pdf": gettext_lazy("a PDF"), "png": gettext_lazy("a PNG image"), "jpg": gettext_lazy("a JPEG image"),
    "webp": gettext_lazy("a WebP image"), "heic": gettext_lazy("a HEIC image"), "tif": gettext_lazy("a TIFF image"),
    "docx": gettext_lazy("a Word document"), "xlsx": gettext_lazy("an Excel workbook"),
    "pptx": gettext_lazy("a PowerPoint presentation"), "doc": gettext_lazy("a Word 97–2003 document"),
    "xls": gettext_lazy("an Excel 97–2003 workbook"), "ppt": gettext_lazy("a PowerPoint 97–2003 presentation"),
    "ole": gettext_lazy("an Office 97–2003 document"), "text": gettext_lazy("plain text"),
    "binary": gettext_lazy("binary data of an unknown kind"), "exe": gettext_lazy("a Windows program"),
    "elf": gettext_lazy("a Linux program"), "zip": gettext_lazy("a ZIP archive"), "rar": gettext_lazy("a RAR archive"),
    "gif": gettext_lazy("a GIF image"), "mp4": gettext_lazy("a video"),
}


Upload = File  # Django's File: UploadedFile (pages, API), ContentFile (demo, tests)


def max_bytes() -> int:
    return int(getattr(settings, "KAMGUARD_RECORDS_MAX_BYTES", 20 * 1024 * 1024))


def records_dir() -> Path:
    configured = getattr(settings, "KAMGUARD_RECORDS_DIR", None)
    return Path(configured) if configured else Path(settings.DATA_DIR) / "records"


def _require_edit(actor: User) -> None:
    if not actor.has_right(Right.EDIT_BUSINESS_DATA):
        raise PermissionRefused(extra={"right": str(Right.EDIT_BUSINESS_DATA)})


def _text(value: str | None, field: str, *, required: bool, limit: int, errors: dict[str, list[str]]) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        errors.setdefault(field, []).append(_("Required."))
    elif len(text) > limit:
        errors.setdefault(field, []).append(_("At most %(n)s characters.") % {"n": limit})
    return text


def _customer(actor: User, customer_id: int | None, errors: dict[str, list[str]]) -> Any:
    if not customer_id:
        return None
    from kamguard.customers.models import Customer
    from kamguard.customers.selectors import customer_visibility_q

    found = Customer.objects.filter(customer_visibility_q(actor), pk=customer_id).first()
    if found is None:
        errors.setdefault("customer", []).append(_("No such customer, or you do not have access to it."))
    return found


def _moment(day: dt.date) -> dt.datetime:
    """When a dated record goes on the customer's timeline: now for today, midday of its day before."""
    if day >= timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def _day(value: dt.date | None, field: str, errors: dict[str, list[str]]) -> dt.date:
    today = timezone.localdate()
    if value is None:
        return today
    if value > today:
        errors.setdefault(field, []).append(_("A date in the future is not allowed."))
    return value


# ---------------------------------------------------------------- files

def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


def file_refusal(upload: Upload) -> str | None:
    """Why this file cannot be kept (a message for the user), or None when it can."""
    name = upload.name or ""
    size = upload.size or 0
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    verdict = file_check(name=name, size=size, head=head, max_bytes=max_bytes())
    if verdict.ok:
        return None
    if verdict.code == "empty":
        return _("The file “%(name)s” is empty.") % {"name": name}
    if verdict.code == "too_large":
        return _("The file “%(name)s” is too large (%(size)s); at most %(max)s.") % {
            "name": name, "size": _size_text(size), "max": _size_text(max_bytes())}
    if verdict.code == "extension_not_accepted":
        return _("Files of type “%(ext)s” are not accepted. Accepted: %(list)s.") % {
            "ext": verdict.extension or _("(none)"), "list": ", ".join(sorted(ACCEPTED))}
    return _("The file “%(name)s” is not what its extension says: it is named .%(ext)s but its content is "
             "%(kind)s.") % {"name": name, "ext": verdict.extension,
                             "kind": KIND_LABELS.get(verdict.kind, verdict.kind.upper())}


def _files_check(files: list[Upload]) -> None:
    if len(files) > MAX_FILES:
        raise ValidationFailed(field_errors={"files": [_("At most %(n)s files at a time.") % {"n": MAX_FILES}]})
    problems = [p for p in (file_refusal(f) for f in files) if p]
    if problems:
        raise ValidationFailed(problems[0] if len(problems) == 1 else _("Some files were refused."),
                               code="file_refused", field_errors={"files": problems})


def _store(upload: Upload, *, record: WorkRecord, actor: User, written: list[Path]) -> Attachment:
    name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")[:200]
    verdict = file_check(name=name, size=upload.size or 0, head=b"", max_bytes=max_bytes())
    extension = verdict.extension
    now = timezone.localtime()
    relative = f"{now:%Y}/{now:%m}/{secrets.token_hex(16)}.{extension}"
    path = records_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    with path.open("xb") as out:
        written.append(path)
        for chunk in upload.chunks():
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    content_type = ACCEPTED[extension][1]
    return Attachment.objects.create(record=record, original_name=name, stored_name=relative,
                                     content_type=content_type, size=size, sha256=digest.hexdigest(),
                                     uploaded_by=actor)


# ---------------------------------------------------------------- records

def _plan_ref(value: str, errors: dict[str, list[str]]) -> str:
    ref = (value or "").replace("\x00", "").strip()
    if ref and not PLAN_REF.match(ref):
        errors.setdefault("plan_ref", []).append(_("A plan reference looks like plan:12."))
    return ref


def _category(value: str, errors: dict[str, list[str]]) -> str:
    if value and value not in RecordCategory.values:
        errors.setdefault("category", []).append(_("No such category."))
    return value or ""


def record_create(*, actor: User, title: str, category: str = "", description: str = "",
                  record_on: dt.date | None = None, customer_id: int | None = None, plan_ref: str = "",
                  files: Iterable[Upload] = ()) -> WorkRecord:
    _require_edit(actor)
    files = list(files)
    errors: dict[str, list[str]] = {}
    title = _text(title, "title", required=True, limit=TITLE_MAX, errors=errors)
    description = _text(description, "description", required=False, limit=TEXT_MAX, errors=errors)
    category = _category(category, errors)
    record_on = _day(record_on, "record_on", errors)
    customer = _customer(actor, customer_id, errors)
    plan_ref = _plan_ref(plan_ref, errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    _files_check(files)
    written: list[Path] = []
    try:
        with transaction.atomic():
            record = WorkRecord.objects.create(owner=actor, title=title, category=category, description=description,
                                               record_on=record_on, customer=customer, plan_ref=plan_ref)
            attachments = [_store(f, record=record, actor=actor, written=written) for f in files]
            audit_record(actor=actor, action="records.record.create", obj=record, changes={
                "title": {"before": None, "after": title}, "category": {"before": None, "after": category},
                "customer": {"before": None, "after": customer_id}, "plan_ref": {"before": None, "after": plan_ref},
                "files": {"before": None, "after": [a.original_name for a in attachments]}})
            if customer is not None:
                from kamguard.customers.services.common import timeline_add

                timeline_add(customer=customer, kind="records.record", actor=actor, at=_moment(record_on),
                             summary=_("Record kept: %(title)s (%(category)s)") % {
                                 "title": title, "category": record.get_category_display() or _("unclassified")},
                             data={"record_id": record.pk, "files": len(attachments)})
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return record


def _own_record(actor: User, record_id: int) -> WorkRecord:
    _require_edit(actor)
    record = selectors.records_visible(actor).filter(pk=record_id).first()
    if record is None:
        raise NotFound()
    if record.owner_id != actor.pk:
        raise PermissionRefused(_("Only the person who keeps this record can change it."), code="not_keeper")
    return record


def attachment_add(*, actor: User, record_id: int, files: Iterable[Upload]) -> list[Attachment]:
    record = _own_record(actor, record_id)
    files = list(files)
    if not files:
        raise ValidationFailed(field_errors={"files": [_("Choose a file.")]})
    _files_check(files)
    written: list[Path] = []
    try:
        with transaction.atomic():
            attachments = [_store(f, record=record, actor=actor, written=written) for f in files]
            audit_record(actor=actor, action="records.attachment.add", obj=record, changes={
                "files": {"before": None, "after": [a.original_name for a in attachments]}})
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return attachments


@transaction.atomic
def record_update(*, actor: User, record_id: int, title: str, category: str = "", description: str = "",
                  record_on: dt.date | None = None, customer_id: int | None = None, plan_ref: str = "",
                  ) -> WorkRecord:
    record = _own_record(actor, record_id)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "title": _text(title, "title", required=True, limit=TITLE_MAX, errors=errors),
        "description": _text(description, "description", required=False, limit=TEXT_MAX, errors=errors),
        "category": _category(category, errors),
        "record_on": _day(record_on or record.record_on, "record_on", errors),
        "plan_ref": _plan_ref(plan_ref, errors),
    }
    customer = _customer(actor, customer_id, errors) if customer_id != record.customer_id else record.customer
    if errors:
        raise ValidationFailed(field_errors=errors)
    values["customer"] = customer
    changes: dict[str, Any] = {}
    for key, value in values.items():
        before = getattr(record, key)
        if before != value:
            changes[key] = {"before": before.pk if hasattr(before, "pk") else before,
                            "after": value.pk if hasattr(value, "pk") else value}
            setattr(record, key, value)
    if changes:
        record.save()
        audit_record(actor=actor, action="records.record.update", obj=record, changes=changes)
    return record


def attachment_path(attachment: Attachment) -> Path:
    root = records_dir().resolve()
    path = (root / attachment.stored_name).resolve()
    if root not in path.parents:  # a stored name never leaves the directory; refuse if one somehow does
        raise NotFound()
    return path


def attachment_open(*, viewer: User, attachment_id: int) -> tuple[Attachment, IO[bytes]]:
    """The file for a permitted viewer, its read audited; NotFound when it is not theirs to see or is gone."""
    attachment = selectors.attachment_get(viewer=viewer, attachment_id=attachment_id)
    path = attachment_path(attachment)
    if not path.is_file():
        raise NotFound(_("This file is missing from the store. Tell an administrator."), code="file_missing")
    handle = path.open("rb")
    audit_record(actor=viewer, action="records.attachment.download", obj=attachment.record,
                 changes={"attachment": {"before": None, "after": attachment.pk},
                          "file": {"before": None, "after": attachment.original_name}})
    return attachment, handle


# ---------------------------------------------------------------- market information

def _market_values(actor: User, *, kind: str, title: str, content: str, customer_id: int | None, competitor: str,
                   product: str, source: str, observed_on: dt.date | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if kind not in MarketInfoKind.values:
        errors.setdefault("kind", []).append(_("Choose competitor, industry or product feedback."))
    values: dict[str, Any] = {
        "kind": kind,
        "title": _text(title, "title", required=True, limit=TITLE_MAX, errors=errors),
        "content": _text(content, "content", required=True, limit=TEXT_MAX, errors=errors),
        "competitor": _text(competitor, "competitor", required=False, limit=120, errors=errors),
        "product": _text(product, "product", required=False, limit=120, errors=errors),
        "source": _text(source, "source", required=False, limit=200, errors=errors),
        "observed_on": _day(observed_on, "observed_on", errors),
        "customer": _customer(actor, customer_id, errors),
    }
    if kind == MarketInfoKind.COMPETITOR and not values["competitor"] and "competitor" not in errors:
        errors.setdefault("competitor", []).append(_("Name the competitor."))
    if errors:
        raise ValidationFailed(field_errors=errors)
    return values


@transaction.atomic
def market_create(*, actor: User, kind: str, title: str, content: str, customer_id: int | None = None,
                  competitor: str = "", product: str = "", source: str = "",
                  observed_on: dt.date | None = None) -> MarketInfo:
    _require_edit(actor)
    values = _market_values(actor, kind=kind, title=title, content=content, customer_id=customer_id,
                            competitor=competitor, product=product, source=source, observed_on=observed_on)
    item = MarketInfo.objects.create(reporter=actor, **values)
    audit_record(actor=actor, action="records.market.create", obj=item, changes={
        k: {"before": None, "after": v.pk if hasattr(v, "pk") else v} for k, v in values.items()})
    if item.customer is not None:
        from kamguard.customers.services.common import timeline_add

        timeline_add(customer=item.customer, kind="records.market_info", actor=actor, at=_moment(item.observed_on),
                     summary=_("Market information (%(kind)s): %(title)s") % {
                         "kind": item.get_kind_display(), "title": item.title},
                     data={"market_info_id": item.pk})
    return item


@transaction.atomic
def market_update(*, actor: User, item_id: int, kind: str, title: str, content: str, customer_id: int | None = None,
                  competitor: str = "", product: str = "", source: str = "",
                  observed_on: dt.date | None = None) -> MarketInfo:
    _require_edit(actor)
    item = selectors.market_list(viewer=actor).filter(pk=item_id).first()
    if item is None:
        raise NotFound()
    if item.reporter_id != actor.pk:
        raise PermissionRefused(_("Only the person who reported this can change it."), code="not_reporter")
    if customer_id == item.customer_id and item.customer is not None:
        customer_id = None
        keep_customer = True
    else:
        keep_customer = False
    values = _market_values(actor, kind=kind, title=title, content=content, customer_id=customer_id,
                            competitor=competitor, product=product, source=source, observed_on=observed_on)
    if keep_customer:
        values["customer"] = item.customer
    changes: dict[str, Any] = {}
    for key, value in values.items():
        before = getattr(item, key)
        if before != value:
            changes[key] = {"before": before.pk if hasattr(before, "pk") else before,
                            "after": value.pk if hasattr(value, "pk") else value}
            setattr(item, key, value)
    if changes:
        item.save()
        audit_record(actor=actor, action="records.market.update", obj=item, changes=changes)
    return item
