"""Evidence files of objections and restoration applications: checked, hashed, private."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable
from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.errors import DomainError
from creditplus.lists.models import Attachment, Objection, Restoration

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
ALLOWED = {".pdf", ".ofd", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".zip"}


def check_files(files: Iterable[UploadedFile]) -> list[UploadedFile]:
    """Refuse the whole submission when one file is unusable, saying which and why."""
    files = list(files)
    if len(files) > MAX_FILES:
        raise DomainError(
            "too_many_files", _("附件最多 %(n)d 个") % {"n": MAX_FILES}, "attachments"
        )
    for f in files:
        suffix = PurePath(f.name or "").suffix.lower()
        if suffix not in ALLOWED:
            raise DomainError(
                "file_type",
                _("附件“%(name)s”的格式不支持，请上传 PDF、OFD、图片、Word 或 ZIP 文件")
                % {"name": f.name},
                "attachments",
            )
        if f.size > MAX_BYTES:
            raise DomainError(
                "file_too_large",
                _("附件“%(name)s”超过 10 MB") % {"name": f.name},
                "attachments",
            )
        if f.size == 0:
            raise DomainError(
                "file_empty", _("附件“%(name)s”是空文件") % {"name": f.name}, "attachments"
            )
    return files


def save_files(
    files: Iterable[UploadedFile],
    *,
    objection: Objection | None = None,
    restoration: Restoration | None = None,
) -> list[Attachment]:
    """Store checked ``files`` for an objection or a restoration application."""
    saved = []
    for f in files:
        digest = hashlib.sha256()
        for chunk in f.chunks():
            digest.update(chunk)
        f.seek(0)
        attachment = Attachment(
            objection=objection,
            restoration=restoration,
            name=PurePath(f.name).name[:200],
            size=f.size,
            # From the checked extension, never the type the uploader claimed.
            content_type=mimetypes.guess_type(f.name)[0] or "application/octet-stream",
            sha256=digest.hexdigest(),
            uploaded_at=timezone.now(),
        )
        attachment.file.save(attachment.name, f, save=False)
        attachment.save()
        saved.append(attachment)
    return saved
