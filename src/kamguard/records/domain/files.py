"""What a file really is: its type sniffed from its first bytes (with `filetype`), checked against the name's
extension and the accepted list. Pure Python (no Django): the service reads the head and calls `file_check`.

Text files (.txt, .csv, .md) have no signature: they are accepted when no binary type is recognised and the
head decodes as UTF-8 or GB18030 with no NUL byte.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import filetype

HEAD_BYTES = 64 * 1024
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of legacy Office documents

# extension → (the sniffed kinds it may hold, the MIME type served)
ACCEPTED: dict[str, tuple[frozenset[str], str]] = {
    "pdf": (frozenset({"pdf"}), "application/pdf"),
    "png": (frozenset({"png"}), "image/png"),
    "jpg": (frozenset({"jpg"}), "image/jpeg"),
    "jpeg": (frozenset({"jpg"}), "image/jpeg"),
    "webp": (frozenset({"webp"}), "image/webp"),
    "heic": (frozenset({"heic"}), "image/heic"),
    "tif": (frozenset({"tif"}), "image/tiff"),
    "tiff": (frozenset({"tif"}), "image/tiff"),
    "docx": (frozenset({"docx"}), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (frozenset({"xlsx"}), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": (frozenset({"pptx"}), "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "doc": (frozenset({"doc", "ole"}), "application/msword"),
    "xls": (frozenset({"xls", "ole"}), "application/vnd.ms-excel"),
    "ppt": (frozenset({"ppt", "ole"}), "application/vnd.ms-powerpoint"),
    "txt": (frozenset({"text"}), "text/plain; charset=utf-8"),
    "csv": (frozenset({"text"}), "text/csv; charset=utf-8"),
    "md": (frozenset({"text"}), "text/markdown; charset=utf-8"),
}

@dataclass(frozen=True)
class FileVerdict:
    ok: bool
    code: str = ""  # "empty", "too_large", "extension_not_accepted", "type_mismatch"
    extension: str = ""
    kind: str = ""  # what the content is (a key of KIND_LABELS, or another sniffed extension)
    content_type: str = ""


def extension_of(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _is_text(head: bytes, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff(head: bytes, *, complete: bool) -> str:
    """The kind of content `head` starts (`complete`: head is the whole file)."""
    found = filetype.guess(head)
    if found is not None:
        return str(found.extension)
    if head.startswith(OLE_SIGNATURE):
        return "ole"
    return "text" if _is_text(head, complete) else "binary"


def file_check(*, name: str, size: int, head: bytes, max_bytes: int) -> FileVerdict:
    extension = extension_of(name)
    if size <= 0:
        return FileVerdict(False, "empty", extension)
    if size > max_bytes:
        return FileVerdict(False, "too_large", extension)
    if extension not in ACCEPTED:
        return FileVerdict(False, "extension_not_accepted", extension)
    kinds, content_type = ACCEPTED[extension]
    kind = sniff(head, complete=size <= len(head))
    if kind not in kinds:
        return FileVerdict(False, "type_mismatch", extension, kind)
    return FileVerdict(True, "", extension, kind, content_type)
