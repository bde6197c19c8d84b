"""Department files as they really come: old identifiers, amounts with units, other
platforms' export columns, type-string synonyms and optional fields (issue 22).

Every test ingests a real file (CSV, XLSX or JSON bytes) through the normal path and checks
the stable codes, the Chinese messages, the records and subjects stored, and that the counts
reconcile.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.identifiers import registration_number_check_char, uscc_check_char
from creditplus.records import ingest as ingest_module
from creditplus.records.ingest import IngestOptions, ingest_file
from creditplus.records.models import CreditRecord, IngestBatch
from creditplus.subjects.models import Subject
from tests.factories import valid_uscc
from tests.records.files import csv_bytes, json_bytes, penalty, xlsx_bytes

pytestmark = pytest.mark.django_db


def reg_no(n: int) -> str:
    """A valid 15-digit registration number (ISO 7064 MOD 11,10) of a Pudong enterprise."""
    first14 = f"310115{n:08d}"
    return first14 + registration_number_check_char(first14)


def registration(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid 登记注册基本信息 row (Chinese labels) of 区市场监管局."""
    row = {
        "主体名称": f"上海旧证照测试{n}有限公司",
        "主体类别": "法人及非法人组织",
        "统一社会信用代码": valid_uscc(7000 + n),
        "注册号": reg_no(n),
        "市场主体类型": "有限责任公司",
        "法定代表人（负责人、执行事务合伙人、经营者）": "王五",
        "成立日期": "2012-03-01",
        "注册资本（出资额、资金数额）(万元)": "100",
        "住所（主要经营场所、经营场所）": f"上海市浦东新区张江路{n}号",
        "行业门类": "I",
        "经营范围": "软件开发；技术服务。",
        "登记状态": "存续",
        "核准日期": "2024-05-06",
        "登记机关": "浦东新区市场监督管理局",
    }
    row.update(overrides)
    return row


def ingest(content: bytes, name: str, item: str = "DJ", dept: str = "SCJG") -> IngestBatch:
    return ingest_file(
        content,
        IngestOptions(
            item=CatalogItem.objects.get(code=item),
            department=Department.objects.get(code=dept),
            file_name=name,
        ),
    )


def reconciles(batch: IngestBatch) -> bool:
    return batch.submitted == batch.accepted + batch.updated + batch.unchanged + batch.rejected


def errors(batch: IngestBatch) -> dict[int, dict[str, str]]:
    """row → {code: message} of the batch's rejected rows."""
    found: dict[int, dict[str, str]] = {}
    for e in batch.errors.all():
        found.setdefault(e.row_no, {})[e.code] = e.message
    return found


def same_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the union of their columns (empty where a row has none), for CSV."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return [{k: r.get(k, "") for k in keys} for r in rows]


def without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}


# --------------------------------------------------------------------------- old identifiers


def test_registration_file_with_only_registration_numbers_links_every_row(reference):
    first = ingest(csv_bytes([registration(n) for n in range(1, 5)]), "dj.csv")
    assert (first.accepted, first.rejected) == (4, 0)
    assert Subject.objects.get(uscc=valid_uscc(7001)).reg_no == reg_no(1)

    # The change file of an older system: no USCC column at all, only 注册号; new addresses.
    rows = [
        without(
            registration(n, **{"住所（主要经营场所、经营场所）": f"上海市浦东新区新址{n}号"}),
            "统一社会信用代码",
        )
        for n in (3, 1, 4, 2)
    ]
    batch = ingest(xlsx_bytes(rows), "dj-old.xlsx")
    assert (batch.submitted, batch.updated, batch.rejected) == (4, 4, 0), errors(batch)
    assert reconciles(batch)
    for n in (1, 2, 3, 4):
        subject = Subject.objects.get(uscc=valid_uscc(7000 + n))
        record = CreditRecord.objects.get(batch=batch, subject=subject)
        assert record.values["DJ_ZCH"] == reg_no(n)
        assert record.values["DJ_TYSHXYDM"] == subject.uscc
        assert "legacy_identifier" in record.flags
        assert record.version == 2
        subject.refresh_from_db()
        assert subject.address == f"上海市浦东新区新址{n}号"
    assert Subject.objects.filter(name__startswith="上海旧证照测试").count() == 4
    assert batch.stats["warnings"] == {"legacy_identifier": 4}


