"""End to end: the tiny configuration runs every rule; only stale steps rerun."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workflow_helpers import REPO, SMALL, planned_jobs, snakemake, unexpected_nan, variant_config

# Each test runs (part of) the workflow or the benchmark for real: over a minute.
pytestmark = pytest.mark.slow

FIGURES = [f"results/figures/figure{n}.{ext}" for n in range(1, 8) for ext in ("png", "pdf")]


@pytest.fixture(scope="module")
def workdir(reference_run, tmp_path_factory):
    """A copy (metadata and modification times included) of the shared run: tests here rerun parts of it."""
    path = tmp_path_factory.mktemp("small-run") / "run"
    shutil.copytree(reference_run, path, symlinks=True)
    return path


def test_every_output_exists(workdir):
    for name in FIGURES + ["results/table1.csv", "results/networks/mnist/seed3/weights.h5",
                           "results/networks/mnist/seed3/change_scale_summary.csv"]:
        assert (workdir / name).stat().st_size > 0, name


def test_every_rule_ran(workdir):
    logs = {p.parts[len(workdir.parts) + 1] if p.parent != workdir / "logs" else p.stem
            for p in (workdir / "logs").rglob("*.log")}
    for rule in ("prepare_data", "train_network", "change_scale", "change_scale_summary", "experiments",
                 "aggregate", "table1", "figures", "pruning", "iterative", "job_costs"):
        assert rule in logs, rule


def test_job_logs_start_with_the_jobs_own_lines(workdir):
    """No TensorFlow start-up chatter (absl INFO lines, the no-GPU cuInit error) in any job log;
    the training log starts with its first epoch."""
    from useless_params.rule_io import is_tensorflow_chatter

    for path in (workdir / "logs").rglob("*.log"):
        lines = path.read_text().splitlines()
        assert not [line for line in lines if is_tensorflow_chatter(line)], path
    first = (workdir / "logs/train_network/mnist/seed3.log").read_text().splitlines()[0]
    assert first.startswith("epoch 1/2: loss "), first
    assert is_tensorflow_chatter("I0000 00:00:1796303243.967241   12456 port.cc:153] oneDNN custom operations are on.")
    assert not is_tensorflow_chatter("W0000 00:00:1796303243.967241   12456 port.cc:153] a warning stays")


def test_every_job_leaves_a_benchmark_and_the_job_costs_table_sums_them(workdir):
    """One benchmark TSV per job (training: its measured job_cost); the per-rule table counts them."""
    tsvs = list((workdir / "benchmarks/jobs").rglob("*.tsv"))
    costs = pd.read_csv(workdir / "benchmarks/job_costs.csv").set_index("rule")
    jobs = dict(costs["jobs"])
    assert jobs["prune"] == 36 and jobs["prune_level"] == 24 and jobs["disturb"] == 9 and jobs["train_network"] == 1
    assert sum(jobs.values()) == len(tsvs) + 1  # train_network: training.json
    # Snakemake samples memory: jobs under a second or two may show only their shell's few MB.
    long_jobs = costs[costs["max_seconds"] > 2]
    assert len(long_jobs) >= 5 and (long_jobs["max_rss_mb"] > 50).all() and (costs["total_seconds"] > 0).all()
    assert (costs["suggested_mem_mb"] >= 1.5 * costs["max_rss_mb"]).all()
    assert (costs["suggested_runtime_min"] * 60 >= 1.5 * costs["max_seconds"]).all()
    # The README's timing table is printed from this file.
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/timing_table.py"), str(workdir)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "| `prune` | 36 |" in proc.stdout, proc.stdout + proc.stderr


def test_tables_have_no_nan(workdir):
    for path in list((workdir / "results").rglob("*.csv")):
        frame = pd.read_csv(path)
        assert not unexpected_nan(path, frame), path


def test_table1_shape(workdir):
    table = pd.read_csv(workdir / "results/table1.csv", dtype={"scope": str})
    assert table["scope"].tolist() == ["0", "1", "2", "all"]
    assert (table["n"] == 4).all()
    assert np.allclose(table["difference"], table["mean_accuracy"] - table["undisturbed_accuracy"])


def test_second_run_has_nothing_to_do(workdir):
    assert planned_jobs(workdir) == {}


def test_change_scale_setting_reruns_change_scale_and_figures_not_training(workdir, tmp_path):
    config = variant_config(tmp_path, "ref1.yaml", lambda c: c["change_scale"].update(reference_epoch=1))
    jobs = planned_jobs(workdir, config)
    assert "train_network" not in jobs and "prepare_data" not in jobs
    assert jobs["change_scale"] == 1
    assert jobs["figure1"] == 1 and jobs["figure2_3"] == 2 and jobs["experiment_figure"] >= 2


def test_summary_thresholds_rerun_only_the_summary(workdir, tmp_path):
    config = variant_config(tmp_path, "sum.yaml", lambda c: c["change_scale"].update(summary_thresholds=[0, 7]))
    # (job_costs reruns after any job: it sums every job's benchmark.)
    assert planned_jobs(workdir, config) == {"change_scale_summary": 1, "job_costs": 1, "all": 1}


def test_adding_a_threshold_runs_only_that_job_and_the_aggregation(workdir, tmp_path):
    config = variant_config(tmp_path, "t.yaml", lambda c: c["experiments"]["shuffle_weights"].update(thresholds=[0, 50, 25]))
    assert planned_jobs(workdir, config) == {"disturb": 1, "aggregate_experiment": 1, "experiment_figure": 1,
                                             "job_costs": 1, "all": 1}
    snakemake(workdir, "--cores", "2", configfile=config)
    summary = pd.read_csv(workdir / "results/experiments/shuffle_weights.csv")
    assert sorted(summary["value"].unique()) == [0, 25, 50]


def test_adding_a_level_runs_only_that_level_and_the_summaries(workdir, tmp_path):
    """Levels are jobs: a third level reads the second's state file; nothing else trains again."""
    config = variant_config(tmp_path, "levels3.yaml", lambda c: c["pruning"]["iterative"].update(levels=3))
    chains = 2 * 2 * 3  # protocols x allocations x (change scale + 2 random draws)
    jobs = planned_jobs(workdir, config)
    # (An earlier test added a threshold, which this config does not have: its aggregation reruns too.)
    jobs.pop("aggregate_experiment", None), jobs.pop("experiment_figure", None)
    assert jobs == {"prune_level": chains, "iterative_summary": 1, "iterative_figure": 1, "job_costs": 1, "all": 1}
    snakemake(workdir, "--cores", "2", configfile=config)
    levels = pd.read_csv(workdir / "results/pruning/iterative/levels.csv")
    assert sorted(levels["level"].unique()) == [1, 2, 3]
    pruned = levels[levels["variant"] == "pruned"].groupby("level")["kept_fraction"].mean()
    assert pruned[1] > pruned[2] > pruned[3]
    assert planned_jobs(workdir, config) == {}


