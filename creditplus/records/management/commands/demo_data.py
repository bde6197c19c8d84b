import json
from pathlib import Path
from typing import Any

from django.conf import settings
from tqdm import tqdm

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.records.bulkload import load_directory
from creditplus.records.demo import SCALES, generate


class Command(AuditedCommand):
    help = "生成演示数据文件（各部门、各信息事项，真实格式，含少量错误行）；--load 通过正常归集流程载入。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--subjects", type=int, default=3000, help="市场主体数量（默认 3000）")
        parser.add_argument(
            "--scale", choices=sorted(SCALES), help="预设规模；pudong = 30 万主体、约 1690 万条记录"
        )
        parser.add_argument("--out", default=None, help="输出目录（默认 var/demo）")
        parser.add_argument("--seed", type=int, default=20171115)
        parser.add_argument(
            "--load",
            action="store_true",
            help="生成后经批量载入（creditplus load）归集入库（可重复执行，不会重复归集）",
        )

    def handle(
        self,
        *args: Any,
        subjects: int,
        scale: str | None,
        out: str | None,
        seed: int,
        load: bool,
        **options: Any,
    ) -> None:
        out_dir = Path(out) if out else Path(settings.VAR_DIR) / "demo"
        count = SCALES[scale] if scale else subjects
        manifest = out_dir / "manifest.json"
        if manifest.exists() and _same_run(manifest, count, seed):
            files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
            self.stdout.write(f"沿用已生成的演示数据：{out_dir}（{len(files)} 个文件）")
        else:
            bar = tqdm(
                total=0,
                unit="行",
                desc="生成",
                disable=not self.stderr.isatty(),
                file=self.stderr._out,
            )

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            files = [f.__dict__ for f in generate(out_dir, count, seed=seed, progress=progress)]
            bar.close()
            rows = sum(f["rows"] for f in files)
            self.stdout.write(f"已生成 {len(files)} 个文件、{rows} 行（{count} 个主体）：{out_dir}")
        if load:
            summary = load_directory(
                out_dir,
                actor=self.actor_name,
                show_progress=self.stderr.isatty(),
                stream=self.stderr._out,
            )
            self.stdout.write(
                f"已归集 {summary['files']} 个文件：提交 {summary['submitted']}，新增 {summary['accepted']}，"
                f"更新 {summary['updated']}，未变 {summary['unchanged']}，拒收 {summary['rejected']}"
                f"（{summary['seconds']:.1f} 秒，{summary['rows_per_second']} 行/秒）"
            )


def _same_run(manifest: Path, subjects: int, seed: int) -> bool:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return data.get("subjects") == subjects and data.get("seed") == seed
