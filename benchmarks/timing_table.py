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
    rows = ["| rule | jobs | job time, total | longest job | peak memory (max_rss) | profile asks for |",
            "|---|---:|---:|---:|---:|---|"]
    for row in costs.itertuples():
        mem = "n/a" if pd.isna(row.max_rss_mb) else f"{row.max_rss_mb:,.0f} MB"
        ask = "n/a" if pd.isna(row.suggested_mem_mb) else f"{int(row.suggested_mem_mb):,} MB"
        rows.append(f"| `{row.rule}` | {row.jobs} | {row.total_seconds:,.0f} s | {row.max_seconds:,.1f} s | {mem} | "
                    f"{ask}, {row.suggested_runtime_min} min |")
    total = costs["total_seconds"].sum()
    rows.append(f"| all jobs | {costs['jobs'].sum()} | {total:,.0f} s | | | |")
    if wall is not None:
        rows.append(f"| wall time of `snakemake all` | | {wall / 60:.1f} min | | | |")
    return "\n".join(rows)


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
