"""The demo's records and market information: classified records (a few not yet) with real generated files
that pass the content check, attached to customers; market intelligence linked to customers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from kamguard.core.models import AuditEvent
from kamguard.customers.models import Customer
from kamguard.demo.build import BuiltWorld, world_build
from kamguard.demo.plan import plan_world
from kamguard.demo.records import BuiltRecords, demo_pdf, demo_png, records_build
from kamguard.org.models import User
from kamguard.records import selectors, services
from kamguard.records.domain.files import sniff
from kamguard.records.models import Attachment, MarketInfo, WorkRecord


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any,
          ) -> Iterator[tuple[BuiltWorld, BuiltRecords]]:
    with override_settings(KAMGUARD_RECORDS_DIR=str(tmp_path_factory.mktemp("records"))), \
            django_db_blocker.unblock(), transaction.atomic():
        world = world_build(plan_world(seed=42, as_of=timezone.localdate()))
        since = timezone.now() - dt.timedelta(days=200)
        managers = User.objects.filter(pk__in=[u.pk for u in world.people.values()], is_active=True,
                                       role_assignments__role="manager").distinct().order_by("pk")
        for index, manager in enumerate(managers):
            Customer.objects.create(name=f"演示客户{index}有限公司", owner=manager, owned_since=since,
                                    created_on=since.date())
        yield world, records_build(world)
        transaction.set_rollback(True)


def test_generated_files_are_what_they_say():
    assert sniff(demo_pdf("三季度分析"), complete=True) == "pdf"
    assert sniff(demo_png(3), complete=True) == "png"


def test_records_demo(db: None, built) -> None:
    _world, result = built
    assert result.records == WorkRecord.objects.count() > 150
    assert result.files == Attachment.objects.count() > 50
    assert 0 < result.unclassified < result.records // 5
    assert {"analysis", "special_report", "summary", "marketing_case", "sign_off"} <= set(result.by_category)
    assert WorkRecord.objects.filter(customer__isnull=False).count() > result.records // 2
    assert result.market == MarketInfo.objects.count() > 40
    assert MarketInfo.objects.filter(kind="competitor").exclude(competitor="").exists()
    assert AuditEvent.objects.filter(action="records.record.create").count() == result.records
    attachment = Attachment.objects.filter(content_type="application/pdf").first()
    assert attachment is not None and services.attachment_path(attachment).read_bytes().startswith(b"%PDF-")
    keepers = list(WorkRecord.objects.values_list("owner_id", flat=True).distinct())
    today = timezone.localdate()
    counts = selectors.records_count(user_ids=keepers, start=today - dt.timedelta(days=90), end=today)
    assert sum(c["total"] for c in counts.values()) == result.records
