"""Aggregation over repeats, network seeds and datasets (aggregate.summarise, aggregate.table1)."""

import json

import numpy as np
import pandas as pd
import pytest

from useless_params import aggregate


def jobs_frame(accuracies: dict[int, dict[str, list[float]]], value: float = 5.0,
               dataset: str = "mnist") -> pd.DataFrame:
    """Rows of a shuffle_biases-like job table: accuracies[seed][scope] = one per repeat."""
    rows = []
    for seed, by_scope in accuracies.items():
        for scope, values in by_scope.items():
            for repeat, a in enumerate(values):
                rows.append({"dataset": dataset, "experiment": "shuffle_biases", "network_seed": seed, "scope": scope, "value": value,
                             "repeat": repeat, "accuracy": a, "n_disturbed": 10, "n_candidates": 10,
                             "fraction_disturbed": 1.0})
    return pd.DataFrame(rows)


def test_summarise_pools_repeats_and_spreads_over_seeds():
    # Seed 1 means: scope 0 -> 0.90, all -> 0.80; seed 2: 0.94 and 0.70 (three repeats each).
    jobs = jobs_frame({1: {"0": [0.89, 0.90, 0.91], "all": [0.80, 0.80, 0.80]},
                       2: {"0": [0.94, 0.94, 0.94], "all": [0.60, 0.70, 0.80]}})
    summary = aggregate.summarise(jobs).set_index("scope")
    assert list(summary.index) == ["0", "all"]  # layers first, then "all"
    assert (summary["n"] == 6).all() and (summary["n_seeds"] == 2).all()
    assert summary.loc["0", "seed_mean_accuracy"] == pytest.approx(0.92)
    assert summary.loc["0", "seed_std_accuracy"] == pytest.approx(0.02)  # population std of 0.90, 0.94
    assert summary.loc["all", "seed_std_accuracy"] == pytest.approx(0.05)
    pooled = np.array([0.89, 0.90, 0.91, 0.94, 0.94, 0.94])
    assert summary.loc["0", "mean_accuracy"] == pytest.approx(pooled.mean())
    assert summary.loc["0", "std_accuracy"] == pytest.approx(pooled.std())
    # Every repeat differs within seed 2 at "all", yet both seeds' means are what the seed band shows.
    assert summary.loc["all", "std_accuracy"] > summary.loc["all", "seed_std_accuracy"]


def test_one_seed_has_zero_spread_over_seeds_not_nan():
    summary = aggregate.summarise(jobs_frame({7: {"0": [0.5, 0.7], "all": [0.6, 0.6]}}))
    assert (summary["n_seeds"] == 1).all()
    assert (summary["seed_std_accuracy"] == 0).all()
    assert np.allclose(summary["seed_mean_accuracy"], summary["mean_accuracy"])


def test_table1_rows_per_scope_with_seed_columns(tmp_path):
    jobs = jobs_frame({1: {"0": [0.97, 0.97], "1": [0.96, 0.98], "all": [0.95, 0.95]},
                       2: {"0": [0.95, 0.95], "1": [0.97, 0.97], "all": [0.93, 0.93]}})
    metrics = []
    for seed, accuracy in ((1, 0.975), (2, 0.965)):
        path = tmp_path / f"training{seed}.json"
        path.write_text(json.dumps({"test_accuracy": accuracy}))
        metrics.append(path)
    table = aggregate.table1(jobs, metrics, [("mnist", 1), ("mnist", 2)]).set_index("scope")
    assert list(table.index) == ["0", "1", "all"]
    assert (table["n_seeds"] == 2).all()
    assert table.loc["0", "seed_mean_accuracy"] == pytest.approx(0.96)
    assert table.loc["0", "seed_std_accuracy"] == pytest.approx(0.01)
    assert table.loc["0", "undisturbed_accuracy"] == pytest.approx(0.97)
    assert table.loc["all", "difference"] == pytest.approx(0.94 - 0.97)


def test_datasets_are_summarised_apart_in_config_order(tmp_path):
    # fashion_mnist sorts before mnist: the table keeps the order the jobs come in (the config's).
    jobs = pd.concat([jobs_frame({1: {"0": [0.97, 0.97], "all": [0.95, 0.95]},
                                  2: {"0": [0.95, 0.95], "all": [0.93, 0.93]}}),
                      jobs_frame({1: {"0": [0.80, 0.82], "all": [0.70, 0.70]},
                                  2: {"0": [0.84, 0.86], "all": [0.72, 0.72]}}, dataset="fashion_mnist")],
                     ignore_index=True)
    summary = aggregate.summarise(jobs)
    assert list(zip(summary["dataset"], summary["scope"])) == [
        ("mnist", "0"), ("mnist", "all"), ("fashion_mnist", "0"), ("fashion_mnist", "all")]
    assert (summary["n_seeds"] == 2).all() and (summary["n"] == 4).all()
    fashion = summary.set_index(["dataset", "scope"]).loc["fashion_mnist"]
    assert fashion.loc["0", "seed_mean_accuracy"] == pytest.approx(0.83)
    assert fashion.loc["0", "seed_std_accuracy"] == pytest.approx(0.02)
    metrics, networks = [], []
    for dataset, seed, accuracy in (("mnist", 1, 0.97), ("mnist", 2, 0.96), ("fashion_mnist", 1, 0.85),
                                    ("fashion_mnist", 2, 0.87)):
        path = tmp_path / f"{dataset}{seed}.json"
        path.write_text(json.dumps({"test_accuracy": accuracy}))
        metrics.append(path)
        networks.append((dataset, seed))
    table = aggregate.table1(jobs, metrics, networks).set_index(["dataset", "scope"])
    assert table.loc[("mnist", "all"), "undisturbed_accuracy"] == pytest.approx(0.965)
    assert table.loc[("fashion_mnist", "all"), "undisturbed_accuracy"] == pytest.approx(0.86)
    assert table.loc[("fashion_mnist", "all"), "difference"] == pytest.approx(0.71 - 0.86)
    with pytest.raises(aggregate.InputError, match="no training metrics for dataset"):
        aggregate.table1(jobs, metrics[:2], networks[:2])
