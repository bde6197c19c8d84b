"""The OpenAPI document is truthful: schemathesis drives every operation, anonymously and with
a department's token, and finds no server error and no answer the document does not describe
(status, content type, body schema). Bounded examples, deterministic, in the normal suite.

The errors each route documents come from ``creditplus.api.error_statuses``; when a route
answers a status it does not cover, this test names it: add the status there or in
``EXTRA_STATUSES``.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from ninja import Schema
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from creditplus.accounts import services as accounts
from creditplus.api import api

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Examples per operation and caller (56 operations x 2 callers): about a minute per database.
EXAMPLES = 8


def _schema() -> schemathesis.BaseSchema:
    """The document as clients read it (JSON), calling the app in-process: the calls run in
    the test's transaction, on the test database."""
    document = json.loads(json.dumps(api.get_openapi_schema()))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = WSGIHandler()
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        deterministic=True,
        allow_x00=True,
        database="none",
    )
    return loaded


schema = _schema()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Calls go through Django's WSGI handler, which closes the database connection after
    each request; the test's transaction lives on it. Django's test client detaches the same
    handlers."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def department_token(reference) -> str:
    return accounts.issue_token("SCJG", "schemathesis").key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_anonymous(case, reference):
    case.call_and_validate(checks=CHECKS, headers={"Host": "localhost"})


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_with_a_department_token(case, department_token):
    case.call_and_validate(
        checks=CHECKS, headers={"Host": "localhost", "Authorization": f"Bearer {department_token}"}
    )


def _schemas(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_schemas(sub)]
    return found


def test_schema_names_are_unique():
    """ninja names each component after its class: two classes of one name silently share one
    entry (as two ``DepartmentOut`` did: /departments was documented with the wrong one)."""
    by_name: dict[str, set[str]] = {}
    for cls in _schemas(Schema):
        if cls.__module__.startswith("creditplus."):
            by_name.setdefault(cls.__name__, set()).add(cls.__module__)
    assert {n: m for n, m in by_name.items() if len(m) > 1} == {}


def test_departments_are_documented_with_their_own_schema():
    document = api.get_openapi_schema()
    ref = document["paths"]["/api/v1/departments"]["get"]["responses"][200]["content"][
        "application/json"
    ]["schema"]["items"]["$ref"]
    fields = document["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"code", "name", "full_name", "uscc", "kind"} <= set(fields)


def test_every_operation_documents_its_error_statuses():
    document = api.get_openapi_schema()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            statuses = set(operation["responses"])
            assert {400, 500} <= statuses, (method, path)
            if operation.get("security"):
                assert {401, 403} <= statuses, (method, path)
            if "{" in path:
                assert 404 in statuses, (method, path)
    search = document["paths"]["/api/v1/subjects"]["get"]["responses"]
    assert search[429]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
