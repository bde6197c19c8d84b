"""Standing and on-application measures, the matter hierarchy and the one rule that decides
which measures apply to (subject, matter): the reference data, the check's answer and the
tasks agree with each other, and the loader refuses reference files that would make them
disagree."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from creditplus.accounts import services as accounts_services
from creditplus.accounts.choices import Role
from creditplus.catalog import services as catalog_services
from creditplus.catalog.models import Matter
from creditplus.errors import DomainError
from creditplus.lists.models import ListEntry, ListType
from creditplus.sanctions import checks, services
from creditplus.sanctions.choices import IN_FORCE
from creditplus.sanctions.models import Measure, SanctionTask
from tests.factories import make_user
from tests.sanctions.test_checks import member_of

pytestmark = pytest.mark.django_db

REFERENCE = Path(accounts_services.REFERENCE_DIR)


def _yaml(name: str) -> dict:
    return yaml.safe_load((REFERENCE / name).read_text(encoding="utf-8"))


def test_all_67_measures_are_classified_in_the_file_and_the_database(reference):
    measures = _yaml("measures.yaml")["measures"]
    assert len(measures) == 67
    assert {m["trigger"] for m in measures} == {"standing", "on_application"}
    stored = dict(Measure.objects.values_list("code", "trigger"))
    assert stored == {m["code"]: m["trigger"] for m in measures}
    # An on-application measure names the matters whose check triggers it.
    assert all(m["matters"] for m in measures if m["trigger"] == "on_application")
    # The examples.
    assert stored["CJ-41"] == stored["CJ-21"] == "standing"  # inspections, appointments
    assert stored["CJ-06"] == stored["CJ-05"] == stored["CJ-01"] == "on_application"


def test_the_specific_licences_inherit_the_generic_licensing_matter(reference):
    xzxk = Matter.objects.get(code="XZXK")
    for code in ("SPXK", "AQXK", "XWPX", "YLJG"):
        matter = Matter.objects.get(code=code)
        assert matter.parent == xzxk
        assert set(Measure.objects.covering(xzxk)) <= set(Measure.objects.covering(matter))
    assert "CJ-06" in {m.code for m in Measure.objects.covering(Matter.objects.get(code="SPXK"))}


def _catalog_rule() -> tuple[dict[str, set[str]], dict[tuple[str, str], set[str]]]:
    """The rule computed from the two files alone (no database): per matter the list types
    it checks (those of the active measures that cover it or its parent), and per (matter,
    list type) the measures in force that apply."""
    parents = {m["code"]: m.get("parent") for m in _yaml("matters.yaml")["matters"]}
    required: dict[str, set[str]] = {code: set() for code in parents}
    applies: dict[tuple[str, str], set[str]] = {}
    for measure in _yaml("measures.yaml")["measures"]:
        for code, parent in parents.items():
            if not {code, parent} & set(measure["matters"]):
                continue
            required[code] |= set(measure["list_types"])
            if measure["status"] in IN_FORCE:
                for list_type in measure["list_types"]:
                    applies.setdefault((code, list_type), set()).add(measure["code"])
    return required, applies


def test_for_every_matter_and_list_type_the_check_agrees_with_the_measure_catalog(
    published, procurement_officer
):
    """Property over the whole reference data (an exhaustive loop: 24 matters × 10 list
    types): a subject on every list is checked for every matter; each list's "须核查" and the
    measures in the answer are those the catalog files give. In particular never "须核查：否"
    while a measure in force covers that matter and list."""
    subject = published.subject
    for list_type in ListType.objects.exclude(code="YZSX"):
        member_of(published, subject, list_type.code)
    list_types = set(ListType.objects.values_list("code", flat=True))
    assert ListEntry.objects.members().filter(subject=subject).count() == len(list_types)
    required, applies = _catalog_rule()
    matters = list(Matter.objects.filter(is_active=True).values_list("code", flat=True))
    assert len(matters) == 24
    for matter in matters:
        answer = checks.check_subject(procurement_officer, subject.uscc, matter, "核查").answer
        by_list = {x["list_type"]: x["required_by_matter"] for x in answer["lists"]}
        assert set(by_list) == list_types, matter
        for list_type in list_types:
            in_force = applies.get((matter, list_type), set())
            assert by_list[list_type] == (list_type in required[matter]), (matter, list_type)
            assert not in_force or by_list[list_type], (matter, list_type)
        expected = set().union(*(applies.get((matter, t), set()) for t in list_types))
        assert {m["code"] for m in answer["measures"]} == expected, matter


def test_a_food_licence_check_on_a_blacklisted_subject_returns_cj06_and_creates_its_task(
    published, officer
):
    """区市场监管局 checks SPXK (食品生产经营许可) for a subject on 严重失信主体名单 and on
    经营异常名录: YZSX must be checked, CJ-06 (inherited from XZXK) applies and becomes the
    department's task; the report on the check is its feedback."""
    member_of(published, published.subject, "JYYC")
    check = checks.check_subject(officer, published.subject.uscc, "SPXK", "食品经营许可审查")
    lists = {x["list_type"]: x["required_by_matter"] for x in check.answer["lists"]}
    assert lists == {"YZSX": True, "JYYC": False}
    codes = [m["code"] for m in check.answer["measures"]]
    assert "CJ-06" in codes and "CJ-05" not in codes  # 告知承诺 is matter GZCN's
    task = SanctionTask.objects.get(credit_check=check, measure__code="CJ-06")
    assert (task.department.code, task.origin, task.status) == ("SCJG", "check", "pending")
    assert task.matter.code == "SPXK" and task.case.entry == published
    checks.report_use(check, officer, outcome="applied", document_no="沪浦市监许〔2026〕9号")
    task.refresh_from_db()
    assert task.status == "applied" and task.document_no == "沪浦市监许〔2026〕9号"


