"""The JSON API under /api/v1/: one NinjaAPI, one error shape; it only mounts the app routers.

Authentication (bearer token or session) lives in ``creditplus.accounts.auth``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from creditplus.errors import DomainError
from creditplus.records.readers import json_too_deep


class ErrorOut(Schema):
    """The one error body of the API (creditplus.errors)."""

    code: str = Field(description="稳定的错误代码，如 not_found、invalid_input、rate_limited")
    message: str = Field(description="中文说明，可直接展示给用户")
    field: str | None = Field(description="出错的字段（如有）")


ERROR_DESCRIPTIONS = {
    400: "请求被拒绝：输入或业务规则不允许（见 code）",
    401: "未认证：需要有效的接口令牌（Bearer）或登录会话",
    403: "无权执行：角色或部门范围不允许，或会话写操作缺少 CSRF 令牌（csrf_failed）",
    404: "对象不存在或不在调用者的范围内（not_found）",
    409: "与对象的当前状态冲突",
    422: "参数不合法（invalid_input，field 指明参数）",
    413: "文件过大（file_too_large）",
    429: "访问过于频繁（rate_limited，带 Retry-After）",
    500: "服务器内部错误（server_error，message 带请求编号）",
}

# Error statuses an operation answers beyond the defaults of error_statuses (add a line when a
# route raises one the defaults do not cover; schemathesis in tests/test_openapi.py checks).
EXTRA_STATUSES: dict[tuple[str, str], set[int]] = {
    ("GET", "/api/v1/subjects"): {429},
    ("GET", "/api/v1/subjects/{code}"): {429},
    ("POST", "/api/v1/batches/file"): {413},
}


def error_statuses(method: str, path: str, operation: dict) -> set[int]:
    """The error statuses of one operation: 400 (a refusal, a NUL character) and 500 for all;
    422 where it takes input; 401 and 403 where it needs credentials; 404 where it names an
    object (in the path, or in the body of a write); 409 for writes (a state that forbids
    the change); plus :data:`EXTRA_STATUSES`."""
    statuses = {400, 500}
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    if operation.get("security"):
        statuses |= {401, 403}
    if "{" in path or method != "GET":
        statuses.add(404)
    if method != "GET":
        statuses.add(409)
    return statuses | EXTRA_STATUSES.get((method, path), set())


class CreditplusAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document lists every error status of every operation, with the
    error body (ninja documents only the success responses declared on each route)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema()
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for path, methods in schema["paths"].items():
            for method, operation in methods.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(error_statuses(method.upper(), path, operation)):
                    responses.setdefault(
                        status, {"description": ERROR_DESCRIPTIONS[status], "content": error}
                    )
        return schema


class JSONParser(Parser):
    """Ninja's JSON parser, with a body nested deeper than the parser follows refused as
    ``json_too_deep``, the error the file readers give, instead of a bare 400."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            return super().parse_body(request)
        except RecursionError:
            raise json_too_deep() from None


api = CreditplusAPI(
    title="creditplus API",
    parser=JSONParser(),
    version="1",
    description="信用+ 公共信用信息平台接口。错误统一为 {code, message, field}。",
    urls_namespace="api",
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, field: str | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "field": field}, status=status
    )


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = _error(request, exc.status, exc.code, str(exc.message), exc.field)
    if retry_after := getattr(exc, "retry_after", None):
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [
        str(part)
        for part in first.get("loc", [])
        if part not in ("body", "query", "path", "payload")
    ]
    field = ".".join(loc) or None
    detail = first.get("msg", "")
    return _error(
        request,
        422,
        "invalid_input",
        _("请求参数不合法：%(field)s %(detail)s") % {"field": field or "", "detail": detail},
        field,
    )


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("未认证：请提供有效的接口令牌或先登录"))


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", _("当前角色无权执行此操作"))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("对象不存在或无权访问"))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, DomainError):
        # Ninja wraps whatever the body parser raises into a 400 "Cannot parse request body".
        return domain_error(request, exc.__cause__)
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """An unexpected error: the JSON error shape, not Django's HTML page, for API clients.
    Logged like Django's own 500s; the signal lets the test client re-raise it."""
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", request.path, exc_info=(type(exc), exc, exc.__traceback__)
    )
    got_request_exception.send(sender=None, request=request)
    request_id = getattr(request, "request_id", "")
    return _error(
        request,
        500,
        "server_error",
        _("服务器内部错误，请稍后重试；如一再出现，请把请求编号 %(id)s 告诉平台管理员")
        % {"id": request_id},
    )


def register_routers() -> None:
    """Mount each app's router (apps listed left to right in dependency order)."""
    from creditplus.accounts.api import router as accounts_router
    from creditplus.assessments.api import router as assessments_router
    from creditplus.catalog.api import router as catalog_router
    from creditplus.evaluation.api import router as evaluation_router
    from creditplus.integrity.api import router as integrity_router
    from creditplus.lists.api import router as lists_router
    from creditplus.opendata.api import router as opendata_router
    from creditplus.records.api import router as records_router
    from creditplus.reports.api import router as reports_router
    from creditplus.sanctions.api import router as sanctions_router
    from creditplus.subjects.api import router as subjects_router
    from creditplus.supervision.api import router as supervision_router

    api.add_router("/", accounts_router)
    api.add_router("/", catalog_router)
    api.add_router("/", subjects_router)
    api.add_router("/", records_router)
    api.add_router("/", lists_router)
    api.add_router("/", evaluation_router)
    api.add_router("/", sanctions_router)
    api.add_router("/", supervision_router)
    api.add_router("/", integrity_router)
    api.add_router("/", opendata_router)
    api.add_router("/", reports_router)
    api.add_router("/", assessments_router)


register_routers()
