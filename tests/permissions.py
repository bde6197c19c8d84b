"""Permission matrix: declare a protected endpoint once, get its security tests for free.

Each :class:`Protected` names a URL (built per test from the objects of ``setup``), the
persona that may use it, and what everyone else must get: anonymous users are sent to the
login page (pages) or get 401 (API); signed-in users without the permission get 403; a
permitted user of another department gets 404 for department-owned objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import client_for


@dataclass
class Protected:
    name: str
    method: str
    url: Callable[[dict[str, Any]], str]
    allowed: str  # persona fixture name that may use it
    denied: list[str] = field(default_factory=list)  # signed-in personas that get 403
    other_department: str | None = None  # persona that gets 404 (or filtered empty lists)
    api: bool = False
    data: dict[str, Any] | None = None
    ok_status: tuple[int, ...] = (200, 302)


def request(client, case: Protected, url: str):
    if case.method == "GET":
        return client.get(url)
    if case.api:
        import json

        return client.post(url, data=json.dumps(case.data or {}), content_type="application/json")
    return client.post(url, data=case.data or {})


def check(case: Protected, personas: dict[str, Any], objects: dict[str, Any]) -> None:
    """Assert the matrix for one endpoint."""
    url = case.url(objects)
    anonymous = request(client_for(None), case, url)
    if case.api:
        assert anonymous.status_code == 401, (case.name, anonymous.status_code)
    else:
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"], case.name
    for persona in case.denied:
        response = request(client_for(personas[persona]), case, url)
        assert response.status_code == 403, (case.name, persona, response.status_code)
    if case.other_department:
        response = request(client_for(personas[case.other_department]), case, url)
        assert response.status_code == 404, (case.name, case.other_department, response.status_code)
    response = request(client_for(personas[case.allowed]), case, url)
    assert response.status_code in case.ok_status, (case.name, case.allowed, response.status_code)