def test_old_identifiers_of_later_chunks_are_looked_up_in_the_batch_transaction(
    reference, monkeypatch
):
    """A file's later chunks are validated in a helper thread while the caller writes the one
    before (``validated_ahead``); their look-up of old identifiers is still answered on the
    caller's connection, inside its transaction — here the test's, which no other
    connection sees."""
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 2)
    ingest(csv_bytes([registration(n) for n in range(1, 7)]), "dj.csv")
    rows = [without(registration(n), "统一社会信用代码") for n in (5, 3, 1, 6, 4, 2)]
    batch = ingest(csv_bytes(rows), "dj-old.csv")
    assert (batch.submitted, batch.unchanged, batch.rejected) == (6, 6, 0), errors(batch)


def test_registration_numbers_that_name_no_subject_are_refused_with_the_reason(reference):
    ingest(csv_bytes([registration(1)]), "dj.csv")
    bad_check = reg_no(1)[:-1] + str((int(reg_no(1)[-1]) + 1) % 10)
    rows = [
        registration(1, 统一社会信用代码=""),
        registration(2, 统一社会信用代码=""),  # never registered with a USCC
        registration(3, 统一社会信用代码="", 注册号=bad_check),
        registration(4, 统一社会信用代码="", 注册号="31011500012"),
    ]
    batch = ingest(csv_bytes(rows), "dj-old.csv")
    assert (batch.submitted, batch.unchanged, batch.rejected) == (4, 1, 3)
    assert reconciles(batch)
    found = errors(batch)
    assert found[2]["legacy_not_found"] == (
        f"注册号{reg_no(2)}在主体库中没有对应的已登记主体，请填写统一社会信用代码"
    )
    assert found[3]["reg_no_check"].startswith("注册号校验位错误，按 ISO 7064 MOD 11,10 应为")
    assert "reg_no_format" in found[4]
    assert not Subject.objects.filter(name="上海旧证照测试2有限公司").exists()


def test_penalty_with_only_an_organisation_code_links_to_the_registered_subject(reference):
    uscc = "91310115MA1K3BTP2B"
    Subject.objects.create(kind="legal", uscc=uscc, name="上海测试1号科技有限公司")
    # the same organisation code under another division prefix: ambiguous
    for prefix in ("91310000", "91310101"):
        first17 = f"{prefix}600037341"
        Subject.objects.create(
            kind="legal", uscc=first17 + uscc_check_char(first17), name=f"歧义{prefix}"
        )
    legacy = {"统一社会信用代码": "", "工商注册号": "", "行政相对人名称": "上海测试1号科技有限公司"}
    rows = [
        penalty(1, **legacy, 组织机构代码="MA1K3BTP-2"),  # with hyphen
        penalty(2, **legacy, 组织机构代码="ma1k3btp2"),  # without, lower case
        penalty(3, **legacy, 组织机构代码="MA1K3BTP-3"),  # wrong GB 11714 check character
        penalty(4, **legacy, 组织机构代码="12345678-8"),  # valid, nobody registered
        penalty(5, **legacy, 组织机构代码="60003734-1"),  # two registered subjects
        penalty(6, **legacy),  # nothing at all: the USCC is required
    ]
    batch = ingest(json_bytes(rows), "cf.json", item="CF")
    assert (batch.submitted, batch.accepted, batch.rejected) == (6, 2, 4), errors(batch)
    assert reconciles(batch)
    for n in (1, 2):
        record = CreditRecord.objects.get(batch=batch, row_no=n)
        assert record.subject.uscc == uscc
        assert record.values["CF_XDR_ZZJG"] == "MA1K3BTP2"
        assert record.values["CF_XDR_SHXYM"] == uscc
        assert record.flags == "legacy_identifier"
    found = errors(batch)
    assert found[3]["org_code_check"] == "组织机构代码校验码错误，按 GB 11714 应为 2"
    assert found[4]["legacy_not_found"].startswith("组织机构代码123456788在主体库中没有")
    assert found[5]["legacy_ambiguous"].startswith("组织机构代码600037341对应多个已登记主体")
    assert set(found[6]) == {"required"}
    assert Subject.objects.count() == 3  # nobody was created from an old identifier


