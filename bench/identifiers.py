"""Throughput of identifier validation: vectorized Polars vs a python-stdnum loop.

Usage: ``.venv/bin/python bench/identifiers.py --n 1000000``

Generates ``n`` valid-looking codes of each kind (about 10 % with one character mutated, so
both the accepting and the rejecting paths are exercised), validates them with
:func:`uscc_checks` / :func:`resident_id_checks` and with ``stdnum.cn.*.is_valid`` in a
Python loop, and prints validations per second. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
from stdnum.cn import ric, uscc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Imported after the sys.path tweak so the script runs from a checkout without installing.
from creditplus.identifiers import (
    USCC_ALPHABET,
    check_resident_id,
    check_uscc,
    resident_id_check_char,
    resident_id_checks,
    uscc_check_char,
    uscc_checks,
)


def make_usccs(n: int, rng: random.Random) -> list[str]:
    """``n`` codes: valid ones, every tenth with one character changed."""
    out = []
    for i in range(n):
        head = (
            rng.choice("912N5Y")
            + rng.choice("1239")
            + "".join(rng.choices("0123456789", k=6))
            + "".join(rng.choices(USCC_ALPHABET, k=9))
        )
        code = head + uscc_check_char(head)
        if i % 10 == 0:
            pos = rng.randrange(18)
            code = code[:pos] + rng.choice(USCC_ALPHABET) + code[pos + 1 :]
        out.append(code)
    return out


def make_resident_ids(n: int, rng: random.Random) -> list[str]:
    """``n`` numbers: valid ones, every tenth with one character changed."""
    divisions = ["310115", "310101", "360426", "440113", "110105"]
    out = []
    for i in range(n):
        head = (
            rng.choice(divisions)
            + f"{rng.randint(1940, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            + f"{rng.randint(0, 999):03d}"
        )
        number = head + resident_id_check_char(head)
        if i % 10 == 0:
            pos = rng.randrange(18)
            number = number[:pos] + rng.choice("0123456789") + number[pos + 1 :]
        out.append(number)
    return out


def rate(label: str, n: int, fn: Callable[[], object], repeat: int = 1) -> float:
    """Run ``fn`` ``repeat`` times, print and return validations per second of the best run.

    The vectorized runs are repeated because the first one also pays one-off costs (thread
    pool start, regex compilation) that ingest of a real batch pays only once per process.
    """
    elapsed = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        elapsed = min(elapsed, time.perf_counter() - start)
    per_second = n / elapsed
    best = f" (best of {repeat})" if repeat > 1 else ""
    print(f"{label:<38} {n:>10,d} in {elapsed:7.3f} s  {per_second:>14,.0f} /s{best}")
    return per_second


def main() -> None:
    """Parse arguments, generate data, time each validator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values per identifier kind")
    parser.add_argument(
        "--loop-n",
        type=int,
        default=None,
        help="values for the Python loops (default: same as --n)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="vectorized runs (best is shown)")
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    loop_n = min(args.loop_n or args.n, args.n)

    print(f"generating {args.n:,d} codes of each kind…")
    usccs = make_usccs(args.n, rng)
    rics = make_resident_ids(args.n, rng)
    uscc_series = pl.Series("uscc", usccs)
    ric_series = pl.Series("ric", rics)

    print("unified social credit code")
    rate("  vectorized uscc_checks", args.n, lambda: uscc_checks(uscc_series), args.repeat)
    rate("  stdnum uscc.is_valid loop", loop_n, lambda: [uscc.is_valid(c) for c in usccs[:loop_n]])
    rate("  check_uscc loop", loop_n, lambda: [check_uscc(c) for c in usccs[:loop_n]])
    print("resident ID number")
    rate(
        "  vectorized resident_id_checks",
        args.n,
        lambda: resident_id_checks(ric_series),
        args.repeat,
    )
    rate("  stdnum ric.is_valid loop", loop_n, lambda: [ric.is_valid(c) for c in rics[:loop_n]])
    rate("  check_resident_id loop", loop_n, lambda: [check_resident_id(c) for c in rics[:loop_n]])


if __name__ == "__main__":
    main()
