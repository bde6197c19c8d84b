"""The permission matrix: every protected route, for every role, generated from the URL conf.

Every back-office and enterprise page and every authenticated API operation must have a row
in ``MATRIX`` saying which of the roles below may use it; everyone else must be refused
(pages: the login page for anonymous users, 403 or 404 for signed-in ones; API: 401 for
anonymous callers, 403 or 404 for the others). A route without a row fails
``test_every_protected_route_has_a_row`` with the line to add. The department scope of
objects (another department's officer gets 404 for a real object) is tested per app with
tests/permissions.py; here the sample URLs name objects that do not exist, so a permitted
role may get 404 — what matters is that it is not refused for its role.

To add a route: one line in MATRIX, ``"<url name or METHOD /api/path>": {roles allowed}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from creditplus.accounts.choices import Role
from creditplus.subjects.models import SubjectAccount
from tests.conftest import client_for
from tests.factories import make_organisations, make_user
from tests.test_routes import PUBLIC_API, PUBLIC_PAGES, api_operations, concrete, page_routes

pytestmark = pytest.mark.django_db

# The roles of the matrix (anonymous is always refused on a protected route).
ROLES = ("other_officer", "enterprise", "bank", "inspector", "window_clerk")
OFFICER = frozenset({"other_officer"})
GOV = frozenset({"other_officer", "inspector", "window_clerk"})
STAFF = frozenset({"other_officer", "inspector", "window_clerk", "bank"})
NONE: frozenset[str] = frozenset()
ENTERPRISE = frozenset({"enterprise"})

# Query strings the sample URL needs to pass ninja's validation (then the view checks roles).
SAMPLE_QUERY = {
    "GET /api/v1/subjects/{code}/supervision": "?field=SCJG",
    "GET /api/v1/grants/report": "?subject=91310115MA1K3BTP2B",
}
# Bodies the sample API writes need to pass ninja's validation (then the view checks roles).
USCC = "91310115MA1K3BTP2B"
SAMPLE_BODY: dict[str, dict[str, Any]] = {
    "POST /api/v1/batches": {"item": "CF", "rows": [{"CF_WSH": "x"}]},
    "POST /api/v1/records/{record_id}/retract": {"reason": "核查"},
    "POST /api/v1/records/{record_id}/correct": {"reason": "核查", "changes": {"BZ": "x"}},
    "POST /api/v1/checks": {"subject": USCC, "matter": "ZFCG", "purpose": "核查"},
    "POST /api/v1/checks/bulk": {"subjects": [USCC], "matter": "ZFCG", "purpose": "核查"},
    "POST /api/v1/checks/{check_id}/report": {"outcome": "applied"},
    "POST /api/v1/tasks/{task_id}/feedback": {"outcome": "applied"},
    "POST /api/v1/watches": {"subjects": [USCC]},
    "POST /api/v1/commitments": {"template": "X", "subject": USCC, "reason": "x", "signer": "x"},
    "POST /api/v1/commitments/{number}/verification": {"outcome": "fulfilled"},
    "POST /api/v1/inspections/plans": {"field": "SCJG", "title": "x"},
    "POST /api/v1/inspections/{inspection_id}/result": {"result": "passed"},
    "POST /api/v1/inspections/{inspection_id}/review": {"approve": True},
    "POST /api/v1/permit-notices/{notice_id}/follow-up": {"note": "x"},
    "POST /api/v1/integrity/periods/{code}/assessor-scores": {
        "department": "SW",
        "indicator": "X",
        "points": 1,
        "evidence": "x",
    },
    "POST /api/v1/assessments": {"answers": {}},
    "POST /api/v1/grants": {"institution": "X", "purpose": "x", "valid_until": "2030-01-01"},
}

# Route → the roles that may use it (the others must be refused). Sample URLs name objects
# that do not exist: routes of one object show NONE here, and their department scope is tested
# per app with real objects (tests/permissions.py).
MATRIX: dict[str, frozenset[str]] = {
    "GET /api/v1/alerts": OFFICER,
    "GET /api/v1/assessments": frozenset({"bank", "enterprise"}),
    "GET /api/v1/assessments/conflicts": ENTERPRISE,
    "GET /api/v1/assessments/{assessment_id}": NONE,
    "GET /api/v1/audit/events": OFFICER,
    "GET /api/v1/batches": OFFICER,
    "GET /api/v1/batches/{batch_id}": NONE,
    "GET /api/v1/jobs/{job_id}": NONE,
    "POST /api/v1/inspections/{inspection_id}/review": NONE,
    "GET /api/v1/batches/{batch_id}/errors": NONE,
    "GET /api/v1/batches/{batch_id}/rejected.csv": NONE,
    "GET /api/v1/commitments": OFFICER,
    "GET /api/v1/evaluation/distribution": frozenset({"inspector", "other_officer"}),
    "GET /api/v1/grants": ENTERPRISE,
    "GET /api/v1/grants/report": NONE,
    "GET /api/v1/grants/{grant_id}/accesses": NONE,
    "GET /api/v1/inspections": frozenset({"inspector", "other_officer"}),
    "GET /api/v1/inspections/plans/{number}": NONE,
    "GET /api/v1/inspections/statistics": frozenset({"inspector", "other_officer"}),
    "GET /api/v1/integrity/periods": OFFICER,
    "GET /api/v1/integrity/periods/{code}/ranking": NONE,
    "GET /api/v1/integrity/periods/{code}/scores": NONE,
    "GET /api/v1/me": frozenset(
        {"bank", "enterprise", "inspector", "other_officer", "window_clerk"}
    ),
    "GET /api/v1/permit-notices": OFFICER,
    "GET /api/v1/quality": OFFICER,
    "GET /api/v1/subjects/{code}/lists": NONE,
    "GET /api/v1/subjects/{code}/score": NONE,
    "GET /api/v1/subjects/{code}/supervision": NONE,
    "GET /api/v1/tasks": OFFICER,
    "GET /api/v1/tokens": OFFICER,
    "POST /api/v1/assessments": NONE,
    "POST /api/v1/batches": OFFICER,
    "POST /api/v1/batches/file": NONE,
    "POST /api/v1/checks": OFFICER,
    "POST /api/v1/checks/bulk": OFFICER,
    "POST /api/v1/checks/{check_id}/report": NONE,
    "POST /api/v1/commitments": NONE,
    "POST /api/v1/commitments/{number}/verification": NONE,
    "POST /api/v1/grants": NONE,
    "POST /api/v1/grants/{grant_id}/revoke": NONE,
    "POST /api/v1/inspections/plans": OFFICER,
    "POST /api/v1/inspections/{inspection_id}/result": NONE,
    "POST /api/v1/integrity/periods/{code}/assessor-scores": NONE,
    "POST /api/v1/permit-notices/{notice_id}/follow-up": NONE,
    "POST /api/v1/records/{record_id}/correct": NONE,
    "POST /api/v1/records/{record_id}/retract": NONE,
    "POST /api/v1/tasks/{task_id}/feedback": NONE,
    "POST /api/v1/tokens/{token_id}/revoke": NONE,
    "POST /api/v1/watches": OFFICER,
    "accounts:audit": OFFICER,
    "accounts:departments": GOV,
    "accounts:home": STAFF,
    "accounts:notifications": STAFF,
    "accounts:revoke_token": NONE,
    "accounts:tokens": OFFICER,
    "assessments:detail": NONE,
    "assessments:evidence": NONE,
    "assessments:finance": NONE,
    "assessments:finance_report": NONE,
    "assessments:finance_report_pdf": NONE,
    "assessments:index": frozenset({"bank"}),
    "assessments:matchmaking": frozenset({"bank"}),
    "assessments:new": NONE,
    "assessments_portal:assessment": NONE,
    "assessments_portal:evidence": NONE,
    "assessments_portal:financing": ENTERPRISE,
    "assessments_portal:grant_new": ENTERPRISE,
    "assessments_portal:grant_revoke": NONE,
    "assessments_portal:index": ENTERPRISE,
    "assessments_portal:report": NONE,
    "assessments_portal:report_new": ENTERPRISE,
    "assessments_portal:report_pdf": NONE,
    "assessments_portal:self": ENTERPRISE,
    "cockpit:backoffice_home": STAFF,
    "cockpit:home": NONE,
    "evaluation:activate": NONE,
    "evaluation:dashboard": frozenset({"inspector", "other_officer"}),
    "evaluation:model": NONE,
    "evaluation:models": frozenset({"inspector", "other_officer"}),
    "evaluation:profile": NONE,
    "integrity:assess": NONE,
    "integrity:close": NONE,
    "integrity:compute": NONE,
    "integrity:department": NONE,
    "integrity:evidence": NONE,
    "integrity:index": OFFICER,
    "integrity:period": NONE,
    "integrity:period_new": NONE,
    "lists:attachment": NONE,
    "lists:entries": OFFICER,
    "lists:entry": NONE,
    "lists:entry_action": NONE,
    "lists:objection": NONE,
    "lists:objections": OFFICER,
    "lists:propose": OFFICER,
    "lists:restoration": NONE,
    "lists:restoration_notice": NONE,
    "lists:restorations": OFFICER,
    "lists:types": OFFICER,
    "portal:my": ENTERPRISE,
    # Every signed-in user changes their own password there.
    "portal:password_change": frozenset(ROLES),
    "portal:my_commitment_new": ENTERPRISE,
    "portal:my_entry": NONE,
    "portal:my_entry_notice": NONE,
    "portal:objection_detail": NONE,
    "portal:objection_new": NONE,
    "portal:restoration_detail": NONE,
    "portal:restoration_new": NONE,
    "records:batch": NONE,
    "records:job": NONE,
    "records:job_decide": NONE,
    # The platform administrator's health report only.
    "operations:health": NONE,
    "records:batches": OFFICER,
    "records:quality": OFFICER,
    "records:rejected_csv": NONE,
    "records:upload": OFFICER,
    "reports:authorization": NONE,
    "reports:authorization_file": NONE,
    "reports:detail": NONE,
    "reports:enterprise_new": frozenset({"window_clerk"}),
    "reports:index": frozenset({"window_clerk"}),
    "reports:pdf": NONE,
    "reports:personal_new": frozenset({"window_clerk"}),
    "reports_portal:my_report": NONE,
    "reports_portal:my_report_pdf": NONE,
    "reports_portal:my_reports": ENTERPRISE,
    "sanctions:alerts": OFFICER,
    "sanctions:case": NONE,
    "sanctions:cases": OFFICER,
    "sanctions:check": frozenset({"other_officer", "window_clerk"}),
    "sanctions:check_batch": NONE,
    "sanctions:check_detail": NONE,
    "sanctions:checks": frozenset({"other_officer", "window_clerk"}),
    "sanctions:dashboard": frozenset({"other_officer", "window_clerk"}),
    "sanctions:initiate": NONE,
    "sanctions:measure": NONE,
    "sanctions:measures": frozenset({"other_officer", "window_clerk"}),
    "sanctions:overdue": OFFICER,
    "sanctions:task": NONE,
    "sanctions:tasks": OFFICER,
    "sanctions:tasks_feedback": OFFICER,
    "sanctions:unwatch": NONE,
    "sanctions:watches": OFFICER,
    "sanctions:webhook": OFFICER,
    "subjects:bind_account": frozenset({"window_clerk"}),
    "supervision:commitment": NONE,
    "supervision:commitment_new": frozenset({"other_officer", "window_clerk"}),
    "supervision:commitments": OFFICER,
    "supervision:dashboard": frozenset({"inspector", "other_officer"}),
    "supervision:inspection": NONE,
    "supervision:inspections": frozenset({"inspector", "other_officer"}),
    "supervision:notice_follow_up": NONE,
    "supervision:notices": OFFICER,
    "supervision:plan": NONE,
    "supervision:plan_new": OFFICER,
    "supervision:plans": frozenset({"inspector", "other_officer"}),
}

# API writes that check their input before the caller's role (ninja's validation of a file
# upload; domain lookups inside the service for the others), so a sample call cannot reach
# the role check: the matrix checks anonymous callers (401) only; their roles are tested in
# the apps' API tests.
VALIDATED_FIRST = {
    "POST /api/v1/batches/file",
    "POST /api/v1/grants",
    "POST /api/v1/assessments",
    "POST /api/v1/commitments",
}


def protected_routes() -> dict[str, tuple[str, str, bool]]:
    """Key → (method, sample URL, is API) of every protected route."""
    routes: dict[str, tuple[str, str, bool]] = {}
    for name, route in page_routes():
        if name not in PUBLIC_PAGES:
            routes[name] = ("GET", concrete(route), False)
    for method, path, secured in api_operations():
        if secured and (method, path) not in PUBLIC_API:
            url = re.sub(r"\{\w+\}", "1", path) + SAMPLE_QUERY.get(f"{method} {path}", "")
            routes[f"{method} {path}"] = (method, url, True)
    return routes


@pytest.fixture
def personas(other_officer, bank_user, window_clerk, reference) -> dict[str, Any]:
    enterprise = make_user(Role.ENTERPRISE, username="matrix_enterprise")
    SubjectAccount.objects.create(
        user=enterprise,
        subject=make_organisations(1)[0],
        verified_by="营业执照核验",
        bound_by="window",
    )
    return {
        "other_officer": other_officer,
        "enterprise": enterprise,
        "bank": bank_user,
        "inspector": make_user(Role.INSPECTOR, "SW", username="matrix_inspector"),
        "window_clerk": window_clerk,
    }


def outcome(client: Client, key: str, method: str, url: str, api: bool) -> str:
    """``refused`` (login page, 401, 403, 404), ``invalid`` (an API call whose sample input
    did not validate: the role was never checked), ``allowed`` (anything else but a 500)."""
    # Each call in a savepoint rolled back: a write never creates the object a later sample
    # URL names.
    with transaction.atomic():
        if api:
            body = json.dumps(SAMPLE_BODY.get(key, {}))
            response = client.generic(method, url, data=body, content_type="application/json")
        else:
            response = client.get(url)
            if response.status_code == 405:
                response = client.post(url, {})
        transaction.set_rollback(True)
    status = response.status_code
    if status == 422 and api:
        return "invalid"  # ninja validates the input before the view checks the role
    if status >= 500:
        return f"error {status}"
    if status in (401, 403, 404) or (status == 302 and "/login/" in response["Location"]):
        return "refused"
    return "allowed"


def test_every_protected_route_has_a_row():
    routes = protected_routes()
    missing = sorted(set(routes) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(routes))
    assert not missing, (
        "Protected routes without a row in MATRIX (tests/test_permission_matrix.py); add, with "
        "the roles that may use it:\n" + "\n".join(f'    "{k}": NONE,' for k in missing)
    )
    assert not stale, f"MATRIX rows of routes that no longer exist: {stale}"
    assert VALIDATED_FIRST <= set(MATRIX)


def test_anonymous_users_are_refused_everywhere(reference):
    anonymous = Client()
    wrong = {}
    for key, (method, url, api) in protected_routes().items():
        result = outcome(anonymous, key, method, url, api)
        if result != "refused":
            wrong[key] = result
    assert wrong == {}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_where_the_matrix_says(personas, role):
    client = client_for(personas[role])
    wrong = {}
    for key, (method, url, api) in protected_routes().items():
        if key not in MATRIX:
            continue  # reported by test_every_protected_route_has_a_row
        if key in VALIDATED_FIRST:
            continue
        result = outcome(client, key, method, url, api)
        expected = "allowed" if role in MATRIX[key] else "refused"
        if role in MATRIX[key] and result == "refused" and url.count("/1") + url.count("/X"):
            continue  # a permitted role may get 404 for the sample object
        if result != expected:
            wrong[key] = result
    assert wrong == {}, f"{role}: route → outcome where MATRIX says otherwise"
