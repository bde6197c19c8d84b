from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Field, Router, Schema

from creditplus.accounts import audit
from creditplus.accounts.auth import AUTH
from creditplus.accounts.permissions import require_perm
from creditplus.errors import NotFound
from creditplus.lists.services import subject_lists
from creditplus.subjects.models import Subject

router = Router(tags=["红黑名单"])


class ListStatusOut(Schema):
    entry_no: str
    list_type: str
    list_name: str
    kind: str
    status: str
    status_label: str
    since: date
    publish_until: date | None
    restoration_from: date | None
    expires_before_restoration: bool = Field(
        description="公示期满即移出（期满移出）：早于可申请修复日期，无需申请信用修复"
    )
    department: str
    basis: str
    decision_no: str
    in_objection: bool


class SubjectListsOut(Schema):
    code: str
    name: str
    entries: list[ListStatusOut]


@router.get(
    "/subjects/{code}/lists",
    response=SubjectListsOut,
    auth=AUTH,
    summary="信用主体的名单状态（在册名单及待办认定提议）",
)
def lists_of_subject(request: HttpRequest, code: str) -> dict:
    """Current memberships and open proposals of the subject with USCC ``code``. Shared
    among government only; every call is audited."""
    require_perm(request.user, "lists.view_listentry")
    subject = Subject.objects.filter(uscc=code.strip().upper()).first()
    if subject is None:
        raise NotFound()
    entries = subject_lists(subject)
    audit.record("list.query", obj=subject, subject=subject.code, purpose="名单状态查询")
    return {"code": subject.code, "name": subject.name, "entries": entries}