def two_by_two(config):
    """Two seeds on both datasets; a smaller pruning comparison keeps the test's run short."""
    config["training"].update(seeds=[3, 4])
    config["data"]["datasets"] = ["mnist", "fashion_mnist"]
    config["pruning"].update(criteria=["change_scale", "magnitude"], allocations=["layer"],
                             retraining=["none", "finetune"])
    config["pruning"]["iterative"].update(protocols=["imp_rewind"], criteria=["change_scale"], allocations=["layer"],
                                          levels=1)


def test_seeds_and_datasets_run_only_their_jobs_and_aggregate_per_dataset(workdir, tmp_path):
    """Seeds and datasets are wildcards: adding a seed and Fashion-MNIST trains three networks
    and runs only their jobs; every aggregate then has one row per dataset, scope and value,
    with both seeds' spread recorded, and the figures draw both datasets."""
    config = variant_config(tmp_path, "two_by_two.yaml", two_by_two)
    jobs = planned_jobs(workdir, config)
    assert jobs["prepare_data"] == 1 and jobs["train_network"] == 3 and jobs["change_scale"] == 3, jobs
    assert jobs["disturb"] == 27 and jobs["prune"] == 12, jobs  # MNIST seed 3's jobs are reused
    assert jobs["prune_level"] == 3, jobs
    assert "figure1" not in jobs, jobs  # Figures 1-3 draw the first dataset's first seed
    snakemake(workdir, "--cores", "2", configfile=config)
    assert (workdir / "resources/fashion_mnist.npz").is_file()
    datasets = ["mnist", "fashion_mnist"]
    table = pd.read_csv(workdir / "results/table1.csv", dtype={"scope": str})
    assert list(zip(table["dataset"], table["scope"])) == [(d, s) for d in datasets for s in ("0", "1", "2", "all")]
    assert (table["n_seeds"] == 2).all() and (table["n"] == 8).all() and (table["seed_std_accuracy"] >= 0).all()
    for dataset, group in table.groupby("dataset"):
        metrics = [json.loads((workdir / f"results/networks/{dataset}/seed{s}/training.json").read_text())
                   for s in (3, 4)]
        assert {m["dataset"] for m in metrics} == {dataset}
        assert np.allclose(group["undisturbed_accuracy"], np.mean([m["test_accuracy"] for m in metrics]))
    # Two different tasks: the networks differ, and so do their accuracies.
    undisturbed = table.groupby("dataset")["undisturbed_accuracy"].first()
    assert abs(undisturbed["mnist"] - undisturbed["fashion_mnist"]) > 0.005, undisturbed
    for name, per_value in (("reset_biases", 4), ("shuffle_weights", 4), ("reset_weights", 8), ("final_model", 1)):
        summary = pd.read_csv(workdir / f"results/experiments/{name}.csv", dtype={"scope": str})
        assert summary["dataset"].unique().tolist() == datasets, name  # config order
        assert len(summary) == 2 * per_value * summary["value"].nunique(), name
        assert not summary.duplicated(["dataset", "scope", "value"] + (["reset_upper"] if name == "reset_weights"
                                                                         else [])).any(), name
        assert (summary["n_seeds"] == 2).all(), name
        values = set(summary["value"])  # (an earlier test added a threshold to MNIST seed 3 only)
        jobs_tables = [pd.read_csv(p) for p in (workdir / "results/networks").glob(f"*/seed*/experiments/{name}/*.csv")
                       if float(p.stem) in values]
        assert len(jobs_tables) == 4 * len(values), name
        keys = ["dataset", "scope", "value"] + (["reset_upper"] if name == "reset_weights" else [])
        per_seed = pd.concat(jobs_tables).astype({"scope": str}).groupby(keys + ["network_seed"])["accuracy"]
        means = per_seed.mean().groupby(keys)
        merged = summary.set_index(keys)
        assert np.allclose(merged["seed_mean_accuracy"], means.mean().reindex(merged.index)), name
        assert np.allclose(merged["seed_std_accuracy"], means.std(ddof=0).reindex(merged.index)), name
    curve = pd.read_csv(workdir / "results/pruning/curves.csv")
    assert curve["dataset"].unique().tolist() == datasets and (curve["n_seeds"] == 2).all()
    assert len(curve) == 2 * 2 * 1 * 2 * 2  # datasets x criteria x allocations x retraining x compressions
    points = pd.read_csv(workdir / "results/pruning/operating_points.csv")
    assert not points.duplicated(["dataset", "criterion", "allocation", "retraining"]).any() and len(points) == 8
    levels = pd.read_csv(workdir / "results/pruning/iterative/curves.csv")
    assert levels["dataset"].unique().tolist() == datasets and (levels["n_seeds"] == 2).all()
    assert len(levels) == 2 * 4  # datasets x variants (the chain and three controls), one level
    for figure in ("figure4", "figure5", "figure6", "figure7", "pruning", "iterative", "iterative_early_stop"):
        assert (workdir / f"results/figures/{figure}.png").stat().st_size > 0
    assert planned_jobs(workdir, config) == {}


