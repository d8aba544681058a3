"""Benchmarks: prints one table. Every row gives its time, and where a baseline is measured in the
same run, the ratio to it (this machine is shared and noisy: compare ratios, not seconds).

    python benchmarks/run.py                 # everything at 100,000 learners
    python benchmarks/run.py --learners 20000 --only foundation
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, print_table  # noqa: E402

SUITES = ("foundation", "server", "sync", "tui", "search", "reports")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", action="append", choices=SUITES, help="run only these suites")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fabriqueterm-bench-") as workdir:
        for name in args.only or SUITES:
            try:
                module = importlib.import_module(f"bench_{name}")
            except ModuleNotFoundError as error:
                if error.name != f"bench_{name}":
                    raise
                continue
            print(f"… {name}", file=sys.stderr, flush=True)
            rows.extend(module.rows(Path(workdir), learners=args.learners, seed=args.seed))
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
