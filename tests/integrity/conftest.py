"""The seeded district of the integrity tests: two departments, 区市场监管局 (SCJG) and 区税务局
(SW), with 双公示 records, rejected rows, joint-punishment tasks and objections in 2026Q2, all
made through the real services at fixed times (time-machine), so that every score can be
computed by hand. The arithmetic is written out in test_scores.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from creditplus.accounts.audit import audit_context, context_for_user
from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.lists import objections
from creditplus.lists import services as lists
from creditplus.lists.models import ListEntry
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord
from creditplus.sanctions import checks
from creditplus.sanctions import services as sanctions
from creditplus.sanctions.models import SanctionTask
from creditplus.subjects.models import Subject, SubjectAccount
from tests.factories import make_user
from tests.lists.fixtures import ingest_penalty
from tests.records.files import penalty

SHANGHAI = ZoneInfo("Asia/Shanghai")
SW_USCC = "113101150024257581"
PERIOD = "2026Q2"
AS_OF = date(2026, 7, 1)
# Decision dates relative to the receipt on Monday 2026-06-01 (7 working days allowed):
TIMELY = "2026-05-25"  # 5 working days before (05-26, 27, 28, 29, 06-01)
LATE = "2026-05-11"  # 15 working days before


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def cf_rows(prefix: str, decided: list[str], rejected: int, **overrides: str) -> list[dict]:
    """Penalty rows decided on ``decided`` dates, then ``rejected`` rows with an unknown
    penalty category (rejected by validation). Row n's subject is ORG_USCC[n % 4]."""
    rows = []
    for n, day in enumerate(decided, start=1):
        end = (date.fromisoformat(day) + timedelta(days=365)).isoformat()
        rows.append(
            penalty(
                n,
                **{
                    "行政处罚决定书文号": f"{prefix}〔2026〕{n}号",
                    "处罚决定日期": day,
                    "处罚有效期": end,
                    **overrides,
                },
            )
        )
    for k in range(rejected):
        rows.append(
            penalty(
                100 + k,
                **{
                    "行政处罚决定书文号": f"{prefix}〔2026〕X{k}号",
                    "处罚类别": "罚没",
                    **overrides,
                },
            )
        )
    return rows


def ingest(rows: list[dict], department: str) -> None:
    ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"),
            department=Department.objects.get(code=department),
        ),
    )


@dataclass
class Seeded:
    scjg: Department
    sw: Department
    scjg_tasks: int


@pytest.fixture
def assessor(reference):
    return make_user(Role.ASSESSOR, username="pinggu_t", first_name="第三方评估机构")


@pytest.fixture
def seeded(reference, officer, other_officer) -> Seeded:
    """The 2026Q2 story of SCJG (officer) and SW (other_officer)."""
    scjg, sw = Department.objects.get(code="SCJG"), Department.objects.get(code="SW")
    with time_machine.travel(at("2026-06-01", 9), tick=False):
        # SCJG: a licence revocation decided 2026-05-28 (2 working days: timely) → the
        # automatic blacklist proposal; then 8 penalties (6 timely, 2 late) and 1 rejected row.
        serious = ingest_penalty(
            1,
            decided=date(2026, 5, 28),
            处罚类别="吊销许可证件",
            处罚内容="吊销食品经营许可证",
            暂扣或吊销证照名称及编号="食品经营许可证 JY13101150000001",
        )
        ingest(cf_rows("沪浦市监处", [TIMELY] * 6 + [LATE] * 2, rejected=1), "SCJG")
        # SW: 9 penalties, all timely, and 1 rejected row.
        sw_source = {
            "处罚机关": "区税务局",
            "处罚机关统一社会信用代码": SW_USCC,
            "数据来源单位": "区税务局",
            "数据来源单位统一社会信用代码": SW_USCC,
        }
        ingest(cf_rows("沪浦税处", [TIMELY] * 9, rejected=1, **sw_source), "SW")

        # The blacklist entry is published: standing-measure tasks for the implementing
        # departments (SCJG: CJ-42 信用约谈 of the legal representative; SW none), due 10
        # working days later (2026-06-15); then SCJG's credit checks for three licensing
        # matters trigger its on-application tasks (CJ-06 twice, CJ-05), due the same day.
        Subject.objects.filter(pk=serious.subject_id).update(legal_rep_name="王五")
        entry = ListEntry.objects.get(list_type__code="YZSX", subject=serious.subject)
        lists.send_notice(entry, officer, today=date(2026, 5, 1))
        entry.refresh_from_db()
        lists.decide_entry(
            entry,
            officer,
            include=True,
            decision_no="沪浦市监信〔2026〕8号",
            today=entry.response_due + timedelta(days=1),
        )
        lists.publish_entry(entry, officer)
        for matter in ("XZXK", "GZCN", "SPXK"):
            checks.check_subject(officer, serious.subject.uscc, matter, "许可审查")

        # Objections of the subject's enterprise, due 5 working days later (2026-06-08):
        # two against SCJG records, one against the SCJG list entry, one against an SW record.
        enterprise = make_user(Role.ENTERPRISE, username="qiye_t")
        SubjectAccount.objects.create(
            user=enterprise, subject=serious.subject, verified_by="营业执照核验", bound_by="window"
        )
        own = CreditRecord.objects.current().filter(subject=serious.subject)
        scjg_record = own.filter(department=scjg).exclude(pk=serious.pk).first()
        sw_record = own.filter(department=sw).first()
        with audit_context(context_for_user(enterprise)):
            o_serious = objections.submit_objection(enterprise, record=serious, reason="金额有误")
            o_record = objections.submit_objection(enterprise, record=scjg_record, reason="有误")
            o_entry = objections.submit_objection(enterprise, entry=entry, reason="已整改")
            o_sw = objections.submit_objection(enterprise, record=sw_record, reason="有误")
    tasks = list(SanctionTask.objects.filter(department=scjg).order_by("pk"))
    assert all(t.due_on == date(2026, 6, 15) for t in tasks)

    with time_machine.travel(at("2026-06-05"), tick=False):
        for o, who in ((o_serious, officer), (o_record, officer), (o_sw, other_officer)):
            objections.answer_objection(o, who, outcome="confirmed", answer="经核查信息无误")
        for t in tasks[:-1]:  # on time: a standing task's feedback, checks' reports
            if t.credit_check_id:
                checks.report_use(t.credit_check, officer, outcome="not_applicable", note="撤回")
            else:
                sanctions.give_feedback(t, officer, outcome="not_applicable", note="本期无相关事项")
    with time_machine.travel(at("2026-06-10"), tick=False):  # after 06-08: late
        objections.answer_objection(o_entry, officer, outcome="confirmed", answer="维持")
    # tasks[-1] stays pending: overdue once 2026-06-15 has passed.
    return Seeded(scjg=scjg, sw=sw, scjg_tasks=len(tasks))
