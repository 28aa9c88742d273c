"""The benchmark runs end to end on the tiny configuration (it reports speed; no timing is asserted)."""

import json
import subprocess
import sys

from workflow_helpers import REPO


def test_benchmark_runs_on_tiny_configuration(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/run_benchmark.py"), "--tiny", "--keras-evals", "2",
                           "--delta-check-every", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "benchmark.json").read_text())
    kinds = [row["kind"] for row in result["evaluator"]["per_kind"]]
    assert kinds == ["bias layer 0", "bias layer 1", "bias layer 2", "bias all layers",
                     "kernel layer 0", "kernel layer 1", "kernel layer 2", "kernel all layers"]
    assert result["evaluator"]["grid_speedup"] > 0 and result["evaluator"]["grid_over_dense"] > 0
    assert set(result["evaluator"]["job_phases"]) >= {"read_inputs_s", "build_disturbed_stacks_s", "evaluate_s"}
    assert result["training"]["workflow"]["seconds_per_epoch"] > 0
    throughput = result["training_throughput"]["per_network"]
    assert [row["network"] for row in throughput] == ["configured network 784-100-100-10",
                                                       "LeNet-300-100 preset 784-300-100-10"]
    for row in throughput:  # the floor counts products only: the loop, doing more, cannot be below it
        assert row["floor"]["seconds_per_epoch"] > 0 and row["loop_over_floor"] > 1 and row["loop_masked_over_floor"] > 1
        assert set(row["lockstep_masked_seconds_per_network_epoch"]) == {"4", "10"}
        assert all(v > 0 for v in row["lockstep_over_floor"].values())
        # The lockstep layout's own floor: products only, so the lockstep loop cannot be below it either.
        assert set(row["lockstep_floor_seconds_per_network_epoch"]) == {"4", "10"}
        assert all(v > 1 for v in row["lockstep_over_own_floor"].values())
    assert [row["optimizer"] for row in throughput] == ["adagrad", "adam"]
    start_up = {row["job_kind"]: row["seconds"] for row in result["training_throughput"]["start_up"]}
    assert start_up["training jobs (train_network, prune with retraining, prune_level)"] > start_up["bare python"] > 0
    assert result["workflow"]["tiny_evaluation_jobs"] == 9  # 8 grid jobs + shuffle_biases
    check = result["evaluator"]["delta_vs_dense"]
    # shuffle_weights: 2 values x 4 scopes x 4 repeats; reset_weights: the same x 2 reset levels; 1000 images
    assert check["jobs"] == 4 and check["predictions"] == (2 * 4 * 4 + 2 * 2 * 4 * 4) * 1000
    assert check["differing_predictions"] <= 2
    assert "| kind |" in (tmp_path / "benchmark.md").read_text()
