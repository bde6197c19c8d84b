"""The joint reward and punishment back office through its pages: the catalog dashboard,
cases, the task inbox and its feedback form, the overdue list, and credit checks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent
from creditplus.sanctions import services
from creditplus.sanctions.models import CreditCheck, SanctionCase, SanctionTask
from tests.conftest import client_for
from tests.factories import make_user
from tests.sanctions.conftest import PROCUREMENT

pytestmark = pytest.mark.django_db


def figure(page: str, status: str) -> int:
    match = re.search(rf'data-status="{status}">(\d+)<', page)
    assert match, status
    return int(match.group(1))


# --------------------------------------------------------------------------- dashboard


def test_dashboard_shows_the_catalog_status_and_the_statistics(
    procurement_task, credit_office, window_clerk
):
    response = client_for(credit_office).get(reverse("sanctions:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert [figure(page, s) for s in ("implemented", "in_progress", "coordination")] == [
        5,
        16,
        25,
    ]
    assert figure(page, "not_started") == 21
    assert "共 67 项" in page and "echarts" in page and 'id="sanctions-data"' in page
    total = SanctionTask.objects.count()
    totals = response.context["stats"]["totals"]
    assert totals["initiated"] == total > 0
    assert totals["from_checks"] == 1 and totals["from_entries"] == total - 1
    assert f"名单生效推送 {total - 1} · 信用核查触发 1" in page
    assert "区财政局" in page and PROCUREMENT in page
    # The window clerk sees the catalog, with no tasks in its scope.
    clerk = client_for(window_clerk).get(reverse("sanctions:dashboard"))
    assert clerk.status_code == 200 and clerk.context["stats"]["totals"]["initiated"] == 0


def test_dashboard_needs_a_back_office_role(reference, bank_user):
    assert client_for(bank_user).get(reverse("sanctions:dashboard")).status_code == 403
    anonymous = client_for(None).get(reverse("sanctions:dashboard"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


# --------------------------------------------------------------------------- measures


def test_measure_catalog_filters_and_detail(reference, officer):
    client = client_for(officer)
    response = client.get(reverse("sanctions:measures"))
    assert response.status_code == 200 and len(response.context["measures"]) == 67
    done = client.get(reverse("sanctions:measures"), {"status": "implemented"})
    assert len(done.context["measures"]) == 5
    standing = client.get(reverse("sanctions:measures"), {"trigger": "standing"})
    assert {m.trigger for m in standing.context["measures"]} == {"standing"}
    assert 'data-trigger="standing">常态实施<' in standing.content.decode()
    detail = client.get(reverse("sanctions:measure", args=["CJ-43"])).content.decode()
    assert "常态实施" in detail and "平台自动实施" in detail
    czj = client.get(
        reverse("sanctions:measures"), {"department": _department_pk("CZJ"), "kind": "punishment"}
    )
    codes = {m.code for m in czj.context["measures"]}
    assert PROCUREMENT in codes and all(
        "CZJ" in {d.code for d in m.departments.all()} for m in czj.context["measures"]
    )
    yzsx = client.get(reverse("sanctions:measures"), {"list_type": _list_type_pk("YZSX")})
    assert PROCUREMENT in {m.code for m in yzsx.context["measures"]}
    page = client.get(reverse("sanctions:measure", args=[PROCUREMENT])).content.decode()
    assert "限制参与政府采购活动" in page and "区财政局" in page and "ZFCG" in page
    assert "政府采购法" in page and "主体本身" in page
    assert client.get(reverse("sanctions:measure", args=["NOPE-1"])).status_code == 404


def _department_pk(code: str) -> int:
    from creditplus.accounts.models import Department

    return Department.objects.get(code=code).pk


def _list_type_pk(code: str) -> int:
    from creditplus.lists.models import ListType

    return ListType.objects.get(code=code).pk


# --------------------------------------------------------------------------- cases


def test_cases_are_scoped_to_departments_with_tasks(
    published, procurement_task, procurement_officer, other_officer, credit_office
):
    case = SanctionCase.objects.get(entry=published)
    name = published.subject.name
    for user in (procurement_officer, credit_office):
        client = client_for(user)
        assert name in client.get(reverse("sanctions:cases")).content.decode()
        found = client.get(reverse("sanctions:cases"), {"q": published.subject.uscc})
        assert found.context["page_obj"].paginator.count == 1
    other = client_for(other_officer)  # 区税务局 implements no measure of this list
    assert other.get(reverse("sanctions:cases")).context["page_obj"].paginator.count == 0
    assert other.get(reverse("sanctions:case", args=[case.pk])).status_code == 404

    czj_page = client_for(procurement_officer).get(reverse("sanctions:case", args=[case.pk]))
    assert {t.department.code for t in czj_page.context["tasks"]} == {"CZJ"}
    full = client_for(credit_office).get(reverse("sanctions:case", args=[case.pk]))
    assert len(full.context["tasks"]) == SanctionTask.objects.filter(case=case).count()

    client = client_for(credit_office)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert (
        client.get(reverse("sanctions:cases"), {"date_from": tomorrow})
        .context["page_obj"]
        .paginator.count
        == 0
    )
    assert (
        client.get(
            reverse("sanctions:cases"), {"status": "open", "list_type": _list_type_pk("YZSX")}
        )
        .context["page_obj"]
        .paginator.count
        == 1
    )


def test_manual_initiation_by_the_credit_office(published, credit_office, officer):
    url = reverse("sanctions:initiate") + f"?entry={published.pk}"
    assert client_for(officer).get(url).status_code == 403
    client = client_for(credit_office)
    assert client.get(reverse("sanctions:initiate")).status_code == 200
    # An open case exists: the refusal shows on the form.
    refused = client.post(url, {"reason": "措施目录更新"})
    assert refused.status_code == 200 and "该名单已有实施中的奖惩事项" in refused.content.decode()
    SanctionCase.objects.filter(entry=published).update(status="closed")
    empty = client.post(url, {"reason": "  "})
    assert empty.status_code == 200 and SanctionCase.objects.filter(entry=published).count() == 1
    response = client.post(url, {"reason": "措施目录更新后重新发起"})
    assert response.status_code == 302
    case = SanctionCase.objects.get(entry=published, status="open")
    assert case.origin == "manual" and response["Location"].endswith(f"/cases/{case.pk}/")
    assert case.tasks.exists()
    by_number = client.get(reverse("sanctions:initiate"), {"entry": published.entry_no})
    assert by_number.status_code == 200 and by_number.context["open_case"] == case


# --------------------------------------------------------------------------- tasks


def test_departments_see_only_their_tasks(
    procurement_task, procurement_officer, other_officer, credit_office
):
    task = procurement_task
    czj = client_for(procurement_officer)
    response = czj.get(reverse("sanctions:tasks"))
    assert response.status_code == 200
    rows = list(response.context["page_obj"])
    assert rows and {t.department.code for t in rows} == {"CZJ"}
    assert task.number in response.content.decode()
    other = client_for(other_officer)
    assert other.get(reverse("sanctions:tasks")).context["page_obj"].paginator.count == 0
    assert other.get(reverse("sanctions:task", args=[task.pk])).status_code == 404
    # The credit office sees the task, without the feedback form.
    office = client_for(credit_office).get(reverse("sanctions:task", args=[task.pk]))
    assert office.status_code == 200 and office.context["form"] is None
    own = czj.get(reverse("sanctions:task", args=[task.pk]))
    assert own.context["form"] is not None and "提交反馈" in own.content.decode()
    # The form offers the measure's own matters.
    assert [m.code for m in own.context["form"].fields["matter"].queryset] == ["ZFCG"]


def test_feedback_through_the_form_changes_status_and_statistics(
    procurement_task, procurement_officer, credit_office
):
    task = procurement_task
    client = client_for(procurement_officer)
    url = reverse("sanctions:task", args=[task.pk])
    refused = client.post(url, {"outcome": "applied", "matter": "", "document_no": ""})
    assert refused.status_code == 200
    assert "已实施的，请填写实施事项和文书号" in refused.content.decode()
    task.refresh_from_db()
    assert task.status == "pending"

    matter = task.measure.matters.get()
    response = client.post(
        url, {"outcome": "applied", "matter": matter.code, "document_no": "沪浦财采〔2026〕2号"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "applied" and task.document_no == "沪浦财采〔2026〕2号"
    assert task.matter == matter and task.fed_back_by
    page = client.get(url)
    assert page.context["form"] is None and "沪浦财采〔2026〕2号" in page.content.decode()
    # A second feedback is refused with a message.
    again = client.post(url, {"outcome": "failed", "note": "x"}, follow=True)
    assert "该任务已反馈或已关闭" in again.content.decode()

    stats = client_for(credit_office).get(reverse("sanctions:dashboard")).context["stats"]
    assert stats["totals"]["applied"] == 1 and stats["totals"]["fed_back"] == 1
    row = next(r for r in stats["by_department"] if r["department__code"] == "CZJ")
    assert row["applied"] == 1
    applied = client.get(reverse("sanctions:tasks"), {"status": "applied"})
    assert [t.pk for t in applied.context["page_obj"]] == [task.pk]


def test_feedback_note_is_bounded(procurement_task, procurement_officer):
    """The single feedback's note has the bulk feedback's limit (one form for both)."""
    url = reverse("sanctions:task", args=[procurement_task.pk])
    long_note = "理" * 2001
    refused = client_for(procurement_officer).post(
        url, {"outcome": "not_applicable", "note": long_note}
    )
    assert refused.status_code == 200 and "2000" in refused.content.decode()
    procurement_task.refresh_from_db()
    assert procurement_task.status == "pending"


def test_task_filters_and_csv_export(published, procurement_task, procurement_officer):
    client = client_for(procurement_officer)
    by_measure = client.get(reverse("sanctions:tasks"), {"measure": PROCUREMENT})
    assert [t.measure.code for t in by_measure.context["page_obj"]] == [PROCUREMENT]
    by_subject = client.get(reverse("sanctions:tasks"), {"q": published.subject.uscc})
    assert (
        by_subject.context["page_obj"].paginator.count
        == services.tasks_for(procurement_officer).count()
    )
    assert (
        client.get(reverse("sanctions:tasks"), {"overdue": "1"}).context["page_obj"].paginator.count
        == 0
    )

    response = client.get(reverse("sanctions:tasks"), {"measure": PROCUREMENT, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("任务编号,") and len(lines) == 2
    assert PROCUREMENT in lines[1] and published.subject.uscc in lines[1]
    event = AuditEvent.objects.filter(action="sanction.export").latest("id")
    assert event.after["rows"] == 1 and event.after["filters"]["measure"]


def test_overdue_list_for_the_credit_office(published, procurement_task, credit_office, officer):
    # A standing measure's task (CJ-42 信用约谈 at 区市场监管局) is escalated when overdue; the
    # check-triggered procurement task is answered by the check's report and never is.
    task = SanctionTask.objects.get(case__entry=published, department__code="SCJG")
    assert task.measure.trigger == "standing" and task.origin == "entry"
    client = client_for(credit_office)
    assert client.get(reverse("sanctions:overdue")).context["page_obj"].paginator.count == 0
    three_days_ago = timezone.localdate() - timedelta(days=3)
    SanctionTask.objects.filter(pk__in=[task.pk, procurement_task.pk]).update(due_on=three_days_ago)
    response = client.get(reverse("sanctions:overdue"))
    assert response.status_code == 200
    page = response.content.decode()
    assert task.number in page and "区市场监管局" in page
    assert procurement_task.number not in page
    [group] = list(response.context["by_department"])
    assert group["department__code"] == "SCJG" and group["n"] == 1
    [row] = list(response.context["page_obj"])
    assert row.days_overdue == 3
    # The department sees it in its inbox with the overdue filter.
    inbox = client_for(officer).get(reverse("sanctions:tasks"), {"overdue": "1"})
    assert [t.pk for t in inbox.context["page_obj"]] == [task.pk]
    assert "已逾期" in inbox.content.decode()
    # Reminders follow the escalation: the standing task only.
    assert services.remind_overdue() == 1
    assert SanctionTask.objects.filter(reminded_at__isnull=False).get() == task


# --------------------------------------------------------------------------- credit checks


def test_check_page_returns_the_procurement_measure(published, procurement_officer):
    client = client_for(procurement_officer)
    assert client.get(reverse("sanctions:check")).status_code == 200
    response = client.post(
        reverse("sanctions:check"),
        {
            "mode": "single",
            "subject": published.subject.uscc.lower(),
            "matter": "ZFCG",
            "purpose": "政府采购供应商资格审查",
        },
    )
    assert response.status_code == 200
    check = CreditCheck.objects.get()
    assert check.department.code == "CZJ" and check.hit
    page = response.content.decode()
    assert "严重失信主体名单" in page and "区市场监管局" in page
    assert "限制参与政府采购活动" in page and "政府采购法" in page
    assert reverse("sanctions:check_detail", args=[check.pk]) in page
    assert AuditEvent.objects.filter(action="check.subject", object_id=str(check.pk)).exists()


def test_check_of_a_clean_subject_and_refusals_on_the_form(reference, procurement_officer):
    client = client_for(procurement_officer)
    clean = client.post(
        reverse("sanctions:check"),
        {"mode": "single", "subject": "91310115MA1K3BTP2B", "matter": "ZFCG", "purpose": "审查"},
    )
    assert clean.status_code == 200 and "未命中名单" in clean.content.decode()
    unknown = client.post(
        reverse("sanctions:check"),
        {"mode": "single", "subject": "91310115MA1K3BTP2B", "matter": "NOPE", "purpose": "审查"},
    )
    assert unknown.status_code == 200 and unknown.context["form"].errors["matter"]
    assert CreditCheck.objects.count() == 1


def test_window_clerk_without_a_department_gets_a_clear_403(published, window_clerk, credit_office):
    response = client_for(window_clerk).post(
        reverse("sanctions:check"),
        {"mode": "single", "subject": published.subject.uscc, "matter": "ZFCG", "purpose": "核查"},
    )
    assert response.status_code == 403
    assert "信用核查须以部门身份进行" in response.content.decode()
    assert not CreditCheck.objects.exists()
    # The credit office does not check at all.
    assert client_for(credit_office).get(reverse("sanctions:check")).status_code == 403


def test_bulk_upload_of_a_csv_and_its_download(published, procurement_officer):
    client = client_for(procurement_officer)
    content = "\n".join(
        ["统一社会信用代码", published.subject.uscc, "91310115MA1K3BTP2B", "不是代码"]
    ).encode()
    response = client.post(
        reverse("sanctions:check"),
        {
            "mode": "bulk",
            "bulk-file": SimpleUploadedFile("bidders.csv", content, content_type="text/csv"),
            "bulk-matter": "ZFCG",
            "bulk-purpose": "投标人资格审查",
        },
    )
    assert response.status_code == 200, response.content.decode()
    bulk = response.context["bulk"]
    assert bulk.checked == 3 and bulk.hits == 1
    assert [row["subject"] for row in response.context["bulk_hits"]] == [published.subject.uscc]
    assert "下载结果" in response.content.decode()
    assert CreditCheck.objects.filter(batch=bulk.batch).count() == 3

    download = client.get(reverse("sanctions:check_batch", args=[bulk.batch]))
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    lines = download.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 4 and "限制参与政府采购活动" in lines[1]
    other = make_user(Role.DEPT_OFFICER, "SW", username="sw2")
    assert (
        client_for(other).get(reverse("sanctions:check_batch", args=[bulk.batch])).status_code
        == 404
    )


def test_bulk_upload_of_a_plain_list_and_refusals(published, procurement_officer):
    client = client_for(procurement_officer)
    codes = f"{published.subject.uscc}\n91310115MA1K3BTP2B\n\n".encode()
    ok = client.post(
        reverse("sanctions:check"),
        {
            "mode": "bulk",
            "bulk-file": SimpleUploadedFile("codes.txt", codes),
            "bulk-matter": "ZFCG",
            "bulk-purpose": "审查",
        },
    )
    assert ok.context["bulk"].checked == 2 and ok.context["bulk"].hits == 1
    too_many = "\n".join(f"9131011500000{i:05d}" for i in range(10_001)).encode()
    refused = client.post(
        reverse("sanctions:check"),
        {
            "mode": "bulk",
            "bulk-file": SimpleUploadedFile("many.txt", too_many),
            "bulk-matter": "ZFCG",
            "bulk-purpose": "审查",
        },
    )
    assert refused.status_code == 200 and refused.context["bulk"] is None
    assert "一次最多核查 10000 个主体" in refused.content.decode()
    columns = client.post(
        reverse("sanctions:check"),
        {
            "mode": "bulk",
            "bulk-file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n"),
            "bulk-matter": "ZFCG",
            "bulk-purpose": "审查",
        },
    )
    assert columns.context["bulk_form"].errors["file"]
    assert CreditCheck.objects.count() == 2


def test_report_use_form_closes_the_matching_task(published, procurement_officer, officer):
    client = client_for(procurement_officer)
    client.post(
        reverse("sanctions:check"),
        {"mode": "single", "subject": published.subject.uscc, "matter": "ZFCG", "purpose": "审查"},
    )
    check = CreditCheck.objects.get()
    url = reverse("sanctions:check_detail", args=[check.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"] is not None
    assert "限制参与政府采购活动" in page.content.decode()
    assert "已形成本部门实施任务" in page.content.decode()  # CJ-01 is on-application
    # Another department's officer never sees the check.
    assert client_for(officer).get(url).status_code == 404
    refused = client.post(url, {"outcome": "applied", "document_no": ""})
    assert "已采取措施的，请填写文书号" in refused.content.decode()
    response = client.post(url, {"outcome": "applied", "document_no": "沪浦财采〔2026〕3号"})
    assert response.status_code == 302
    task = SanctionTask.objects.get(credit_check=check)  # the task the check triggered
    assert task.origin == "check" and task.measure.code == PROCUREMENT
    assert task.status == "applied" and task.document_no == "沪浦财采〔2026〕3号"
    done = client.get(url, follow=True)
    assert done.context["form"] is None and task.number in done.content.decode()
    history = client.get(reverse("sanctions:checks"), {"hit": "1", "reported": "1"})
    assert [c.pk for c in history.context["page_obj"]] == [check.pk]
    # The subject's standing tasks (other measures, other departments) stay pending.
    assert SanctionTask.objects.filter(case__entry=published, status="pending").exists()


def test_bulk_feedback_of_a_selection_on_the_task_list(published, officer, other_officer):
    from creditplus.sanctions import checks

    # 区市场监管局: its standing task (CJ-42) and two check-triggered ones (CJ-06, CJ-05).
    checks.check_subject(officer, published.subject.uscc, "XZXK", "许可审查")
    checks.check_subject(officer, published.subject.uscc, "GZCN", "告知承诺审查")
    own = list(SanctionTask.objects.filter(department__code="SCJG").order_by("id"))
    assert len(own) == 3
    client = client_for(officer)
    page = client.get(reverse("sanctions:tasks"))
    html = page.content.decode()
    assert page.context["bulk_form"] is not None and "批量反馈所选任务" in html
    assert html.count('name="task"') == 3
    url = reverse("sanctions:tasks_feedback")
    assert client.get(url).status_code == 405

    # Refusals: nothing ticked; applied without matter and document; all or none.
    nothing = client.post(url, {"outcome": "not_applicable", "note": "x"}, follow=True)
    assert "请先勾选要反馈的任务" in nothing.content.decode()
    chosen = [own[0].pk, own[1].pk]
    refused = client.post(url, {"task": chosen, "outcome": "applied"}, follow=True)
    assert "已实施的，请填写实施事项和文书号" in refused.content.decode()
    assert set(SanctionTask.objects.filter(pk__in=chosen).values_list("status", flat=True)) == {
        "pending"
    }
    # Another department's task in the selection: 404, and nothing changes.
    assert (
        client_for(other_officer)
        .post(url, {"task": chosen, "outcome": "not_applicable", "note": "x"})
        .status_code
        == 404
    )
    too_many = client.post(
        url,
        {"task": list(range(1, services.MAX_BULK_FEEDBACK + 2)), "outcome": "failed", "note": "x"},
        follow=True,
    )
    assert "一次最多反馈" in too_many.content.decode()

    events = AuditEvent.objects.filter(action="sanction.feedback").count()
    done = client.post(
        url,
        {
            "task": chosen,
            "outcome": "not_applicable",
            "note": "本期无此情形",
            "back": "status=pending",
        },
    )
    assert done.status_code == 302 and done["Location"].endswith("/tasks/?status=pending")
    statuses = dict(
        SanctionTask.objects.filter(department__code="SCJG").values_list("pk", "status")
    )
    assert statuses == {
        own[0].pk: "not_applicable",
        own[1].pk: "not_applicable",
        own[2].pk: "pending",
    }
    assert AuditEvent.objects.filter(action="sanction.feedback").count() == events + 2
    assert "已批量反馈 2 项任务" in client.get(done["Location"]).content.decode()


def test_feedback_refused_to_another_department_is_a_403_page_saying_why(published, platform_admin):
    # The administrator may open every task, but only the task's department feeds back: the
    # service's refusal is the one 403 page with its reason, not a message on the task page.
    task = SanctionTask.objects.filter(case__entry=published, status="pending").first()
    response = client_for(platform_admin).post(
        reverse("sanctions:task", args=[task.pk]), {"outcome": "failed", "note": "无法实施"}
    )
    assert response.status_code == 403
    assert "只能反馈本部门的实施任务" in response.content.decode()
    task.refresh_from_db()
    assert task.status == "pending"
