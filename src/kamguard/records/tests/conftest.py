"""Records fixtures: customers of alice and carol, and small files made in code (a real PDF and PNG head)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kamguard.customers.models import Customer


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(text: str = "KAMGuard") -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"% " + text.encode() + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@dataclass
class Shelf:
    alpha: Customer  # alice's
    beta: Customer  # carol's


@pytest.fixture
def shelf(world, settings, tmp_path) -> Shelf:
    settings.KAMGUARD_RECORDS_DIR = str(tmp_path / "records")
    today = timezone.localdate()
    alpha = Customer.objects.create(name="深圳市腾达电子科技有限公司", owner=world.alice, created_on=today, tier="B")
    beta = Customer.objects.create(name="成都蜀光机械股份有限公司", owner=world.carol, created_on=today, tier="A")
    return Shelf(alpha, beta)