def test_a_row_with_a_uscc_keeps_its_old_identifiers_as_submitted(reference):
    row = penalty(1, 组织机构代码="MA1K3BTP-2", 工商注册号="3101150001")  # short old number
    batch = ingest(csv_bytes([row]), "cf.csv", item="CF")
    assert batch.accepted == 1, errors(batch)
    record = CreditRecord.objects.get(batch=batch)
    assert record.values["CF_XDR_ZZJG"] == "MA1K3BTP2"
    assert record.values["CF_XDR_GSZC"] == "3101150001"
    assert record.flags == ""


def test_penalty_with_only_the_registration_number_the_registry_recorded(reference):
    ingest(csv_bytes([registration(1)]), "dj.csv")  # records 注册号 for the subject
    uscc = valid_uscc(7001)
    row = penalty(
        1, 统一社会信用代码="", 工商注册号=reg_no(1), 行政相对人名称="上海旧证照测试1有限公司"
    )
    batch = ingest(csv_bytes([row]), "cf.csv", item="CF")
    assert batch.accepted == 1, errors(batch)
    record = CreditRecord.objects.get(batch=batch)
    assert (record.subject.uscc, record.flags) == (uscc, "legacy_identifier")
    assert batch.stats["warnings"] == {"legacy_identifier": 1}


def test_api_rows_with_json_nulls_numbers_and_an_old_identifier(reference):
    from django.test import Client

    from creditplus.accounts import services as accounts

    Subject.objects.create(kind="legal", uscc="91310115MA1K3BTP2B", name="上海测试1号科技有限公司")
    system = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.issue_token('SCJG', '执法办案系统').key}")
    row: dict[str, Any] = penalty(1, 统一社会信用代码=None, 组织机构代码="MA1K3BTP-2", 备注=None)
    row["罚款金额(万元)"] = 12.5
    row["CHECK_FLAG"] = 1
    response = system.post(
        "/api/v1/batches",
        data=json.dumps({"item": "CF", "rows": [row]}, ensure_ascii=False),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 0)
    assert body["file_warnings"][0]["columns"] == ["CHECK_FLAG"]
    record = CreditRecord.objects.get(batch_id=body["batch"])
    assert record.values["CF_NR_FK"] == "12.5" and "BZ" not in record.values
    assert record.subject.uscc == "91310115MA1K3BTP2B"


# --------------------------------------------------------------------------- amounts


def test_registered_capital_with_units_currencies_and_placeholders(reference):
    capital = "注册资本（出资额、资金数额）(万元)"
    rows = [
        registration(1, **{capital: "1,000(万元人民币)"}),
        registration(2, **{capital: "50万美元"}),
        registration(3, **{capital: "1000.5万元"}),
        registration(4, **{capital: "120000元"}),
        registration(5, **{capital: "N/A", "市场主体类型": "公司分公司"}),  # no capital: fine
        registration(6, **{capital: "N/A"}),  # a company must state it
        registration(7, **{capital: "人民币300万元"}),
        registration(8, **{capital: "50万美元", "注册资本币种": "人民币"}),
        registration(9, **{capital: "五十万"}),
    ]
    batch = ingest(csv_bytes(same_columns(rows)), "dj.csv")
    assert (batch.submitted, batch.accepted, batch.rejected) == (9, 6, 3), errors(batch)
    assert reconciles(batch)

    def stored(n: int) -> dict[str, Any]:
        return CreditRecord.objects.get(batch=batch, row_no=n).values

    assert stored(1)["DJ_ZCZB"] == "1000" and "DJ_ZBBZ" not in stored(1)
    assert (stored(2)["DJ_ZCZB"], stored(2)["DJ_ZBBZ"]) == ("50", "USD")
    assert stored(3)["DJ_ZCZB"] == "1000.5"
    assert stored(4)["DJ_ZCZB"] == "12"
    assert "DJ_ZCZB" not in stored(5)
    assert stored(7)["DJ_ZCZB"] == "300"
    assert Subject.objects.get(uscc=valid_uscc(7002)).registered_capital == Decimal("50")
    found = errors(batch)
    assert set(found[6]) == {"required"}
    assert found[8]["amount_currency_conflict"] == (
        "「注册资本（出资额、资金数额）(万元)」的值「50万美元」写明的币种与「注册资本币种」不一致"
    )
    assert set(found[9]) == {"number_invalid"}