def test_a_closed_case_reopens_for_a_check_triggered_task(published, procurement_officer):
    case = published.cases.get()
    for task in SanctionTask.objects.filter(case=case).select_related("department"):
        user = make_user(Role.DEPT_OFFICER, task.department.code, username=f"u{task.pk}")
        services.give_feedback(task, user, outcome="not_applicable", note="本期无此情形")
    case.refresh_from_db()
    assert case.status == "closed"
    checks.check_subject(procurement_officer, published.subject.uscc, "ZFCG", "资格审查")
    case.refresh_from_db()
    assert case.status == "open" and case.tasks.filter(status="pending").count() == 1


# --------------------------------------------------------------------------- loading


@pytest.fixture
def reference_copy(reference, tmp_path, monkeypatch):
    """A copy of the reference files that a test edits, read by ``load_reference``."""
    target = tmp_path / "reference_data"
    shutil.copytree(REFERENCE, target)
    monkeypatch.setattr(accounts_services, "REFERENCE_DIR", target)
    monkeypatch.setattr(catalog_services, "REFERENCE_DIR", target)
    return target


def _edit(directory: Path, name: str, change) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    data["version"] += 1
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _measure(data: dict, code: str) -> dict:
    return next(m for m in data["measures"] if m["code"] == code)


def _matter(data: dict, code: str) -> dict:
    return next(m for m in data["matters"] if m["code"] == code)


@pytest.mark.parametrize(
    ("name", "change", "code"),
    [
        ("measures.yaml", lambda d: _measure(d, "CJ-01").update(matters=[]), "reference_invalid"),
        ("measures.yaml", lambda d: _measure(d, "CJ-01").pop("trigger"), "reference_invalid"),
        (
            "measures.yaml",
            lambda d: _measure(d, "CJ-01").update(automatic="平台自动"),
            "reference_invalid",
        ),
        (
            "matters.yaml",
            lambda d: _matter(d, "ZFCG").update(checks={"lists": ["YZSX"]}),
            "reference_lists_derived",
        ),
        ("matters.yaml", lambda d: _matter(d, "SPXK").update(parent="NOPE"), "reference_invalid"),
        (
            "matters.yaml",
            lambda d: _matter(d, "XZXK").update(parent="SPXK"),
            "reference_matter_depth",
        ),
    ],
)
def test_the_loader_refuses_files_that_would_make_checks_and_catalog_disagree(
    reference_copy, name, change, code
):
    _edit(reference_copy, name, change)
    loader = services.load_measures if name == "measures.yaml" else catalog_services.load_matters
    with pytest.raises(DomainError) as excinfo:
        loader()
    assert excinfo.value.code == code and excinfo.value.message
    # Through the command, the message reaches the operator.
    with pytest.raises(SystemExit):
        call_command("load_reference", stdout=StringIO(), stderr=StringIO())


def test_reclassifying_a_measure_reaches_the_database_with_the_next_version(reference_copy):
    def change(data: dict) -> None:
        _measure(data, "CJ-42").update(trigger="on_application", matters=["XZXK"])

    _edit(reference_copy, "measures.yaml", change)
    call_command("load_reference", stdout=StringIO())
    assert Measure.objects.get(code="CJ-42").trigger == "on_application"