def test_table1_target_builds_only_what_it_needs(tmp_path):
    jobs = planned_jobs(tmp_path, SMALL, "results/table1.csv")
    assert jobs == {"prepare_data": 1, "train_network": 1, "change_scale": 1, "disturb": 1, "table1": 1}
    # Another dataset's Table 1 rows come from its own network: nothing is shared but the code.
    config = variant_config(tmp_path, "fashion.yaml", lambda c: c["data"].update(datasets=["fashion_mnist"]))
    assert planned_jobs(tmp_path, config, "results/table1.csv") == jobs


def test_output_cache_shares_data_and_networks(tmp_path, monkeypatch):
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    target = "results/networks/mnist/seed3/weights.h5"
    snakemake(tmp_path / "first", "--cores", "2", target, "--cache")
    second = snakemake(tmp_path / "second", "--cores", "2", target, "--cache")
    text = second.stdout + second.stderr
    assert f"Symlinking output file {target} from cache" in text
    assert "Symlinking output file resources/mnist.npz from cache" in text
    log = tmp_path / "second/logs/train_network/mnist/seed3.log"
    assert not log.exists() or log.stat().st_size == 0  # training did not run there


def test_table1_can_be_switched_off(tmp_path):
    config = variant_config(tmp_path, "no_t1.yaml", lambda c: c["experiments"].update(shuffle_biases=False))
    jobs = planned_jobs(tmp_path / "fresh", config)
    assert "table1" not in jobs
    assert jobs["disturb"] == 8 and jobs["aggregate_experiment"] == 4


