from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from creditplus import ratelimit
from creditplus.reports import services

router = Router(tags=["信用报告"])


class VerifyIn(Schema):
    no: str = Field(..., min_length=1, max_length=32, description="报告编号，如 XYBG20260101000001")
    code: str = Field(..., min_length=1, max_length=32, description="报告上印制的验证码")


class VerifyOut(Schema):
    valid: bool = Field(..., description="是否确有该编号且验证码相符的报告")
    number: str
    kind: str | None = Field(None, description="enterprise / personal")
    kind_label: str | None = None
    subject: str | None = Field(None, description="主体名称（自然人遮蔽，如 张*）")
    issued_at: datetime | None = None
    issuer: str | None = None
    sha256: str | None = Field(None, description="报告内容摘要")
    message: str


@router.get("/reports/verify", response=VerifyOut, auth=None, summary="核验信用报告（公开）")
def verify(request: HttpRequest, params: Query[VerifyIn]) -> dict:
    """Whether a report with this number and verification code was issued, when, of which
    kind and for whom (natural persons masked). A wrong code and an unknown number get the
    same answer. Rate-limited like the public search."""
    ratelimit.check(request, "search")
    result = services.verify(params.no, params.code)
    if not result.ok:
        return {
            "valid": False,
            "number": result.number,
            "message": _("未查到与该报告编号和验证码相符的报告"),
        }
    return {
        "valid": True,
        "number": result.number,
        "kind": result.kind,
        "kind_label": result.kind_label,
        "subject": result.subject,
        "issued_at": result.issued_at,
        "issuer": result.issuer,
        "sha256": result.digest,
        "message": _("该报告由本平台出具，编号与验证码相符"),
    }
