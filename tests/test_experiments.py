"""Disturbance jobs: rows, determinism, and the experiments' definitions."""

import numpy as np
import pytest

from useless_params.change_scale import ChangeScales
from useless_params.evaluator import Evaluator
from useless_params.disturbance_job import Job
from useless_params.fileio import write_csv, write_rows
from useless_params.model import Network


@pytest.fixture(scope="module")
def job_parts():
    """A random 20-8-6-3 network on random data: quick, and exercises every code path."""
    rng = np.random.default_rng(0)
    sizes = [20, 8, 6, 3]
    before = Network.mlp([rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:])],
                     [np.zeros(b, np.float32) for b in sizes[1:]], "sigmoid")
    after = Network.mlp([k + rng.normal(scale=0.3, size=k.shape).astype(np.float32) for k in before.kernels],
                    [rng.normal(scale=0.1, size=b.shape).astype(np.float32) for b in before.biases], "sigmoid")
    x = rng.random((300, 20)).astype(np.float32)
    y = np.argmax(x[:, :3], axis=1)
    return after, ChangeScales.between(before, after, 0, 5), x, y


def make_job(job_parts, repeats=6):
    network, scales, x, y = job_parts
    return Job(Evaluator(network, x, y), scales, repeats, seed=9, network_seed=1, dataset="mnist")


@pytest.mark.parametrize("experiment, value", [("shuffle_biases", 0.0), ("reset_biases", 3.0),
                                               ("shuffle_weights", 40.0), ("reset_weights", 40.0),
                                               ("final_model", 40.0)])
def test_same_job_twice_gives_identical_bytes(job_parts, tmp_path, experiment, value):
    for name in ("a.csv", "b.csv"):
        write_rows(*make_job(job_parts).rows(experiment, value, [0.0, 1.0]), tmp_path / name)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    # The pandas-free writer gives the same bytes as pandas' writer.
    write_csv(make_job(job_parts).run(experiment, value, [0.0, 1.0]), tmp_path / "pandas.csv")
    assert (tmp_path / "pandas.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()


def test_rows_cover_every_scope_and_repeat(job_parts):
    frame = make_job(job_parts).run("reset_weights", 40.0, [0.0, 1.0])
    assert len(frame) == 4 * 2 * 6  # scopes x reset levels x repeats
    assert set(frame["scope"]) == {"0", "1", "2", "all"}
    assert not frame.isna().any().any()
    # U = 0 is deterministic: every repeat is the same evaluation.
    zero = frame[frame["reset_upper"] == 0]
    assert (zero.groupby("scope")["accuracy"].nunique() == 1).all()


def test_selected_counts_follow_change_scale(job_parts):
    _, scales, _, _ = job_parts
    frame = make_job(job_parts).run("shuffle_weights", 40.0)
    expected = {str(l): int(np.sum(scales.scale(l, "kernel") <= 40)) for l in range(3)}
    expected["all"] = sum(expected.values())
    got = frame.drop_duplicates("scope").set_index("scope")["n_disturbed"].to_dict()
    assert got == expected


def test_nothing_selected_means_undisturbed_accuracy(job_parts):
    job = make_job(job_parts)
    frame = job.run("shuffle_weights", -1.0)
    assert (frame["accuracy"] == job.evaluator.accuracy_undisturbed).all()
    assert (frame["n_disturbed"] == 0).all()


def test_reset_biases_to_zero_is_deterministic_and_scoped(job_parts):
    job = make_job(job_parts)
    frame = job.run("reset_biases", 0.0)
    layer0 = frame[frame["scope"] == "0"]
    network = job.evaluator.network
    zeroed = Network(network.kernels, [np.zeros_like(network.biases[0])] + network.biases[1:], network.architecture)
    _, _, x, y = job_parts
    assert (layer0["accuracy"] == Evaluator(zeroed, x, y).accuracy_undisturbed).all()


def test_final_model_counts(job_parts):
    _, scales, _, _ = job_parts
    frame = make_job(job_parts).run("final_model", 40.0)
    zeroed = sum(int(np.sum(scales.scale(l, "kernel") <= 40)) for l in range(3))
    n_params = 20 * 8 + 8 * 6 + 6 * 3 + 8 + 6 + 3
    assert frame["n_weights_zeroed"].item() == zeroed
    assert frame["fraction_kept"].item() == pytest.approx(1 - (zeroed + 17) / n_params)


# --- The registry: each experiment declared once.

from useless_params.errors import InputError  # noqa: E402
from useless_params.experiments import EXPERIMENTS, experiment, figure_experiments  # noqa: E402


def test_unknown_experiment_is_an_error_listing_the_known_ones(job_parts):
    with pytest.raises(InputError, match="unknown experiment 'shuffle_everything'; expected one of shuffle_biases"):
        experiment("shuffle_everything")
    with pytest.raises(InputError, match="unknown experiment"):
        make_job(job_parts).rows("shuffle_everything", 0.0)


def test_every_entry_is_complete_and_consistent():
    for name, entry in EXPERIMENTS.items():
        assert entry.name == name
        assert entry.kind in ("kernel", "bias"), name
        assert entry.columns[:5] == ("dataset", "experiment", "network_seed", "scope", "value"), name
        assert ("reset_upper" in entry.columns) == bool(entry.levels_key), name
        assert (entry.figure is None) == (entry.plot is None), name
    from useless_params import plots

    figures = figure_experiments()
    assert sorted(figures) == ["4", "5", "6", "7"]
    for entry in figures.values():
        assert callable(getattr(plots, entry.plot)), entry.plot


def test_grid_labels_and_levels_come_from_the_config():
    cfg = {"repeats": 3, "shuffle_biases": True, "reset_biases": {"values": [0, 2.5]},
           "reset_weights": {"thresholds": [10.0], "reset_values": [0, 1]}, "final_model": {"thresholds": [1, 2, 3]}}
    assert experiment("shuffle_biases").labels(cfg) == ["0"]
    assert experiment("shuffle_biases").grid({"shuffle_biases": False}) == []
    assert experiment("reset_biases").labels(cfg) == ["0", "2.5"]
    assert experiment("reset_weights").levels(cfg) == [0.0, 1.0]
    assert experiment("reset_weights").evaluations_per_scope(cfg) == 3 * 1 * 2
    assert experiment("final_model").evaluations_per_scope(cfg) == 3


def test_experiment_names_live_only_in_the_registry():
    """The .smk files, the Snakefile and the rule scripts read the registry; none names an experiment."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    files = [repo / "Snakefile", repo / "workflow" / "Snakefile", *(repo / "workflow").rglob("*.smk"),
             *(repo / "scripts").glob("*.py")]
    for path in files:
        text = path.read_text()
        for name in EXPERIMENTS:
            assert name not in text, f"{path.relative_to(repo)} names the experiment {name!r}"
