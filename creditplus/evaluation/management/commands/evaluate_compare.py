import json
from typing import Any

from creditplus.accounts.management.commands._base import AuditedCommand
from creditplus.evaluation.services import compare, format_comparison, get_model


class Command(AuditedCommand):
    help = (
        "评价模型版本对比：候选版本与启用版本的等级分布、群体稳定性指数（PSI）和等级迁移矩阵。"
        "候选版本须先全量评价（creditplus evaluate --all --model 版本）。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("candidate", help="候选模型版本编码")
        parser.add_argument("--baseline", help="对比基准（默认：启用的模型）")
        parser.add_argument("--json", action="store_true", help="输出 JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        result = compare(get_model(options["candidate"]), get_model(options["baseline"]))
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self.stdout.write(format_comparison(result))