def test_a_fine_in_a_foreign_currency_is_refused(reference):
    batch = ingest(csv_bytes([penalty(1, **{"罚款金额(万元)": "5万美元"})]), "cf.csv", item="CF")
    assert batch.rejected == 1
    assert errors(batch)[1]["amount_currency"] == (
        "「罚款金额(万元)」的值「5万美元」不是人民币金额：本字段只收人民币，外币请填写币种字段"
    )


@pytest.mark.parametrize("placeholder", ["N/A", "-", "—", "无", "/", "null"])
def test_placeholders_are_empty_and_the_required_rule_applies(reference, placeholder):
    rows = [
        penalty(1, 备注=placeholder),
        penalty(2, **{"罚款金额(万元)": placeholder}),  # 罚款 needs its amount
    ]
    batch = ingest(csv_bytes(rows), "cf.csv", item="CF")
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert "BZ" not in CreditRecord.objects.get(batch=batch).values
    assert set(errors(batch)[2]) == {"required"}


# --------------------------------------------------------------------------- type strings


def test_market_subject_type_synonyms_and_unknown_values_with_counts(reference):
    kinds = [
        "有限责任公司 外商投资企业",
        "有限责任公司(外商投资)",
        "有限合伙",
        "分公司",
        "合资公司",
        "一人公司",
        "合资公司",
    ]
    rows = [registration(n, 市场主体类型=kind) for n, kind in enumerate(kinds, start=1)]
    batch = ingest(csv_bytes(rows), "dj.csv")
    assert (batch.accepted, batch.rejected) == (4, 3)
    assert reconciles(batch)
    types = [
        CreditRecord.objects.get(batch=batch, row_no=n).values["DJ_ZTLX"] for n in (1, 2, 3, 4)
    ]
    assert types == [
        "有限责任公司（外商投资）",
        "有限责任公司（外商投资）",
        "有限合伙企业",
        "公司分公司",
    ]
    assert {n for n, codes in errors(batch).items() if "code_unknown" in codes} == {5, 6, 7}
    assert batch.stats["unknown_values"] == {"DJ_ZTLX": {"合资公司": 2, "一人公司": 1}}


# --------------------------------------------------------------------------- export columns


EXPORT_COLUMNS = ["ID", "RESOURCE_ID", "CHECK_FLAG", "CREATE_DATE", "PERSON_ID", "CREATE_DEPT_NAME"]


def platform_export(n: int) -> dict[str, Any]:
    """A 行政处罚 row as another platform exports it: technical columns, COMP_NAME for the
    name, JSON null for empty fields and a JSON number for the fine."""
    row: dict[str, Any] = {
        "ID": 1000 + n,
        "RESOURCE_ID": f"res-{n}",
        "CHECK_FLAG": 1,
        "CREATE_DATE": "2025-06-03 10:00:00",
        "PERSON_ID": None,
        "CREATE_DEPT_NAME": "区市场监管局",
    }
    for label, value in penalty(n).items():
        row["COMP_NAME" if label == "行政相对人名称" else label] = value
    row["罚款金额(万元)"] = 5.5 if n == 1 else 0.00001  # JSON writes the latter as 1e-05
    row["备注"] = None
    row["法定代表人"] = None
    return row


