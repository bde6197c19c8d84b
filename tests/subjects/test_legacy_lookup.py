"""The registry's look-up of old identifiers (organisation code inside the USCC, registration
number recorded by the registration item), on both databases."""

from __future__ import annotations

import pytest
from django.db import connection

from creditplus.identifiers import uscc_check_char
from creditplus.subjects.models import Subject
from creditplus.subjects.services import find_by_legacy_identifiers, org_code_expr
from tests.factories import make_organisations

pytestmark = pytest.mark.django_db


def uscc(first8: str, org9: str) -> str:
    return first8 + org9 + uscc_check_char(first8 + org9)


def test_organisation_codes_and_registration_numbers_find_their_subjects():
    a = Subject.objects.create(kind="legal", uscc=uscc("91310115", "MA1K3BTP2"), name="甲")
    b1 = Subject.objects.create(kind="legal", uscc=uscc("91310000", "600037341"), name="乙")
    b2 = Subject.objects.create(kind="legal", uscc=uscc("91310101", "600037341"), name="丙")
    Subject.objects.filter(pk=a.pk).update(reg_no="310115000123456")
    by_org, by_reg = find_by_legacy_identifiers(
        ["MA1K3BTP2", "600037341", "123456788"], ["310115000123456", "310115000000000"]
    )
    assert by_org == {"MA1K3BTP2": [a.uscc], "600037341": sorted([b1.uscc, b2.uscc])}
    assert by_reg == {"310115000123456": [a.uscc]}
    assert find_by_legacy_identifiers([], []) == ({}, {})


def test_organisation_code_lookup_uses_its_index():
    make_organisations(3000)  # enough rows (with statistics) for an index to pay
    expr = org_code_expr()
    sql = f"SELECT {expr}, uscc FROM subjects_subject WHERE {expr} IN (%s, %s)"
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE subjects_subject")
        cursor.execute(f"{explain} {sql}", ["MA1K3BTP2", "600037341"])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "subjects_uscc_org_code" in plan, plan
