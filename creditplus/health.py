import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from creditplus.accounts import audit


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers: 200 when the database answers.
    ``?deep=1``: the whole health report (``creditplus doctor``) for monitoring systems,
    503 when any finding is 异常."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    if request.GET.get("deep") not in (None, "", "0"):
        return _deep(request)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def _reader(request: HttpRequest) -> str | None:
    """Who reads the deep report, as the audit log names them; None if nobody may."""
    token = settings.CREDITPLUS_HEALTH_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        ok = hmac.compare_digest(header[7:].strip().encode(), token.encode())
        return "monitor:health-token" if ok else None
    user = request.user
    from creditplus.operations.doctor import READ_PERMISSION

    if user.is_authenticated and not user.is_system and user.has_perm(READ_PERMISSION):
        return user.get_username()
    return None


def _deep(request: HttpRequest) -> JsonResponse:
    from creditplus.operations import doctor

    reader = _reader(request)
    if reader is None:
        return JsonResponse(
            {
                "code": "health_forbidden",
                "message": "深度健康检查仅供平台管理员或持有监控令牌的系统使用",
            },
            status=403,
        )
    result = doctor.report()
    with audit.audit_context(actor_name=reader):
        audit.record("health.view", object_type="health", after={"status": result.status.value})
    return JsonResponse(result.as_dict(), status=503 if result.status == "error" else 200)
