"""What every job cost, from the TSVs Snakemake's ``benchmark:`` directive writes: wall time,
CPU time and peak memory (max_rss, MB) per rule, to size a cluster profile's ``mem_mb`` and
``runtime`` from measurements instead of guesses."""

from __future__ import annotations

import math
import os

import pandas as pd

from .errors import REBUILD, InputError

# Snakemake's benchmark columns this summary reads (s: wall seconds; max_rss: MB).
BENCHMARK_COLUMNS = ("s", "max_rss", "cpu_time")
COLUMNS = ("rule", "jobs", "total_seconds", "mean_seconds", "max_seconds", "mean_cpu_seconds", "max_rss_mb",
           "suggested_mem_mb", "suggested_runtime_min")
# The suggestion a profile can take: the largest measured peak and time with this margin,
# rounded up (memory to 100 MB, time to whole minutes).
MARGIN = 1.5


def process_cost() -> dict[str, float]:
    """This process's cost so far, in a benchmark TSV's units: wall seconds since it started,
    peak resident memory (MB) and CPU seconds. For rules that cannot have a ``benchmark:``
    (Snakemake refuses one on a rule eligible for ``--cache``, such as train_network)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:  # start time in clock ticks since boot (field 22 of /proc/self/stat), Linux only
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            wall = float(uptime.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        wall = float("nan")
    return {"s": round(wall, 2), "max_rss": round(usage.ru_maxrss / 1024, 2),  # ru_maxrss: KB on Linux
            "cpu_time": round(usage.ru_utime + usage.ru_stime, 2)}


def read_benchmark(path: str | os.PathLike) -> dict[str, float]:
    """One job's benchmark TSV (one row; "NA" where a job ended before the first sample), or a
    JSON job summary whose ``job_cost`` holds ``process_cost()``."""
    if str(path).endswith(".json"):
        import json

        try:
            with open(path) as handle:
                cost = json.load(handle)["job_cost"]
            return {c: float(cost[c]) for c in BENCHMARK_COLUMNS}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: no job_cost with {', '.join(BENCHMARK_COLUMNS)} ({exc}); {REBUILD}") from None
    try:
        frame = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a Snakemake benchmark file ({exc}); {REBUILD}") from None
    missing = [c for c in BENCHMARK_COLUMNS if c not in frame.columns]
    if missing or len(frame) != 1:
        raise InputError(f"{path}: not a Snakemake benchmark file (needs one row with {', '.join(BENCHMARK_COLUMNS)}); "
                         f"{REBUILD}")
    return {c: float(frame[c].iloc[0]) for c in BENCHMARK_COLUMNS}


def summarise_job_costs(paths: list[str], rules: list[str]) -> pd.DataFrame:
    """Per rule (heaviest total first): jobs, wall seconds (total, mean, max), mean CPU seconds,
    the largest peak memory, and the ``mem_mb`` / ``runtime`` a profile could ask for."""
    if len(paths) != len(rules):
        raise ValueError(f"{len(paths)} benchmark files but {len(rules)} rule names")
    frame = pd.DataFrame([{"rule": rule, **read_benchmark(path)} for path, rule in zip(paths, rules)])
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    summary = frame.groupby("rule").agg(jobs=("s", "size"), total_seconds=("s", "sum"), mean_seconds=("s", "mean"),
                                        max_seconds=("s", "max"), mean_cpu_seconds=("cpu_time", "mean"),
                                        max_rss_mb=("max_rss", "max")).reset_index()
    summary["suggested_mem_mb"] = [
        int(100 * math.ceil(MARGIN * rss / 100)) if math.isfinite(rss) else float("nan") for rss in summary["max_rss_mb"]]
    summary["suggested_runtime_min"] = [max(1, int(math.ceil(MARGIN * s / 60))) for s in summary["max_seconds"]]
    return summary.sort_values("total_seconds", ascending=False, kind="stable")[list(COLUMNS)].reset_index(drop=True)
