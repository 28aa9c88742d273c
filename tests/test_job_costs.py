"""Job costs from Snakemake's benchmark TSVs: per-rule sums, peaks, suggestions, bad files."""

import json

import pandas as pd
import pytest

from useless_params.errors import InputError
from useless_params.job_costs import process_cost, read_benchmark, summarise_job_costs

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _tsv(tmp_path, name, seconds, rss, cpu):
    path = tmp_path / name
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t{cpu}\n")
    return str(path)


def test_per_rule_sums_peaks_and_suggestions(tmp_path):
    paths = [_tsv(tmp_path, "a.tsv", 10.0, 300.0, 9.0), _tsv(tmp_path, "b.tsv", 50.0, 410.0, 45.0),
             _tsv(tmp_path, "c.tsv", 0.2, "NA", 0.1)]
    metrics = tmp_path / "training.json"
    metrics.write_text(json.dumps({"job_cost": {"s": 100.0, "max_rss": 900.0, "cpu_time": 99.0}}))
    costs = summarise_job_costs(paths + [str(metrics)], ["disturb", "disturb", "table1", "train_network"])
    costs = costs.set_index("rule")
    assert list(costs.index) == ["train_network", "disturb", "table1"]  # heaviest total first
    assert costs.loc["disturb", "jobs"] == 2 and costs.loc["disturb", "total_seconds"] == 60
    assert costs.loc["disturb", "max_rss_mb"] == 410 and costs.loc["disturb", "suggested_mem_mb"] == 700  # 615 up
    assert costs.loc["disturb", "suggested_runtime_min"] == 2  # 75 s
    assert costs.loc["train_network", "suggested_mem_mb"] == 1400
    assert pd.isna(costs.loc["table1", "max_rss_mb"]) and costs.loc["table1", "suggested_runtime_min"] == 1


def test_a_file_that_is_not_a_benchmark_is_named(tmp_path):
    bad = tmp_path / "x.tsv"
    bad.write_text("not\ta benchmark\n")
    with pytest.raises(InputError, match=r"x.tsv: not a Snakemake benchmark file"):
        read_benchmark(bad)
    metrics = tmp_path / "training.json"
    metrics.write_text("{}")
    with pytest.raises(InputError, match=r"training.json: no job_cost"):
        read_benchmark(metrics)


def test_process_cost_measures_this_process():
    cost = process_cost()
    assert cost["s"] > 0 and cost["max_rss"] > 10 and cost["cpu_time"] > 0
