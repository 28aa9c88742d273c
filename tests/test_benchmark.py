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
    assert result["workflow"]["tiny_evaluation_jobs"] == 9  # 8 grid jobs + shuffle_biases
    check = result["evaluator"]["delta_vs_dense"]
    # shuffle_weights: 2 values x 4 scopes x 4 repeats; reset_weights: the same x 2 reset levels; 1000 images
    assert check["jobs"] == 4 and check["predictions"] == (2 * 4 * 4 + 2 * 2 * 4 * 4) * 1000
    assert check["differing_predictions"] <= 2
    assert "| kind |" in (tmp_path / "benchmark.md").read_text()
