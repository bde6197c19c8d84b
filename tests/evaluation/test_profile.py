"""The credit profile (信用画像) service: tags computed from events, lists, registration and
relations; related persons shown masked with their other organisations' grades; the
timeline of records and list steps; a subject not evaluated yet.

The helpers here build the scenario that the page tests use too: a blacklisted company (a
serious penalty, published on 严重失信主体名单), a company sharing its legal representative,
and a well-behaved company rated 纳税A级.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog.choices import SubjectKind
from creditplus.catalog.models import CatalogItem
from creditplus.errors import NotFound
from creditplus.evaluation import profile, services
from creditplus.evaluation.models import EvaluationModel
from creditplus.lists import services as lists
from creditplus.lists.models import ListEntry
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.subjects.models import RelationRole, Subject, SubjectRelation
from creditplus.subjects.pii import encrypt, lookup_hash, mask_id_number

pytestmark = pytest.mark.django_db

RELATED_USCC = "9144030071526726XG"
CLEAN_USCC = "91310115MA1K3BTP2B"
PERSON_ID = "360426199101010071"
PERSON_NAME = "欧阳明远"  # masked: 欧阳**


# --------------------------------------------------------------------------- scenario


def make_organisation(uscc: str, name: str, **fields) -> Subject:
    """A registered company with the registration facts the profile shows."""
    defaults = {
        "legal_rep_name": "",
        "enterprise_type": "有限责任公司",
        "industry": "批发和零售业",
        "address": "上海市浦东新区张江路1号",
        "registered_capital": 500,
        "established_on": date(2012, 3, 15),
        "status": "存续",
        "registered": True,
    }
    return Subject.objects.create(
        kind=SubjectKind.LEGAL, uscc=uscc, name=name, **(defaults | fields)
    )


def make_person(id_number: str = PERSON_ID, name: str = PERSON_NAME) -> Subject:
    return Subject.objects.create(
        kind=SubjectKind.PERSON,
        id_hash=lookup_hash(id_number),
        id_cipher=encrypt(id_number),
        id_masked=mask_id_number(id_number),
        name=name,
    )


def relate(organisation: Subject, person: Subject, role: str = RelationRole.LEGAL_REP) -> None:
    SubjectRelation.objects.create(organisation=organisation, person=person, role=role)


def publish(entry: ListEntry, officer) -> ListEntry:
    """Notice → decision after the response period → publication (as the lists tests do)."""
    lists.send_notice(entry, officer, today=timezone.localdate() - timedelta(days=30))
    entry.refresh_from_db()
    lists.decide_entry(
        entry,
        officer,
        include=True,
        decision_no="沪浦市监信〔2026〕8号",
        today=entry.response_due + timedelta(days=1),
    )
    return lists.publish_entry(entry, officer)


def ingest_tax_grade_a(subject: Subject, published: date | None = None) -> None:
    """区税务局 publishes the subject as an A-grade taxpayer (behavior rule NSXY-A)."""
    published = published or timezone.localdate() - timedelta(days=60)
    row = {
        "NSXY_NSRMC": subject.name,
        "NSXY_ZTLB": "法人及非法人组织",
        "NSXY_NSRSBH": subject.uscc,
        "NSXY_PJND": str(published.year - 1),
        "NSXY_XYJB": "A",
        "NSXY_FBRQ": published.isoformat(),
        "NSXY_YXQZ": (published + timedelta(days=365)).isoformat(),
        "NSXY_SWJG": "国家税务总局上海市浦东新区税务局",
    }
    batch = ingest_rows(
        [row],
        IngestOptions(
            item=CatalogItem.objects.get(code="NSXY_A"),
            department=Department.objects.get(code="SW"),
        ),
    )
    assert batch.accepted == 1, list(batch.errors.values_list("message", flat=True))
    consumers.run("lists")


def build_scenario(proposal: ListEntry, officer) -> dict[str, Subject]:
    """The blacklisted company (``proposal``, published), a company sharing its legal
    representative (a natural person), and a clean A-grade taxpayer; all evaluated under the
    active model."""
    blacklisted = proposal.subject
    publish(proposal, officer)
    related = make_organisation(RELATED_USCC, "上海关联贸易有限公司", legal_rep_name="")
    clean = make_organisation(CLEAN_USCC, "上海守信科技有限公司", established_on=date(2010, 1, 1))
    person = make_person()
    relate(blacklisted, person)
    relate(related, person)
    ingest_tax_grade_a(clean)
    services.evaluate(mode="all")
    return {"blacklisted": blacklisted, "related": related, "clean": clean, "person": person}


@pytest.fixture
def scenario(proposal, officer):
    return build_scenario(proposal, officer)


def labels(tag_list) -> set[str]:
    return {t["label"] for t in tag_list}


# --------------------------------------------------------------------------- tests


def test_a_blacklisted_company_is_tagged_with_its_list_and_graded_d(scenario):
    subject = scenario["blacklisted"]
    data = profile.build(subject)
    assert data["score"].grade == "D" and data["grade_label"] == "失信"
    tags = data["tags"]
    assert {"label": "严重失信主体名单", "kind": "bad"} in tags
    assert "关联失信企业" not in labels(tags)  # its own membership is not a relation
    assert any(r["points"] < 0 and "扣" in r["text"] for r in data["explanation"]["reasons"])
    assert "BLACKLIST" in [o["code"] for o in data["explanation"]["overrides"]]


def test_sharing_a_legal_representative_with_a_blacklisted_company_is_a_risk_tag(scenario):
    related = scenario["related"]
    score = services.current_score(related)
    assert {"label": "关联失信企业", "kind": "bad"} in profile.tags(related, score)
    reasons = services.explain(score)["reasons"]
    assert any(r["indicator"] == "GL_BLACK" and r["points"] == -60 for r in reasons)
    # The clean company has no relation at all.
    assert "关联失信企业" not in labels(profile.tags(scenario["clean"], None))


def test_rule_tags_and_years_established_come_from_the_data(scenario):
    clean = scenario["clean"]
    score = services.current_score(clean)
    tags = profile.tags(clean, score)
    assert {"label": "纳税A级", "kind": "good"} in tags
    years = profile._years_between(date(2010, 1, 1), score.as_of)
    assert {"label": f"成立满{years}年", "kind": "info"} in tags
    assert not [t for t in tags if t["kind"] == "bad"]
    # A tag follows the event: once restored (not in force), it is gone.
    clean.events.update(status="restored")
    assert "纳税A级" not in labels(profile.tags(clean, score))


def test_every_tag_rule_is_one_entry_of_one_table():
    patterns = [pattern for pattern, _label, _kind in profile.RULE_TAGS]
    assert len(patterns) == len(set(patterns)) == 7
    assert {kind for _p, _l, kind in profile.RULE_TAGS} <= {"good", "bad", "info"}


def test_related_persons_are_masked_and_list_their_other_organisations(scenario):
    related = scenario["related"]
    people = profile.related_persons(related, EvaluationModel.objects.active())
    assert len(people) == 1
    person = people[0]
    assert person["name"] == "欧阳**" and person["id_masked"] == "3604**********0071"
    assert person["roles"] == ["法定代表人"]
    [other] = person["organisations"]
    assert other["subject"] == scenario["blacklisted"]
    assert other["grade"] == "D" and other["blacklisted"]
    assert [x["name"] for x in other["lists"]] == ["严重失信主体名单"]


def test_timeline_holds_records_and_list_steps_newest_first(scenario):
    items = profile.timeline(scenario["blacklisted"])
    kinds = {i["kind"] for i in items}
    assert kinds == {"record", "list"}
    assert [i["date"] for i in items] == sorted((i["date"] for i in items), reverse=True)
    [record] = [i for i in items if i["kind"] == "record"]
    assert record["title"] == "行政处罚" and record["behaviors"][0]["kind"] == "bad"
    assert any("公示" in i["detail"] for i in items if i["kind"] == "list")
    assert len(profile.timeline(scenario["blacklisted"], limit=1)) == 2  # one of each


def test_a_subject_not_evaluated_yet_has_a_profile_without_score(reference):
    subject = make_organisation("91110000600037341L", "上海新设有限公司", established_on=None)
    data = profile.build(subject)
    assert data["score"] is None and data["explanation"] is None and data["history"] == []
    assert data["tags"] == [] and data["related"] == [] and data["timeline"] == []


def test_natural_persons_and_unknown_codes_have_no_profile(scenario):
    assert profile.find_organisation(f" {RELATED_USCC.lower()} ") == scenario["related"]
    for code in (PERSON_ID, scenario["person"].id_masked, "91310000MA1FL8LX0X"):
        with pytest.raises(NotFound):
            profile.find_organisation(code)


def test_search_by_name_code_and_grade_carries_the_current_grade(scenario):
    model = EvaluationModel.objects.active()
    by_name = list(profile.search("守信", model))
    assert [s.uscc for s in by_name] == [CLEAN_USCC]
    assert by_name[0].current_grade in {"A", "B"} and by_name[0].current_score > 700
    assert [s.uscc for s in profile.search(RELATED_USCC, model)] == [RELATED_USCC]
    assert [s.pk for s in profile.search("", model, "D")] == [scenario["blacklisted"].pk]
    # Natural persons are never found, not even by their name.
    assert not profile.search(PERSON_NAME, model).exists()


def test_a_legal_representative_from_a_penalty_is_found_by_the_clear_id_number(reference):
    """The penalty's 法定代表人证件号码 is sealed inside the stored record; the person linked to
    the company is keyed, encrypted and masked by the number itself, never by its
    ciphertext, so two companies of one person meet in one person."""
    from tests.lists.fixtures import ingest_penalty

    for n in (1, 2):
        ingest_penalty(n, 法定代表人证件类型="身份证", 法定代表人证件号码=PERSON_ID)
    person = Subject.objects.get(kind=SubjectKind.PERSON)
    assert person.id_masked == "3604**********0071"
    assert person.id_hash == lookup_hash(PERSON_ID)
    from creditplus.subjects.pii import decrypt

    assert decrypt(person.id_cipher) == PERSON_ID
    assert person.organisation_relations.count() == 2


def test_a_related_company_with_many_entries_of_one_list_shows_one_badge(scenario, officer):
    blacklisted = scenario["blacklisted"]
    entry = ListEntry.objects.get(subject=blacklisted, list_type__code="YZSX")
    for n in range(3):  # imported lists hold one entry per case (e.g. 失信被执行人 案号)
        entry.pk = None
        entry.origin = "imported"
        entry.source_key = f"（2026）沪0115执{n}号"
        entry.save()
    people = profile.related_persons(scenario["related"], EvaluationModel.objects.active())
    [other] = people[0]["organisations"]
    assert [x["name"] for x in other["lists"]] == ["严重失信主体名单"]


def test_a_behavior_tag_said_by_a_list_membership_is_not_repeated(scenario):
    from creditplus.lists.models import ListType
    from creditplus.records.models import CreditEvent

    blacklisted = scenario["blacklisted"]
    # A 失信被执行人 behavior event in force, and the 失信被执行人名单 entry from the court.
    event = CreditEvent.objects.filter(subject=blacklisted).first()
    rule = type(event.rule).objects.filter(code__startswith="SXBZX-").first()
    CreditEvent.objects.filter(pk=event.pk).update(rule=rule, publish_until=None)
    entry = ListEntry.objects.get(subject=blacklisted, list_type__code="YZSX")
    entry.pk = None
    entry.list_type = ListType.objects.get(code="SXBZX")
    entry.origin = "imported"
    entry.source_key = "（2026）沪0115执1号"
    entry.save()
    found = labels(profile.tags(blacklisted, None))
    assert "失信被执行人名单" in found and "失信被执行人" not in found