PINS = REPO / "tests" / "tiny_result_checksums.json"


def cpu_kind() -> str:
    """The CPU model and the SIMD features numpy dispatches on: float32 results depend on them."""
    import platform

    import numpy as np

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    features = np._core._multiarray_umath.__cpu_features__
    return f"{model}; " + " ".join(sorted(name for name, on in features.items() if on))


def result_checksums(run: Path) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((run / "results").rglob("*.csv"))}


def test_result_csvs_match_the_pinned_checksums(reference_run, request):
    """Every result CSV of the tiny run, byte for byte, as pinned in tests/tiny_result_checksums.json.

    A refactoring must not change a number. A change that is meant to (new training, new
    evaluator arithmetic) re-pins with ``PIN_RESULTS=1 python3 -m pytest tests/test_workflow.py``
    and says why in its commit. Pins are kept per CPU kind (float32 BLAS summation order
    differs between kinds); a kind's pins of the results a change altered are dropped by hand
    when that kind is not at hand to re-pin them, and the rest still hold there. On a CPU kind
    with no pins the test still checks something: the run (--cores 2) against a second,
    independent run with --cores 1, every CSV byte for byte; a warning says which check ran.
    """
    got = result_checksums(reference_run)
    cpu = cpu_kind()
    recorded = json.loads(PINS.read_text())
    if os.environ.get("PIN_RESULTS") == "1":
        kinds = {kind: {path: sha for path, sha in pins.items() if path in got}
                 for kind, pins in recorded["by_cpu"].items()}
        PINS.write_text(json.dumps({"csvs": sorted(got), "by_cpu": {**kinds, cpu: got}}, indent=1) + "\n")
        pytest.skip(f"re-pinned {len(got)} result checksums in {PINS.name}")
    assert sorted(got) == recorded["csvs"], "the set of result CSVs changed"
    pinned = recorded["by_cpu"].get(cpu)
    if pinned is None:
        second = result_checksums(request.getfixturevalue("one_core_run"))
        warnings.warn(f"no checksums pinned for this CPU kind ({cpu[:60]}...): checked the tiny run against a "
                      f"second run with --cores 1 instead ({len(got)} CSVs)")
        assert sorted(second) == sorted(got) and len(got) >= 15
        assert [path for path in got if second[path] != got[path]] == [], "two runs of one config differ"
        return
    changed = [path for path in pinned if got[path] != pinned[path]]
    assert not changed, f"results changed: {changed}"
    assert len(pinned) >= len(got) // 2, f"only {len(pinned)} of {len(got)} results pinned on this CPU kind: re-pin"


def test_report_holds_every_figure_and_table_with_captions(reference_run, tmp_path):
    """`snakemake --report` on the finished tiny run: one HTML file with every PNG figure, the
    tables and the captions (rendered from workflow/report/ with the run's config)."""
    report = tmp_path / "report.html"
    proc = snakemake(reference_run, "--report", str(report), timeout=600)
    assert "Report created" in proc.stdout + proc.stderr
    html = report.read_text()
    figures = sorted(p.name for p in (reference_run / "results/figures").glob("*.png"))
    assert len(figures) == 10  # Figures 1-7, the pruning figure and the two iterative figures
    for name in figures + ["table1.csv", "reset_biases.csv", "change_scale_summary.csv", "operating_points.csv",
                           "levels.csv", "job_costs.csv"]:
        assert name in html, name
    for caption in ("Table 1", "Figure 4", "Figure 7", "Pruning", "The trained network", "Iterative pruning"):
        assert caption in html, caption
    assert "Undefined substitution" not in html and "System Message" not in html
    assert "['mnist']" not in html and "[100, 100]" not in html  # lists in captions read as words
