import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from django.core.management.base import CommandError
from django.utils import timezone
from tqdm import tqdm

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.evaluation import spark
from creditplus.evaluation.choices import RunMode
from creditplus.evaluation.models import run_summary
from creditplus.evaluation.services import evaluate, get_model, import_scores, spec_of

PHASES = ("extract", "features", "score", "write")


class Command(ScheduledCommand):
    help = (
        "信用评价：--all 评价全部市场主体，--changed 只评价上次评价以来信息或名单有变化的主体"
        "（建议每晚 --all、白天定时 --changed）。默认使用启用的评价模型。"
    )

    def add_arguments(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--all", action="store_true", help="全量评价")
        group.add_argument("--changed", action="store_true", help="增量评价")
        parser.add_argument("--model", help="评价模型版本编码（默认：启用的模型）")
        parser.add_argument(
            "--as-of", type=date.fromisoformat, help="评价基准日 YYYY-MM-DD（默认：今天）"
        )
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON 结果")
        parser.add_argument(
            "--engine",
            choices=["polars", "spark"],
            default="polars",
            help="polars：本机（默认）；spark：在 Spark 上读取快照评价（需 --snapshot）",
        )
        parser.add_argument(
            "--snapshot",
            type=Path,
            action="append",
            help="creditplus snapshot 写出的快照目录；可重复，多个区的快照一起评价",
        )
        parser.add_argument("--master", default="local[2]", help="Spark master（默认 local[2]）")
        parser.add_argument("--scores-out", type=Path, help="Spark：评价结果 Parquet 目录")
        parser.add_argument(
            "--import", dest="import_scores", action="store_true", help="Spark：结果导入本库"
        )

    def job_name(self, options: dict[str, Any]) -> str:
        # Nightly --all and hourly --changed are separate entries of the schedule.
        return "evaluate_all" if options.get("all") else "evaluate_changed"

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_model(options["model"])
        if options["engine"] == "spark":
            return self._spark(model, options)
        bar = tqdm(
            total=len(PHASES),
            desc=f"评价 {model.code}",
            unit="阶段",
            file=self.stderr._out,
            disable=None,
        )

        def progress(step: str) -> None:
            if step in PHASES:
                bar.update(1)
            bar.set_postfix_str(step)

        try:
            run = evaluate(
                mode=RunMode.ALL if options["all"] else RunMode.CHANGED,
                model=model,
                as_of=options["as_of"],
                actor=self.actor_name,
                progress=progress,
            )
        finally:
            bar.close()
        grades = "，".join(f"{g} {n:,}" for g, n in run_summary(run)["grades"].items())
        self.stdout.write(
            f"{model.code} {run.get_mode_display()}：评价 {run.evaluated:,} 个主体（{grades}），"
            f"等级变化 {run.grade_changes:,}，用时 {run.seconds:.1f} 秒 "
            + " ".join(f"{k}={v:.2f}s" for k, v in run.phases.items())
        )
        if options["json"]:
            self.stdout.write(json.dumps(run_summary(run), ensure_ascii=False))

    def _spark(self, model: Any, options: dict[str, Any]) -> None:
        if not options["all"] or not options["snapshot"]:
            raise CommandError("Spark 引擎只做全量评价：请使用 --all 和 --snapshot DIR")
        started = time.perf_counter()
        as_of = options["as_of"] or timezone.localdate()
        dirs = options["snapshot"]
        out = options["scores_out"] or dirs[0] / "scores" / f"{model.code}-{as_of.isoformat()}"
        summary = spark.evaluate(spec_of(model), dirs, as_of, out, options["master"])
        if options["import_scores"]:
            frame = pl.read_parquet(out / "*.parquet")
            run, foreign = import_scores(model, frame, as_of=as_of, actor=self.actor_name)
            self.stdout.write(
                f"已导入 {run.evaluated:,} 个主体的评价结果（另有 {foreign:,} 个不属于本库）"
            )
        seconds = round(time.perf_counter() - started, 3)
        grades = "，".join(f"{g} {n:,}" for g, n in summary["grades"].items())
        self.stdout.write(
            f"{model.code} Spark 全量：评价 {summary['evaluated']:,} 个主体（{grades}），"
            f"用时 {seconds:.1f} 秒，结果写入 {out}"
        )
        if options["json"]:
            self.stdout.write(json.dumps({**summary, "seconds": seconds}, ensure_ascii=False))
