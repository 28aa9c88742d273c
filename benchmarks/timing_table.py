"""The README's timing table, from a finished run's benchmarks/job_costs.csv (rule job_costs).

    python3 benchmarks/timing_table.py RUN_DIR [--wall SECONDS]

prints one Markdown row per rule (jobs, job seconds in total and at most, peak memory, what a
cluster profile can ask for) and, with ``--wall``, the run's wall time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def table(costs: pd.DataFrame, wall: float | None = None) -> str:
    # The same table the docs quote (docs/running.md), written by one function.
    from useless_params.docs_tables import job_costs_table

    return job_costs_table(costs, wall).rstrip("\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--wall", type=float, help="the run's wall time in seconds")
    args = parser.parse_args(argv)
    path = args.run_dir / "benchmarks" / "job_costs.csv"
    if not path.is_file():
        print(f"error: {path}: no such file (run `snakemake all` there first)", file=sys.stderr)
        return 1
    print(table(pd.read_csv(path), args.wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
