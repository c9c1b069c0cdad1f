"""HTTP API of work records (with their files, uploaded as multipart) and market information."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from kamguard.core.api import Page, ProblemDetail, api_viewer, keyset_page
from kamguard.records import selectors, services
from kamguard.records.models import Attachment, MarketInfo, WorkRecord

router = Router(tags=["Work records and market information"])
ERRORS: dict[int | tuple[int, ...], type[ProblemDetail]] = {(400, 401, 403, 404, 409, 422): ProblemDetail}

CATEGORY = Literal["", "analysis", "special_report", "summary", "marketing_case", "sign_off", "other"]
KIND = Literal["competitor", "industry", "product_feedback"]


class ListParams(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


class RecordAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime
    download_url: str


class RecordOut(Schema):
    id: int
    title: str
    category: str
    description: str
    record_on: dt.date
    owner_id: int
    owner_name: str
    customer_id: int | None
    customer_name: str | None
    plan_ref: str
    created_at: dt.datetime
    attachments: list[RecordAttachmentOut]


def _attachment_out(a: Attachment) -> RecordAttachmentOut:
    return RecordAttachmentOut(id=a.pk, name=a.original_name, content_type=a.content_type, size=a.size, sha256=a.sha256,
                         uploaded_at=a.uploaded_at, download_url=f"/api/v1/records/attachments/{a.pk}")


def _record_out(r: WorkRecord) -> RecordOut:
    return RecordOut(id=r.pk, title=r.title, category=r.category, description=r.description, record_on=r.record_on,
                     owner_id=r.owner_id, owner_name=str(r.owner), customer_id=r.customer_id,
                     customer_name=r.customer.name if r.customer else None, plan_ref=r.plan_ref,
                     created_at=r.created_at, attachments=[_attachment_out(a) for a in r.attachments.all()])


class RecordFilter(ListParams):
    category: CATEGORY | None = Field(None, description='"" for the unclassified records')
    customer_id: int | None = None
    owner_id: int | None = None
    plan_ref: str = Field("", max_length=64)
    q: str = Field("", max_length=100)


@router.get("/records", response={200: Page[RecordOut], **ERRORS}, summary="Work records the caller may see")
def record_list(request: HttpRequest, filters: Query[RecordFilter]) -> Any:
    viewer = api_viewer(request)
    qs = selectors.record_list(viewer=viewer, search=filters.q, category=filters.category,
                               customer_id=filters.customer_id, owner_id=filters.owner_id, plan_ref=filters.plan_ref)
    return keyset_page(qs.prefetch_related("attachments"), cursor=filters.cursor, limit=filters.limit,
                       order=("-record_on", "-pk"), serialize=_record_out)


class RecordIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    category: CATEGORY = ""
    description: str = Field("", max_length=5000)
    record_on: dt.date | None = None
    customer_id: int | None = None
    plan_ref: str = Field("", max_length=64, description="The monthly plan: plan:<plan id>, e.g. plan:12")


@router.post("/records", response={201: RecordOut, **ERRORS},
             summary="Keep a record with its files (multipart: the fields, and `files` repeated)",
             description="Each file is checked for size and for its content matching its extension (PDF, images, "
                         "Office documents, text); one refused file refuses the record (422 `file_refused`).")
def record_create(request: HttpRequest, payload: Form[RecordIn], files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
                  ) -> Any:
    viewer = api_viewer(request)
    record = services.record_create(actor=viewer, files=files or [], **payload.model_dump())
    return Status(201, _record_out(selectors.record_get(viewer=viewer, record_id=record.pk)))


@router.get("/records/{int:record_id}", response={200: RecordOut, **ERRORS}, summary="One record")
def record_get(request: HttpRequest, record_id: int) -> Any:
    return _record_out(selectors.record_get(viewer=api_viewer(request), record_id=record_id))


@router.put("/records/{int:record_id}", response={200: RecordOut, **ERRORS},
            summary="Change a record: title, category, customer, plan (the keeper)")
def record_update(request: HttpRequest, record_id: int, payload: RecordIn) -> Any:
    viewer = api_viewer(request)
    services.record_update(actor=viewer, record_id=record_id, **payload.model_dump())
    return _record_out(selectors.record_get(viewer=viewer, record_id=record_id))


@router.post("/records/{int:record_id}/attachments", response={201: RecordOut, **ERRORS},
             summary="Add files to a record (multipart `files`; the keeper)")
def attachment_add(request: HttpRequest, record_id: int, files: File[list[UploadedFile]]) -> Any:
    viewer = api_viewer(request)
    services.attachment_add(actor=viewer, record_id=record_id, files=files)
    return Status(201, _record_out(selectors.record_get(viewer=viewer, record_id=record_id)))


@router.get("/attachments/{int:attachment_id}", response={200: None, **ERRORS},
            summary="Download a file (checked against the caller's access; audited)")
def attachment_download(request: HttpRequest, attachment_id: int) -> Any:
    attachment, handle = services.attachment_open(viewer=api_viewer(request), attachment_id=attachment_id)
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- market information

class MarketOut(Schema):
    id: int
    kind: str
    title: str
    content: str
    customer_id: int | None
    customer_name: str | None
    competitor: str
    product: str
    source: str
    observed_on: dt.date
    reporter_id: int
    reporter_name: str
    created_at: dt.datetime


def _market_out(m: MarketInfo) -> MarketOut:
    return MarketOut(id=m.pk, kind=m.kind, title=m.title, content=m.content, customer_id=m.customer_id,
                     customer_name=m.customer.name if m.customer else None, competitor=m.competitor,
                     product=m.product, source=m.source, observed_on=m.observed_on, reporter_id=m.reporter_id,
                     reporter_name=str(m.reporter), created_at=m.created_at)


class MarketFilter(ListParams):
    kind: Literal["", "competitor", "industry", "product_feedback"] = ""
    customer_id: int | None = None
    q: str = Field("", max_length=100)


@router.get("/market", response={200: Page[MarketOut], **ERRORS}, summary="Market information the caller may see")
def market_list(request: HttpRequest, filters: Query[MarketFilter]) -> Any:
    qs = selectors.market_list(viewer=api_viewer(request), search=filters.q, kind=filters.kind,
                               customer_id=filters.customer_id)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order=("-observed_on", "-pk"),
                       serialize=_market_out)


class MarketIn(Schema):
    kind: KIND
    title: str = Field(..., min_length=1, max_length=200)
    content: str = Field(..., min_length=1, max_length=5000)
    customer_id: int | None = None
    competitor: str = Field("", max_length=120, description="Required for kind=competitor")
    product: str = Field("", max_length=120)
    source: str = Field("", max_length=200)
    observed_on: dt.date | None = None


@router.post("/market", response={201: MarketOut, **ERRORS}, summary="Report market information")
def market_create(request: HttpRequest, payload: MarketIn) -> Any:
    viewer = api_viewer(request)
    item = services.market_create(actor=viewer, **payload.model_dump())
    return Status(201, _market_out(selectors.market_get(viewer=viewer, item_id=item.pk)))


@router.get("/market/{int:item_id}", response={200: MarketOut, **ERRORS}, summary="One market information item")
def market_get(request: HttpRequest, item_id: int) -> Any:
    return _market_out(selectors.market_get(viewer=api_viewer(request), item_id=item_id))


@router.put("/market/{int:item_id}", response={200: MarketOut, **ERRORS}, summary="Change an item (its reporter)")
def market_update(request: HttpRequest, item_id: int, payload: MarketIn) -> Any:
    viewer = api_viewer(request)
    services.market_update(actor=viewer, item_id=item_id, **payload.model_dump())
    return _market_out(selectors.market_get(viewer=viewer, item_id=item_id))
