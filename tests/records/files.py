"""Real files in real formats for ingest tests: CSV (UTF-8, BOM, GBK), XLSX, JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import polars as pl

SCJG_USCC = "11310115002425387A"
ORG_USCC = ["91310115MA1K3BTP2B", "91110000600037341L", "9144030071526726XG", "92340602MA2PBMEM24"]
PERSON_ID = "360426199101010071"


def penalty(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid 行政处罚 row (Chinese labels as keys) of 区市场监管局."""
    row = {
        "行政相对人名称": f"上海测试{n}号科技有限公司",
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": ORG_USCC[n % len(ORG_USCC)],
        "法定代表人": "张三",
        "行政处罚决定书文号": f"沪浦市监处〔2025〕{n}号",
        "违法行为类型": "虚假宣传",
        "违法事实": "在网店发布虚假广告",
        "处罚依据": "《中华人民共和国广告法》第五十五条",
        "处罚类别": "罚款",
        "处罚内容": "罚款人民币伍万元",
        "罚款金额(万元)": "5",
        "处罚决定日期": "2025-06-01",
        "处罚有效期": "2026-06-01",
        "处罚机关": "区市场监管局",
        "处罚机关统一社会信用代码": SCJG_USCC,
        "数据来源单位": "区市场监管局",
        "数据来源单位统一社会信用代码": SCJG_USCC,
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]}).write_excel(buffer)
    return buffer.getvalue()


def json_bytes(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False).encode()
