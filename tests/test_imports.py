"""Every module of creditplus imports on its own in a fresh process with settings configured.

An import that works only because another module happened to be imported first (the old
``creditplus.api`` ↔ app ``api`` cycle) breaks management commands, workers and tests that
start from that module. One child process sets Django up once, then forks one grandchild per
module so that each import starts from the state a fresh ``django.setup()`` leaves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import creditplus

PACKAGE_DIR = Path(creditplus.__file__).parent

_CHILD = r"""
import importlib, json, os, sys, traceback
import django
django.setup()
failures = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failures[name] = output[-2000:]
print(json.dumps(failures))
"""


def all_modules() -> list[str]:
    """Dotted names of every module in the package, migrations excluded (Django generates
    and imports them itself)."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        names.append(".".join(parts))
    return names


def fresh_env() -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="creditplus.settings")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PACKAGE_DIR.parent), env.get("PYTHONPATH", "")])
    )
    return env


def test_every_module_imports_in_isolation():
    modules = all_modules()
    assert "creditplus.records.api" in modules and len(modules) > 100
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(modules)],
        capture_output=True,
        text=True,
        env=fresh_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n\n".join(f"{name}:\n{tb}" for name, tb in failures.items())


def test_an_app_api_module_imports_first_in_a_plain_process():
    code = "import django; django.setup(); import creditplus.records.api, creditplus.sanctions.api"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=fresh_env(), timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
