import json
from pathlib import Path
from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.evaluation.snapshot import PARTITIONS, write_snapshot


class Command(AuditedCommand):
    help = (
        "写出批量计算所读的快照（Parquet）：市场主体、有效信用行为、现行信用信息、名单、关联关系、"
        "行为规则和归集批次，以统一社会信用代码为主体键、按其哈希分区，供 Spark 等引擎在一台或多台"
        "机器上评价与统计；多个区的快照可一起读取。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", type=Path, required=True, help="快照目录")
        parser.add_argument("--partitions", type=int, default=PARTITIONS, help="分区数")
        parser.add_argument("--json", action="store_true", help="最后一行输出 JSON（各表行数）")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = write_snapshot(
            options["out"],
            partitions=options["partitions"],
            progress=lambda step: self.stderr.write(f"已写出 {step}"),
        )
        tables = "，".join(f"{k} {v:,}" for k, v in manifest["tables"].items())
        self.stdout.write(f"快照已写出到 {options['out']}：{tables}")
        if options["json"]:
            self.stdout.write(json.dumps(manifest["tables"], ensure_ascii=False))
