"""Checking uploaded evidence: the name, the size, and what the bytes really are (magic numbers).

An extension is a claim; the content decides. A file whose bytes do not match its extension is
refused, as is a name that tries to reach outside its folder. Nothing is stored before all checks pass.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.http import FileResponse
from django.utils.translation import gettext as _

# extension -> the type its content must sniff as
EXTENSIONS = {
    ".pdf": "pdf",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".ofd": "ofd",
    ".xlsx": "xlsx",
    ".docx": "docx",
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "ofd": "application/ofd",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
HASH_CHUNK = 1024 * 1024
# What a hand-issued invoice's photo or scan may be.
SCAN_TYPES = ("pdf", "png", "jpeg", "ofd")


def extensions_of(types: tuple[str, ...]) -> list[str]:
    return [e for e, t in EXTENSIONS.items() if t in types]


def accept_attribute(types: tuple[str, ...] = tuple(CONTENT_TYPES)) -> str:
    """A file input's `accept` for these types, so the browser offers what the checks take."""
    return ",".join(extensions_of(types))


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check. `file` is read a chunk at a time when stored: an upload
    is never held whole in memory (Django keeps one above FILE_UPLOAD_MAX_MEMORY_SIZE on disk)."""

    name: str
    file_type: str
    file: BinaryIO
    size: int
    sha256: str


def as_file(content: bytes | BinaryIO) -> BinaryIO:
    """A binary file for bytes (tests, scripts) or the upload itself (Django's UploadedFile)."""
    return io.BytesIO(content) if isinstance(content, bytes | bytearray) else content


def _size(file: BinaryIO) -> int:
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _sha256(file: BinaryIO) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    while chunk := file.read(HASH_CHUNK):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def sniff(content: bytes | BinaryIO) -> str | None:
    """The file type the bytes are, or None. Zip containers are told apart by their members (read
    from the zip's directory, not by inflating it)."""
    file = as_file(content)
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(file) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        finally:
            file.seek(0)
        if "OFD.xml" in names:
            return "ofd"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "word/document.xml" in names:
            return "docx"
    return None


def check_name(name: str) -> str:
    """The file name as given, if it is a plain name; path tricks and control characters are refused."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise ValidationError(_("The file has no name."), code="name_empty")
    # Bidi overrides and other invisible format characters disguise an extension ("合同\u202efdp.exe").
    invisible = any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name)
    # ":" makes "C:evil.pdf" a drive-relative path on Windows (Django's parser leaves it in).
    if any(sep in name for sep in ("/", "\\", ":", "..")) or invisible or name.startswith("."):
        raise ValidationError(
            _("%(name)s is not a plain file name (no folders, drive letters, “..”, hidden or control characters)."),
            code="name_path",
            params={"name": "".join("?" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in name)[:100]},
        )
    if len(name) > 150:
        raise ValidationError(_("The file name is longer than 150 characters."), code="name_long")
    return name


def check_size(*, name: str, size: int) -> None:
    """Refuse a file over MAX_UPLOAD_BYTES. The API asks this of an upload's declared size before
    reading a huge body into memory."""
    limit = settings.MAX_UPLOAD_BYTES
    if size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s bytes; the limit is %(limit)s bytes."),
            code="too_large",
            params={"name": name, "size": size, "limit": limit},
        )


def check_upload(
    *, name: str, content: bytes | BinaryIO, allowed: tuple[str, ...] = tuple(CONTENT_TYPES)
) -> CheckedUpload:
    """Validate one upload completely (name, size, type by content); raise ValidationError if anything
    is off. `content` is the upload's file (read in chunks, never whole) or, from scripts, bytes."""
    file = as_file(content)
    name = check_name(name)
    size = _size(file)
    check_size(name=name, size=size)
    if not size:
        raise ValidationError(_("%(name)s is empty."), code="empty", params={"name": name})
    dot = name.rfind(".")
    claimed = EXTENSIONS.get(name[dot:].lower()) if dot > 0 else None
    if claimed is None or claimed not in allowed:
        accepted = ", ".join(extensions_of(allowed))
        raise ValidationError(
            _("%(name)s: only these file types are accepted: %(accepted)s."),
            code="extension",
            params={"name": name, "accepted": accepted},
        )
    actual = sniff(file)
    if actual != claimed:
        raise ValidationError(
            _("%(name)s is named like a %(claimed)s file but its content is not one (it looks like %(actual)s)."),
            code="type_mismatch",
            params={"name": name, "claimed": claimed.upper(), "actual": (actual or _("unknown data")).upper()},
        )
    return CheckedUpload(name=name, file_type=actual, file=file, size=size, sha256=_sha256(file))


def checked_as(*, name: str, file_type: str, content: bytes | BinaryIO) -> CheckedUpload:
    """An upload a caller's own check accepted (a type this module does not sniff, such as an
    e-invoice XML), measured and hashed like the others so that it is stored and recorded alike."""
    file = as_file(content)
    return CheckedUpload(name=name, file_type=file_type, file=file, size=_size(file), sha256=_sha256(file))


def file_fields(upload: CheckedUpload) -> dict:
    """What a stored file's row records of its upload (evidence, counterparty copies)."""
    return {"original_name": upload.name, "file_type": upload.file_type, "size": upload.size, "sha256": upload.sha256}


def store_private(*, folder: str, upload: CheckedUpload) -> str:
    """Save into private storage under a generated name (never the user's) and return that name.
    The storage copies the file a chunk at a time. A type without a known extension keeps its own."""
    ext = next((e for e, t in EXTENSIONS.items() if t == upload.file_type), f".{upload.file_type}")
    upload.file.seek(0)
    return storages["private"].save(f"{folder}/{uuid.uuid4().hex}{ext}", File(upload.file))


def stored_files(folder: str) -> Iterator[tuple[str, datetime]]:
    """Every file stored under `folder` in private storage, at any depth, with when it was written."""
    storage = storages["private"]
    if not storage.exists(folder):
        return
    folders, files = storage.listdir(folder)
    for name in files:
        path = f"{folder}/{name}"
        yield path, storage.get_modified_time(path)
    for sub in folders:
        yield from stored_files(f"{folder}/{sub}")


def safe_archive_name(name: str) -> str:
    """A name safe inside a ZIP on any system: no separators, no control characters, no leading dots."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", name).lstrip(".").strip() or "file"
    return cleaned[:120]


def private_file_response(*, storage_name: str, name: str, file_type: str) -> FileResponse:
    """A privately stored file as a download: under a safe version of its original name, with the
    content type its checked content proved (SecurityMiddleware adds nosniff)."""
    return FileResponse(
        storages["private"].open(storage_name, "rb"),
        as_attachment=True,
        filename=safe_archive_name(name),
        content_type=CONTENT_TYPES[file_type],
    )
