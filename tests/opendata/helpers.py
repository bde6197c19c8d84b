"""Helpers of the open data tests: rows collected through the real ingest path, list
entries taken through their lifecycle, and readers of the written CSV and JSON files."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.lists import services as lists
from creditplus.lists.models import ListEntry
from creditplus.records.models import CreditRecord
from creditplus.records.services import collect_row
from tests.records.files import ORG_USCC, PERSON_ID, SCJG_USCC, penalty

# Two consecutive publication days in the recent past (publishing a future day is refused).
DAY1 = timezone.localdate() - timedelta(days=10)
DAY2 = DAY1 + timedelta(days=1)

_batch = itertools.count(1)


def license_row(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid 行政许可 row of 区市场监管局, with the legal representative's ID number (a
    personal field that must never reach the open data)."""
    row = {
        "行政相对人名称": f"上海许可{n}号餐饮有限公司",
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": ORG_USCC[n % len(ORG_USCC)],
        "法定代表人": "李四",
        "法定代表人证件类型": "身份证",
        "法定代表人证件号码": PERSON_ID,
        "行政许可决定文书名称": "食品经营许可决定书",
        "行政许可决定文书号": f"沪浦市监许〔2025〕{n}号",
        "许可类别": "普通",
        "许可证书名称": "食品经营许可证",
        "许可编号": f"JY1310115{n:07d}",
        "许可内容": "预包装食品销售",
        "许可决定日期": (DAY1 - timedelta(days=30)).isoformat(),
        "有效期自": (DAY1 - timedelta(days=30)).isoformat(),
        "有效期至": (DAY1 + timedelta(days=5 * 365)).isoformat(),
        "许可机关": "区市场监管局",
        "许可机关统一社会信用代码": SCJG_USCC,
        "当前状态": "1",
        "数据来源单位": "区市场监管局",
        "数据来源单位统一社会信用代码": SCJG_USCC,
    }
    row.update(overrides)
    return row


def penalty_row(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A general (published) penalty decided 30 days before DAY1, with the legal
    representative's ID number."""
    decided = DAY1 - timedelta(days=30)
    return penalty(
        n,
        **{
            "法定代表人证件类型": "身份证",
            "法定代表人证件号码": PERSON_ID,
            "处罚决定日期": decided.isoformat(),
            "处罚有效期": (decided + timedelta(days=365)).isoformat(),
            **overrides,
        },
    )


def collect(item: str, row: dict[str, Any], today: date = DAY1) -> CreditRecord:
    """Submit one row (Chinese labels as keys) through the normal ingest path and return
    its current record."""
    codes = {f.label: f.code for f in CatalogItem.objects.get(code=item).spec.fields}
    return collect_row(
        item,
        Department.objects.get(code="SCJG"),
        {codes.get(k, k): v for k, v in row.items()},
        external_id=f"opendata-test-{next(_batch)}",
        actor="test",
        today=today,
    )


def publish_entry(entry: ListEntry, officer, decision_no: str) -> ListEntry:
    """Take a list proposal through notice, decision and publication."""
    lists.send_notice(entry, officer)
    ListEntry.objects.filter(pk=entry.pk).update(
        response_due=timezone.localdate() - timedelta(days=1)
    )
    lists.decide_entry(entry, officer, include=True, decision_no=decision_no)
    lists.publish_entry(entry, officer)
    entry.refresh_from_db()
    return entry


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a written CSV keyed by field code (the part of the header in brackets)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
    reader = csv.reader(io.StringIO(raw[3:].decode("utf-8")))
    header = next(reader)
    codes = [h[h.rindex("[") + 1 : -1] for h in header]
    return [dict(zip(codes, row, strict=True)) for row in reader]


def csv_header(path: Path) -> list[str]:
    return next(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def read_json(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))
