"""Odd values the config accepts, run for real on the tiny configuration (issue 24).

The values the workflow cannot honour are config errors (test_config_errors.py); these are
the ones it can, each shown to give sane outputs: no validation data (early stopping then
means the last epoch, and the figure says so), a batch larger than the training set, and an
evaluator batch smaller than one network (one network at a time, the same table).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

import pytest

from workflow_helpers import snakemake, variant_config

# Each test runs (part of) the workflow or the benchmark for real: over a minute.
pytestmark = pytest.mark.slow

NETWORK = "results/networks/mnist/seed3"


def _no_validation_one_batch(config):
    config["training"].update(validation_split=0, batch_size=5000)  # 3000 images: one batch per epoch
    config["pruning"].update(criteria=[])  # one-shot pruning off: the iterative chain is what is checked
    config["pruning"]["iterative"].update(protocols=["imp_rewind"], criteria=["magnitude"], allocations=["layer"],
                                          controls=["reinit"])


def test_no_validation_data_and_a_batch_larger_than_the_training_set(tmp_path):
    config = variant_config(tmp_path, "no-validation.yaml", _no_validation_one_batch)
    workdir = tmp_path / "run"
    targets = [f"{NETWORK}/history.csv", "results/pruning/iterative/levels.csv",
               "results/figures/iterative_early_stop.png"]
    snakemake(workdir, "--cores", "2", *targets, configfile=config, timeout=900)
    history = pd.read_csv(workdir / NETWORK / "history.csv")
    assert len(history) == 2 and history["val_loss"].isna().all() and history["val_accuracy"].isna().all()
    # One batch per epoch still learns: the loss falls and the test accuracy rises.
    assert np.isfinite(history["loss"]).all() and history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert history["test_accuracy"].iloc[-1] > history["test_accuracy"].iloc[0]
    levels = pd.read_csv(workdir / "results/pruning/iterative/levels.csv")
    assert sorted(levels["level"].unique()) == [1, 2] and set(levels["variant"]) == {"pruned", "reinit"}
    # No validation loss to stop on: every level's early-stopping epoch is its last.
    assert (levels["early_stop_epoch"] == levels["epochs"]).all()
    assert (levels["early_stop_accuracy"] == levels["accuracy"]).all()
    assert levels["accuracy"].between(0, 1).all() and levels["kept_fraction"].lt(1).all()
    assert (workdir / "results/figures/iterative_early_stop.png").stat().st_size > 10_000


def test_evaluator_batch_below_one_network_gives_the_same_table(reference_run, tmp_path):
    """``experiments.batch_memory_mb: 1e-9``: one network per batch; the rows are the same bytes."""
    workdir = tmp_path / "run"
    shutil.copytree(reference_run, workdir, symlinks=True)
    job = f"{NETWORK}/experiments/reset_weights/50.csv"
    (workdir / job).unlink()
    snakemake(workdir, "--cores", "1", job, "--config", "experiments={batch_memory_mb: 1.0e-9}")
    assert (workdir / job).read_bytes() == (reference_run / job).read_bytes()
