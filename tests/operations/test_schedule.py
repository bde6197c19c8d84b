"""The schedule as code: every entry is a command that exists with options it accepts, and
each scheduled command runs alone and records its runs."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import connection, connections
from django.utils import timezone

from creditplus.accounts.jobs import advisory_key, exclusive, last_runs
from creditplus.accounts.models import JobRun
from creditplus.operations.schedule import SCHEDULE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("job", SCHEDULE, ids=lambda j: j.name)
def test_every_scheduled_entry_is_a_command_with_options_it_accepts(job):
    name, *args = job.argv
    commands = get_commands()
    assert name in commands, f"{job.name}: no command {name}"
    command = load_command_class(commands[name], name)
    command.create_parser("creditplus", name).parse_args(args)  # exits on an unknown option
    assert job.interval.total_seconds() > 0 and len(job.cron.split()) == 5


def test_cron_and_systemd_output_cover_every_job_and_the_services():
    out = StringIO()
    call_command("schedule", "--bin", "/srv/cp/bin/creditplus", "--user", "credit", stdout=out)
    cron = [line for line in out.getvalue().splitlines() if line and not line.startswith("#")]
    entries = [line for line in cron if "=" not in line.split()[0]]
    assert len(entries) == len(SCHEDULE)
    for job, line in zip(SCHEDULE, entries, strict=True):
        fields = line.split(maxsplit=6)
        assert " ".join(fields[:5]) == job.cron and fields[5] == "credit"
        assert f"/srv/cp/bin/creditplus {job.command} >>" in fields[6]

    out = StringIO()
    call_command("schedule", "--format", "systemd", stdout=out)
    units = out.getvalue()
    assert "creditplus-web.service" in units and "creditplus-worker.service" in units
    for job in SCHEDULE:
        assert f"creditplus-{job.name}.timer" in units
        assert f"creditplus {job.command}\n" in units
    assert "OnCalendar=*:0/5" in units and "OnCalendar=*-*-* 02:00:00" in units
    # The services' commands exist with the options they are given, like the jobs'.
    worker = next(line for line in units.splitlines() if "db_worker" in line)
    name, *args = worker.split("creditplus ", 1)[1].split()
    command = load_command_class(get_commands()[name], name)
    command.create_parser("creditplus", name).parse_args(args)


def test_a_scheduled_command_records_its_run_and_refuses_to_overlap(reference):
    call_command("lists_maintain", stdout=StringIO())
    run = JobRun.objects.get(name="lists_maintain")
    assert run.ok and run.seconds >= 0 and "期满移出" in run.summary

    err = StringIO()
    with exclusive("lists_maintain") as held:
        assert held
        with exclusive("lists_maintain") as second:
            assert not second
        call_command("lists_maintain", stdout=StringIO(), stderr=err)
    assert "上一次运行尚未结束" in err.getvalue()
    assert JobRun.objects.filter(name="lists_maintain").count() == 1  # the overlap did nothing


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory locks")
def test_a_job_running_in_another_database_on_the_server_does_not_block_this_one(reference):
    """Advisory locks are the server's: the job's lock is keyed by database too."""
    here = str(connection.settings_dict["NAME"])
    assert advisory_key(here, "lists_maintain") != advisory_key("another_site", "lists_maintain")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # another site's run of the same job
            cursor.execute(
                "SELECT pg_advisory_lock(%s)", [advisory_key("another_site", "lists_maintain")]
            )
        with exclusive("lists_maintain") as held:
            assert held
        with other.cursor() as cursor:  # a run of it in this database, from another process
            cursor.execute("SELECT pg_advisory_lock(%s)", [advisory_key(here, "lists_maintain")])
        with exclusive("lists_maintain") as held:
            assert not held
    finally:
        other.close()


def test_a_failing_run_is_recorded_with_its_error(reference):
    with pytest.raises(SystemExit):
        call_command(
            "integrity_compute", "--period", "2026Q9", stdout=StringIO(), stderr=StringIO()
        )
    run = JobRun.objects.get(name="integrity_compute")
    assert not run.ok and "评价周期编码" in run.error


def test_the_last_runs_cost_two_reads_per_job_not_per_run(reference, django_assert_num_queries):
    """The operations page and the health report read the latest run of each job: with the
    runs of weeks kept, a read per stored run would grow without end."""
    now = timezone.now()
    JobRun.objects.bulk_create(
        JobRun(name=name, started_at=now - timedelta(hours=i), seconds=1, ok=i % 2 == 1)
        for name in ("lists_maintain", "integrity_compute")
        for i in range(20)
    )
    with django_assert_num_queries(1 + 2 * 2):
        runs = last_runs()
    assert set(runs) == {"lists_maintain", "integrity_compute"}
    assert runs["lists_maintain"]["last"].started_at == now
    assert runs["lists_maintain"]["last_ok"].started_at == now - timedelta(hours=1)