def test_json_export_with_technical_columns_is_accepted_with_one_warning(reference):
    content = json.dumps([platform_export(1), platform_export(2)], ensure_ascii=False).encode()
    assert b"1e-05" in content
    batch = ingest(content, "export.json", item="CF")
    assert (batch.submitted, batch.accepted, batch.rejected) == (2, 2, 0), errors(batch)
    assert batch.stats["file_warnings"] == [
        {
            "code": "columns_unknown",
            "message": "已忽略本事项没有的列：" + "、".join(EXPORT_COLUMNS),
            "columns": EXPORT_COLUMNS,
        }
    ]
    first, second = (CreditRecord.objects.get(batch=batch, row_no=n) for n in (1, 2))
    assert first.subject.name == first.values["CF_XDR_MC"] == "上海测试1号科技有限公司"
    assert (first.values["CF_NR_FK"], second.values["CF_NR_FK"]) == ("5.5", "0.00001")
    assert "BZ" not in first.values and "CF_FRDB" not in first.values


def test_csv_export_headers_are_matched_by_alias_case_insensitively(reference):
    rows = [{"comp_name" if k == "COMP_NAME" else k: v for k, v in platform_export(1).items()}]
    rows[0]["罚款金额(万元)"] = "5.5"
    batch = ingest(csv_bytes(rows), "export.csv", item="CF")
    assert batch.accepted == 1, errors(batch)
    assert batch.stats["file_warnings"][0]["columns"] == EXPORT_COLUMNS


def test_batch_api_and_page_show_the_warnings_and_unknown_values(reference, officer):
    from tests.conftest import client_for

    rows = [platform_export(1)]
    rows[0]["行政相对人类别"] = "外星人"
    batch = ingest(json_bytes(rows), "export.json", item="CF")
    client = client_for(officer)
    answer = client.get("/api/v1/batches?item=CF").json()
    mine = next(b for b in answer if b["batch"] == batch.pk)
    assert mine["file_warnings"][0]["code"] == "columns_unknown"
    assert mine["unknown_values"] == {"CF_XDR_LB": {"外星人": 1}}
    page = client.get(f"/backoffice/records/batches/{batch.pk}/").content.decode()
    assert "columns_unknown" in page and "RESOURCE_ID" in page
    assert "无法识别的代码值" in page and "外星人" in page


# --------------------------------------------------------------------------- optional fields


def license_row(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "行政相对人名称": f"上海许可测试{n}有限公司",
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": valid_uscc(8000 + n),
        "行政许可决定文书名称": "准予行政许可决定书",
        "行政许可决定文书号": f"沪浦市监许〔2025〕{n}号",
        "许可类别": "普通",
        "许可内容": "食品经营",
        "许可决定日期": "2025-06-01",
        "有效期自": "2025-06-01",
        "有效期至": "2030-05-31",
        "许可机关": "区市场监管局",
        "许可机关统一社会信用代码": "11310115002425387A",
        "当前状态": "有效",
        "数据来源单位": "区市场监管局",
        "数据来源单位统一社会信用代码": "11310115002425387A",
    }
    row.update(overrides)
    return row


def test_a_license_without_a_certificate_is_accepted(reference):
    rows = same_columns([license_row(1), license_row(2, 许可证书名称="食品经营许可证")])
    batch = ingest(csv_bytes(rows), "xk.csv", item="XK")
    assert (batch.accepted, batch.rejected) == (2, 0), errors(batch)
    assert "XK_XKZS" not in CreditRecord.objects.get(batch=batch, row_no=1).values


# --------------------------------------------------------------------------- documentation


def test_docs_list_every_error_and_warning_code_with_an_example():
    from pathlib import Path

    from creditplus import identifiers
    from creditplus.records import legacy, validation

    docs = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text("utf-8")
    rows = {
        line.split("|")[1].strip(): line for line in docs.splitlines() if line.startswith("| `")
    }
    codes = set(validation.MESSAGES) | set(identifiers.ERROR_MESSAGES) | set(legacy.MESSAGES)
    codes |= {"name_mismatch", "file_empty", "file_unreadable", "file_encoding", "header_unknown"}
    for code in codes:
        row = rows.get(f"`{code}`")
        assert row is not None, f"{code} is not documented"
        assert len(row.split("|")) >= 4 and row.split("|")[2].strip(), f"{code}: no example"
