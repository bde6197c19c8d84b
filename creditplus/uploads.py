"""Scanned documents users upload (authorizations, evidence): PDF, JPG or PNG only, judged
by the name's suffix and by the file's first bytes, never by what the browser claimed."""

from __future__ import annotations

from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from creditplus.errors import DomainError

# Suffix → the bytes such a file starts with.
DOCUMENT_TYPES = {
    ".pdf": b"%PDF-",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".png": b"\x89PNG\r\n\x1a\n",
}


def check_document(file: UploadedFile, *, what: str, field: str, max_mb: int) -> UploadedFile:
    """Return ``file`` when it is a non-empty PDF, JPG or PNG of at most ``max_mb`` MB; else
    raise a DomainError (``file_type``, ``file_empty``, ``file_too_large``) on ``field``
    whose message names the document as ``what`` (e.g. 授权书文件)."""
    magic = DOCUMENT_TYPES.get(PurePath(file.name or "").suffix.lower())
    if magic is None:
        raise DomainError(
            "file_type", _("%(what)s须为 PDF、JPG 或 PNG 格式") % {"what": what}, field
        )
    if not file.size:
        raise DomainError("file_empty", _("%(what)s是空文件") % {"what": what}, field)
    if file.size > max_mb * 1024 * 1024:
        raise DomainError(
            "file_too_large",
            _("%(what)s不能超过 %(mb)d MB") % {"what": what, "mb": max_mb},
            field,
        )
    file.seek(0)
    head = file.read(len(magic))
    file.seek(0)
    if head != magic:
        raise DomainError("file_type", _("%(what)s内容与其格式不符") % {"what": what}, field)
    return file
