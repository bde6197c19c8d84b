#!/usr/bin/env python3
"""List the functions in creditplus/ longer than a limit (default 80 lines), longest first.

Generated migrations are left out. Usage: scripts/long-functions.py [LIMIT] [ROOT]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def long_functions(root: Path, limit: int) -> list[tuple[int, str, str]]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = node.end_lineno - start + 1
                if length > limit:
                    found.append((length, f"{path}:{node.lineno}", node.name))
    return sorted(found, reverse=True)


if __name__ == "__main__":
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("creditplus")
    for length, where, name in long_functions(root, limit):
        print(f"{length:4d}  {where}  {name}")
