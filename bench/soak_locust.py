"""The soak benchmark's load (bench/soak.py runs it with ``locust --headless``): the district's
mixed traffic on one production server.

- ``Public``: citizens on 信用浦东 — search (page and API) and subject pages, each user from an
  address of its own (``X-Forwarded-For`` through the trusted loopback proxy), so the per-client
  rate limits count as they would in production and are not tripped by the load itself.
- ``Department``: department systems' credit checks (``POST /api/v1/checks``, bearer token).
- ``Uploader``: one department system posting its daily batch file
  (``POST /api/v1/batches/file``) every ``SOAK_UPLOAD_EVERY`` seconds, then polling the job.

Settings come from the environment that bench/soak.py sets: SOAK_CODES (file of "USCC<TAB>name"
lines of registered subjects), SOAK_CHECK_TOKEN, SOAK_UPLOAD_TOKEN, SOAK_UPLOAD_ROWS, SOAK_UPLOAD_EVERY, SOAK_RUN.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import random
from pathlib import Path

from locust import HttpUser, between, constant, task

SUBJECTS = [line.split("\t", 1) for line in Path(os.environ["SOAK_CODES"]).read_text().splitlines()]
CODES = [code for code, _name in SUBJECTS]
RUN = os.environ.get("SOAK_RUN", "soak")
SCJG_USCC = "11310115002425387A"  # 区市场监管局, the uploads' deciding authority
_addresses = itertools.count(1)
_batches = itertools.count(1)


class Public(HttpUser):
    weight = 6
    wait_time = between(1, 3)

    def on_start(self) -> None:
        n = next(_addresses)
        self.client.headers["X-Forwarded-For"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"

    @task(3)
    def subject_page(self) -> None:
        self.client.get(f"/subjects/{random.choice(CODES)}/", name="/subjects/{code}/")

    @task(2)
    def search_page(self) -> None:
        name = random.choice(SUBJECTS)[1]
        self.client.get("/search", params={"q": name[: random.randint(2, 6)]}, name="/search?q=")

    @task(1)
    def search_api(self) -> None:
        params = {"q": random.choice(CODES)}
        self.client.get("/api/v1/subjects", params=params, name="/api/v1/subjects?q=")


class Department(HttpUser):
    weight = 3
    wait_time = between(0.2, 1)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['SOAK_CHECK_TOKEN']}"

    @task
    def credit_check(self) -> None:
        body = {"subject": random.choice(CODES), "matter": "ZFCG", "purpose": "政府采购资格审查"}
        self.client.post("/api/v1/checks", json=body, name="/api/v1/checks")


class Uploader(HttpUser):
    fixed_count = 1
    wait_time = constant(float(os.environ.get("SOAK_UPLOAD_EVERY", "180")))

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['SOAK_UPLOAD_TOKEN']}"

    @task
    def daily_batch(self) -> None:
        n = next(_batches)
        response = self.client.post(
            "/api/v1/batches/file",
            data={"item": "CF", "batch_id": f"{RUN}-{n}"},
            files={"file": (f"cf-{n}.csv", penalties(n), "text/csv")},
            name="/api/v1/batches/file",
        )
        if response.status_code == 202:
            self.client.get(response.json()["url"], name="/api/v1/jobs/{id}")


def penalties(batch: int) -> bytes:
    """A department's daily CSV: valid 行政处罚 rows on registered subjects, new 文号 each day."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["行政相对人名称", "行政相对人类别", "统一社会信用代码", "行政处罚决定书文号", "违法行为类型",
         "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额(万元)", "处罚决定日期",
         "处罚有效期", "处罚机关", "处罚机关统一社会信用代码", "数据来源单位",
         "数据来源单位统一社会信用代码"]
    )  # fmt: skip
    for i in range(int(os.environ.get("SOAK_UPLOAD_ROWS", "500"))):
        code, name = SUBJECTS[(batch * 7919 + i) % len(SUBJECTS)]
        writer.writerow(
            [name, "法人及非法人组织", code, f"沪浦市监处〔{RUN}〕{batch}-{i}号",
             "虚假宣传", "在网店发布虚假广告", "《中华人民共和国广告法》第五十五条", "罚款",
             "罚款人民币伍千元", "0.5", "2026-06-01", "2027-06-01", "区市场监管局", SCJG_USCC,
             "区市场监管局", SCJG_USCC]
        )  # fmt: skip
    return out.getvalue().encode()
