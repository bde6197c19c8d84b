import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.accounts.services import get_department
from creditplus.catalog.models import CatalogItem
from creditplus.records.choices import BatchSource
from creditplus.records.ingest import IngestOptions, ingest_file

STAGES = {"validate": "校验", "subjects": "主体", "compare": "比对", "write": "写入"}


class Command(AuditedCommand):
    help = "归集一个文件（CSV/XLSX/JSON）到指定信息事项；整批成功或整批不写入。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="文件路径")
        parser.add_argument("--item", required=True, help="信息事项编码，例如 CF")
        parser.add_argument("--dept", required=True, help="部门编码或统一社会信用代码")
        parser.add_argument(
            "--batch-id", default="", help="部门自己的批次号（重复提交时不重复归集）"
        )
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON 结果")

    def handle(
        self, *args: Any, file: str, item: str, dept: str, batch_id: str, **options: Any
    ) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        catalog_item = CatalogItem.objects.filter(code=item.upper()).first()
        if catalog_item is None:
            raise CommandError(f"信息事项不存在：{item}")
        department = get_department(dept)
        bar = tqdm(
            total=0,
            unit="行",
            disable=options["json"] or not self.stderr.isatty(),
            file=self.stderr._out,
        )

        def progress(stage: str, done: int, total: int) -> None:
            bar.set_description(STAGES.get(stage, stage))
            bar.total = total
            bar.n = done
            bar.refresh()

        batch = ingest_file(
            path.read_bytes(),
            IngestOptions(
                item=catalog_item,
                department=department,
                source=BatchSource.CLI,
                file_name=path.name,
                external_id=batch_id,
                actor=self.actor_name,
                progress=progress,
            ),
        )
        bar.close()
        # A refused file says so in the JSON line too, not only on stderr.
        counts = {**batch.counts(), "status": batch.status, "error_code": batch.error_code}
        if batch.error_code:
            self.stderr.write(f"文件被拒收 [{batch.error_code}] {batch.error_message}")
        self.stdout.write(
            f"批次 {batch.pk}：提交 {batch.submitted}，新增 {batch.accepted}，更新 {batch.updated}，"
            f"未变 {batch.unchanged}，拒收 {batch.rejected}（{batch.seconds:.2f} 秒）"
        )
        if options["json"]:
            self.stdout.write(json.dumps(counts, ensure_ascii=False))
