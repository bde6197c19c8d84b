import json
from datetime import date
from typing import Any

from tqdm import tqdm

from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.evaluation.choices import RunMode
from creditplus.evaluation.models import run_summary
from creditplus.evaluation.services import evaluate, get_model

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

    def job_name(self, options: dict[str, Any]) -> str:
        # Nightly --all and hourly --changed are separate entries of the schedule.
        return "evaluate_all" if options.get("all") else "evaluate_changed"

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_model(options["model"])
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
