from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from creditplus.accounts import audit, services
from creditplus.accounts.auth import AUTH
from creditplus.accounts.models import ApiToken, AuditEvent, Department
from creditplus.accounts.permissions import get_for_user, require_perm, restrict
from creditplus.accounts.queries import audit_events_for

router = Router(tags=["部门与账号"])


class DepartmentOut(Schema):
    code: str
    name: str
    full_name: str
    uscc: str
    kind: str


@router.get("/departments", response=list[DepartmentOut], auth=None, summary="部门清单（公开）")
def list_departments(request: HttpRequest) -> list[Department]:
    return list(Department.objects.filter(is_active=True))


class MeOut(Schema):
    username: str
    roles: list[str]
    department: str | None


@router.get("/me", response=MeOut, auth=AUTH, summary="当前账号")
def me(request: HttpRequest) -> dict[str, object]:
    user = request.auth
    return {
        "username": user.get_username(),
        "roles": sorted(user.roles),
        "department": user.department.code if user.department_id else None,
    }


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    department: str | None = Field(None, alias="department.code")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@router.get("/tokens", response=list[TokenOut], auth=AUTH, summary="本部门的接口令牌")
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    require_perm(request.auth, "accounts.view_apitoken")
    qs = restrict(ApiToken.objects.select_related("department"), request.auth)
    return list(qs[:200])


@router.post("/tokens/{token_id}/revoke", response=TokenOut, auth=AUTH, summary="吊销接口令牌")
def revoke_token(request: HttpRequest, token_id: int) -> ApiToken:
    require_perm(request.auth, "accounts.change_apitoken")
    token = get_for_user(ApiToken.objects.all(), request.auth, pk=token_id)
    return services.revoke_token(token)


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor_name: str
    department: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    subject: str
    purpose: str
    request_id: str


class AuditFilter(Schema):
    action: str | None = Field(None, max_length=64)
    subject: str | None = Field(None, max_length=64)
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=100)


@router.get("/audit/events", response=list[AuditEventOut], auth=AUTH, summary="审计日志")
def list_audit_events(request: HttpRequest, filters: Query[AuditFilter]) -> list[AuditEvent]:
    require_perm(request.auth, "accounts.view_auditevent")
    qs = audit_events_for(request.auth, action=filters.action, subject=filters.subject)
    start = (filters.page - 1) * filters.page_size
    events = list(qs[start : start + filters.page_size])
    audit.record("audit.view", purpose="查询审计日志", after={"page": filters.page})
    return events
