"""What the public may see (records.disclosure): penalties and licenses in publicity only —
never minor, restored, retracted, expired or superseded ones, nor natural persons' — filtered
by department, category and date, newest first, with only the standard's public fields."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records import disclosure
from creditplus.records.choices import EventStatus
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord
from creditplus.records.services import correct_record, restore_event, retract_record
from tests.records.files import ORG_USCC, PERSON_ID, penalty

pytestmark = pytest.mark.django_db

FR_ID = "110101199003074477"  # a legal representative's ID number: personal, never public


def ingest(item_code: str, rows: list[dict[str, Any]], dept: str = "SCJG") -> None:
    """Ingest ``rows`` of ``item_code`` for department ``dept`` through the real ingest path."""
    batch = ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code=item_code),
            department=Department.objects.get(code=dept),
        ),
    )
    assert batch.rejected == 0, list(batch.errors.values_list("message", flat=True))


def _authority(dept: str, prefix: str) -> dict[str, str]:
    d = Department.objects.get(code=dept)
    if prefix == "CF":
        return {
            "处罚机关": d.name,
            "处罚机关统一社会信用代码": d.uscc,
            "数据来源单位": d.name,
            "数据来源单位统一社会信用代码": d.uscc,
        }
    return {
        "许可机关": d.name,
        "许可机关统一社会信用代码": d.uscc,
        "数据来源单位": d.name,
        "数据来源单位统一社会信用代码": d.uscc,
    }


def cf(
    doc: str, decided: date | None = None, dept: str = "SCJG", uscc: str = ORG_USCC[1], **extra
) -> CreditRecord:
    """One 行政处罚 (document number ``doc``) of the organisation ``uscc``: by default a
    general one (a 5万元 fine) decided 30 days ago."""
    decided = decided or timezone.localdate() - timedelta(days=30)
    row = penalty(
        1,
        **{
            "行政相对人名称": "上海测试1号科技有限公司",
            "统一社会信用代码": uscc,
            "行政处罚决定书文号": doc,
            "处罚决定日期": decided.isoformat(),
            "处罚有效期": (decided + timedelta(days=3 * 365)).isoformat(),
            "法定代表人证件类型": "身份证",
            "法定代表人证件号码": FR_ID,
            **_authority(dept, "CF"),
            **extra,
        },
    )
    ingest("CF", [row], dept)
    return CreditRecord.objects.current().get(item__code="CF", natural_key__startswith=f"{doc}|")


def license_row(doc: str, decided: date, **extra: str) -> dict[str, str]:
    """A valid 行政许可 row (Chinese labels as headers) of 区市场监管局."""
    row = {
        "行政相对人名称": "上海测试1号科技有限公司",
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": ORG_USCC[1],
        "法定代表人": "张三",
        "法定代表人证件类型": "身份证",
        "法定代表人证件号码": FR_ID,
        "行政许可决定文书名称": "准予行政许可决定书",
        "行政许可决定文书号": doc,
        "许可类别": "普通",
        "许可证书名称": "食品经营许可证",
        "许可编号": "JY13101150000001",
        "许可内容": "准予核发食品经营许可证",
        "许可决定日期": decided.isoformat(),
        "有效期自": decided.isoformat(),
        "有效期至": (decided + timedelta(days=5 * 365)).isoformat(),
        "当前状态": "有效",
    }
    row.update(_authority("SCJG", "XK"))
    row.update(extra)
    return row


def xk(doc: str, decided: date | None = None, dept: str = "SCJG", **extra: str) -> CreditRecord:
    """One 行政许可 (document number ``doc``), valid for five years from ``decided``."""
    decided = decided or timezone.localdate() - timedelta(days=10)
    row = license_row(doc, decided, **extra)
    row.update(_authority(dept, "XK"))
    ingest("XK", [row], dept)
    return CreditRecord.objects.current().get(item__code="XK", natural_key__startswith=f"{doc}|")


def visible() -> set[int]:
    return set(disclosure.public_records().values_list("pk", flat=True))


# --------------------------------------------------------------------------- the rule


def test_a_general_penalty_is_public_during_its_publicity_period(reference):
    record = cf("沪浦市监处〔2026〕1号")
    assert record.pk in visible()
    event = record.events.get()
    assert event.publish_until is not None
    assert record.pk in set(
        disclosure.public_records(today=event.publish_until).values_list("pk", flat=True)
    )
    after = event.publish_until + timedelta(days=1)
    assert record.pk not in set(disclosure.public_records(today=after).values_list("pk", flat=True))


def test_a_minor_penalty_is_never_public(reference):
    warning = cf(
        "沪浦市监处〔2026〕2号", 处罚类别="警告", 处罚内容="警告", **{"罚款金额(万元)": ""}
    )
    assert warning.events.get().published is False
    assert warning.pk not in visible()


def test_a_penalty_whose_behavior_period_is_over_is_not_public(reference):
    old = cf("沪浦市监处〔2024〕3号", decided=timezone.localdate() - timedelta(days=400))
    assert old.events.get().publish_until < timezone.localdate()
    assert old.pk not in visible()


def test_a_penalty_past_its_publicity_end_date_is_not_public(reference):
    yesterday = timezone.localdate() - timedelta(days=1)
    ended = cf("沪浦市监处〔2026〕4号", 公示截止期=yesterday.isoformat())
    assert ended.end_date == yesterday
    assert ended.pk not in visible()


def test_a_restored_penalty_is_not_public(reference):
    record = cf("沪浦市监处〔2026〕5号")
    restore_event(record.events.get(), "已整改并缴清罚款")
    assert record.events.get().status == EventStatus.RESTORED
    assert record.pk not in visible()


def test_a_retracted_penalty_is_not_public(reference):
    record = cf("沪浦市监处〔2026〕6号")
    retract_record(record, "复议撤销")
    assert record.pk not in visible()


def test_only_the_current_version_of_a_corrected_record_is_public(reference):
    record = cf("沪浦市监处〔2026〕7号")
    corrected = correct_record(record, {"CF_NR": "罚款人民币肆万元"}, "金额笔误")
    shown = visible()
    assert corrected.pk in shown and record.pk not in shown


def test_natural_persons_records_are_never_public(reference):
    ingest(
        "CF",
        [
            penalty(
                3,
                行政相对人名称="王五",
                行政相对人类别="自然人",
                统一社会信用代码="",
                证件类型="身份证",
                证件号码=PERSON_ID,
                处罚决定日期=(timezone.localdate() - timedelta(days=5)).isoformat(),
                处罚有效期=(timezone.localdate() + timedelta(days=365)).isoformat(),
            )
        ],
    )
    person_record = CreditRecord.objects.current().get(subject__kind="person")
    # Ingest already withholds a person's event from publicity (persons_published: false);
    # the disclosure rule must hold on its own even if an event said otherwise.
    person_record.events.update(published=True)
    assert person_record.pk not in visible()
    assert not disclosure.dual_records("CF").filter(pk=person_record.pk).exists()


def test_records_of_items_not_disclosed_to_the_public_are_not_public(reference):
    record = cf("沪浦市监处〔2026〕8号")
    CatalogItem.objects.filter(code="CF").update(disclosure="government")
    assert record.pk not in visible()


def test_an_item_whose_definition_withholds_publication_is_not_public(reference):
    record = cf("沪浦市监处〔2026〕9号")
    item = CatalogItem.objects.get(code="CF")
    item.definition = {**item.definition, "publicity": {"published": False}}
    item.save()
    assert record.pk not in visible()


def test_a_license_is_public_until_its_validity_ends(reference):
    record = xk("沪浦市监许〔2026〕1号")
    assert not record.events.exists()  # licenses are neutral: no behavior event
    assert record.pk in visible()
    after = record.end_date + timedelta(days=1)
    assert record.pk not in set(disclosure.public_records(today=after).values_list("pk", flat=True))


def test_subject_public_records_are_those_of_the_subject(reference):
    mine = cf("沪浦市监处〔2026〕10号")
    other = cf("沪浦市监处〔2026〕11号", uscc=ORG_USCC[2])
    ids = set(disclosure.subject_public_records(mine.subject).values_list("pk", flat=True))
    assert mine.pk in ids and other.pk not in ids


# --------------------------------------------------------------------------- 双公示


def test_dual_records_refuses_other_items(reference):
    with pytest.raises(ValueError):
        disclosure.dual_records("SXBZX")


def test_dual_records_are_newest_first_and_of_their_item_only(reference):
    today = timezone.localdate()
    older = cf("沪浦市监处〔2026〕20号", decided=today - timedelta(days=50))
    newer = cf("沪浦市监处〔2026〕21号", decided=today - timedelta(days=5))
    license_ = xk("沪浦市监许〔2026〕20号")
    penalties = list(disclosure.dual_records("CF").values_list("pk", flat=True))
    assert penalties == [newer.pk, older.pk]
    assert list(disclosure.dual_records("XK").values_list("pk", flat=True)) == [license_.pk]


def test_dual_records_filter_by_department_category_and_dates(reference):
    today = timezone.localdate()
    fine = cf("沪浦市监处〔2026〕30号", decided=today - timedelta(days=40))
    closure = cf(
        "沪浦市监处〔2026〕31号",
        decided=today - timedelta(days=20),
        处罚类别="责令停产停业;罚款",
        处罚内容="责令停产停业三十日，罚款五万元",
    )
    tax = cf("沪浦税处〔2026〕32号", decided=today - timedelta(days=10), dept="SW")

    def ids(**filters) -> list[int]:
        return list(disclosure.dual_records("CF", **filters).values_list("pk", flat=True))

    scjg = Department.objects.get(code="SCJG")
    assert ids(department=scjg) == [closure.pk, fine.pk]
    assert ids(department=Department.objects.get(code="SW")) == [tax.pk]
    # A multi-valued category matches each of its values, and only whole values.
    assert ids(category="罚款") == [tax.pk, closure.pk, fine.pk]
    assert ids(category="责令停产停业") == [closure.pk]
    assert ids(category="停产") == []
    assert ids(decided_from=today - timedelta(days=25)) == [tax.pk, closure.pk]
    assert ids(decided_to=today - timedelta(days=25)) == [fine.pk]
    assert ids(decided_from=today - timedelta(days=20), decided_to=today - timedelta(days=20)) == [
        closure.pk
    ]


def test_category_is_matches_whole_values_only(reference):
    cf(
        "沪浦市监处〔2026〕40号",
        处罚类别="没收违法所得;罚款",
        **{"没收违法所得、没收非法财物的金额(万元)": "1"},
    )
    qs = CreditRecord.objects.current().filter(item__code="CF")
    assert qs.filter(disclosure.category_is("没收违法所得")).count() == 1
    assert qs.filter(disclosure.category_is("罚款")).count() == 1
    assert qs.filter(disclosure.category_is("没收")).count() == 0


# --------------------------------------------------------------------------- fields


def test_public_fields_leave_out_personal_and_non_public_fields(reference):
    record = cf("沪浦市监处〔2026〕50号")
    fields = disclosure.public_fields(record)
    codes = [f.code for f in fields]
    assert "CF_FR_ZJHM" not in codes and "CF_FR_ZJLX" not in codes
    assert all(FR_ID not in f.value for f in fields)
    labels = {f.code: f.label for f in fields}
    assert labels["CF_WSH"] == "行政处罚决定书文号"
    # In the item's order, empty fields left out.
    spec_order = [f.code for f in record.item.spec.fields]
    assert codes == sorted(codes, key=spec_order.index)
    assert "CF_NR_WFFF" not in codes
    assert disclosure.public_values(record)["CF_NR_FK"] == "5"


def test_public_fields_show_code_labels_when_asked(reference):
    license_ = xk("沪浦市监许〔2026〕50号")
    assert disclosure.public_values(license_)["XK_ZT"] == "1"  # the standard's code
    labels = disclosure.code_labels(license_.item.spec)
    shown = {f.code: f.value for f in disclosure.public_fields(license_, labels=labels)}
    assert shown["XK_ZT"] == "有效"
    closure = cf("沪浦市监处〔2026〕51号", 处罚类别="责令停产停业;罚款")
    assert disclosure.public_values(closure)["CF_CFLB"] == "责令停产停业;罚款"
    labels = disclosure.code_labels(closure.item.spec)
    shown = {f.code: f.value for f in disclosure.public_fields(closure, labels=labels)}
    assert shown["CF_CFLB"] == "责令停产停业、罚款"
