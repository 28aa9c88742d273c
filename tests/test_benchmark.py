"""The benchmark runs end to end on the tiny configuration and writes every figure it promises.

It reports speed; no timing is asserted, not even a ratio (a busy machine can flip any of
them): the test checks the report's structure and that every measured number is finite and
positive. The speeds themselves are read from a quiet machine (README, docs/performance.md).
"""

import json
import math
import subprocess
import sys

import pytest

from workflow_helpers import REPO

# Each test runs (part of) the workflow or the benchmark for real: over a minute.
pytestmark = pytest.mark.slow


def test_benchmark_runs_on_tiny_configuration(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/run_benchmark.py"), "--tiny", "--keras-evals", "2",
                           "--delta-check-every", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "benchmark.json").read_text())
    kinds = [row["kind"] for row in result["evaluator"]["per_kind"]]
    assert kinds == ["bias layer 0", "bias layer 1", "bias layer 2", "bias all layers",
                     "kernel layer 0", "kernel layer 1", "kernel layer 2", "kernel all layers"]
    assert set(result["evaluator"]["job_phases"]) >= {"read_inputs_s", "build_disturbed_stacks_s", "evaluate_s"}
    throughput = result["training_throughput"]["per_network"]
    assert [row["network"] for row in throughput] == ["configured network 784-100-100-10",
                                                       "LeNet-300-100 preset 784-300-100-10"]
    for row in throughput:
        assert set(row["lockstep_masked_seconds_per_network_epoch"]) == {"4", "10"}
        assert set(row["lockstep_over_floor"]) == set(row["lockstep_over_own_floor"]) == {"4", "10"}
        assert set(row["lockstep_floor_seconds_per_network_epoch"]) == {"4", "10"}
        assert {"floor", "loop_over_floor", "loop_masked_over_floor"} <= set(row)
    assert [row["optimizer"] for row in throughput] == ["adagrad", "adam"]
    start_up = {row["job_kind"]: row["seconds"] for row in result["training_throughput"]["start_up"]}
    assert {"bare python", "training jobs (train_network, prune with retraining, prune_level)"} <= set(start_up)
    # Every number the benchmark measured (times, rates, ratios, counts) is finite and positive;
    # a signed difference may have either sign, and a kind with no product to time (the output
    # layer's biases) has a floor of 0.
    measured = list(numbers(result["evaluator"], skip={"delta_vs_dense"})) + list(numbers(result["training"]))
    measured += list(numbers(result["training_throughput"]))
    assert len(measured) > 100
    bad = [(where, value) for where, value in measured if not plausible(where, value)]
    assert bad == []
    assert result["workflow"]["tiny_evaluation_jobs"] == 9  # 8 grid jobs + shuffle_biases
    check = result["evaluator"]["delta_vs_dense"]
    # shuffle_weights: 2 values x 4 scopes x 4 repeats; reset_weights: the same x 2 reset levels; 1000 images
    assert check["jobs"] == 4 and check["predictions"] == (2 * 4 * 4 + 2 * 2 * 4 * 4) * 1000
    assert check["differing_predictions"] <= 2
    assert "| kind |" in (tmp_path / "benchmark.md").read_text()


SIGNED = {"accuracy_difference"}  # a difference of two accuracies
MAY_BE_ZERO = {"floor_s"}  # no GEMM to time: the output layer's biases change no product


def plausible(where: str, value: float) -> bool:
    key = where.rsplit(".", 1)[-1].split("[")[0]
    if not math.isfinite(value):
        return False
    return key in SIGNED or value > 0 or (key in MAY_BE_ZERO and value == 0)


def numbers(node, where="", skip=frozenset()):
    """(path, value) of every number in a JSON tree (booleans and the keys in ``skip`` left out)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in skip:
                yield from numbers(value, f"{where}.{key}", skip)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from numbers(value, f"{where}[{index}]", skip)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield where, float(node)
