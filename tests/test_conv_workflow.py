"""Every stage on a conv net (tests/small_conv.yaml over the tiny config): training, the store,
change scale, Figures 1-3, disturbance experiments (Table 1), one-shot pruning with retraining and an
iterative level. One job per stage, so the suite pays about a minute; ``snakemake all`` on LeNet-5
(configs/lenet5.yaml over tests/small.yaml) runs every rule the same way."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest
from workflow_helpers import REPO, SMALL, snakemake

CONV = [SMALL, REPO / "tests" / "small_conv.yaml"]
NETWORK = "results/networks/mnist/seed3"
TARGETS = ["results/table1.csv", "results/figures/figure1.png", "results/figures/figure2.png",
           f"{NETWORK}/pruning/finetune/layer/magnitude/draw0.csv",
           f"{NETWORK}/iterative/imp_rewind/global/change_scale/draw0/level1.csv"]


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("conv-run")
    snakemake(path, "--cores", "2", *TARGETS, configfile=CONV, timeout=1800)
    return path


def test_every_stage_runs_on_a_conv_net(conv_run):
    with h5py.File(conv_run / NETWORK / "weights.h5") as h5:
        assert h5["layers/layer_0/kernel"].shape == (3, 5, 5, 1, 4)  # epochs 0..2, Keras' axis order
        assert [layer["type"] for layer in json.loads(h5.attrs["architecture"])["layers"]] == [
            "conv2d", "max_pool", "flatten", "dense", "dense"]
    assert json.loads((conv_run / NETWORK / "training.json").read_text())["test_accuracy"] > 0.5
    table1 = pd.read_csv(conv_run / "results/table1.csv")
    assert list(table1["scope"].astype(str)) == ["0", "1", "2", "all"]  # conv1, fc1, fc2, all
    assert table1["mean_accuracy"].between(0, 1).all()
    pruned = pd.read_csv(conv_run / NETWORK / "pruning/finetune/layer/magnitude/draw0.csv")
    assert set(pruned["compression"]) >= {2.0, 8.0} and (pruned["accuracy"] > 0.1).all()
    level = pd.read_csv(conv_run / NETWORK / "iterative/imp_rewind/global/change_scale/draw0/level1.csv")
    assert (level["accuracy"].between(0, 1)).all()
    # conv1 (100 weights) at conv_rate 0.2, fc1 at rate 0.5, the output layer at 0.25: per-kind rates
    assert level["layer_kept_fractions"].iloc[0] == "0.8;0.5;0.75"
    for figure in ("figure1", "figure2"):
        assert (conv_run / "results/figures" / f"{figure}.png").stat().st_size > 10_000


def test_a_pruned_conv_kernel_holds_its_pruned_weights_at_exactly_zero(conv_run):
    with h5py.File(conv_run / NETWORK / "iterative/imp_rewind/global/change_scale/draw0/level1.h5") as h5:
        mask, kernel = h5["layer_0/mask"][()].astype(bool), h5["layer_0/kernel"][()]
    assert mask.shape == kernel.shape == (5, 5, 1, 4) and 0 < mask.mean() < 1
    assert (kernel[~mask] == 0).all() and not np.signbit(kernel[~mask]).any()


def test_layer_report_gives_han_table3_columns_of_a_conv_mask(conv_run, tmp_path):
    """The per-layer kept weights and multiply-adds of a one-shot mask (docs/literature.md's LeNet-5
    table against Han et al.'s Table 3): kept weights add up to the ratio, a conv layer's multiply-adds
    are its kept weights times its 24 x 24 output positions; a random criterion is refused."""
    from useless_params.pruning.layer_report import main

    out = tmp_path / "layers.csv"
    assert main([str(conv_run / NETWORK / "weights.h5"), "--criterion", "magnitude", "--allocation", "global",
                 "--compression", "4", "--out", str(out)]) == 0
    rows = pd.read_csv(out).set_index("layer")
    assert list(rows.index) == ["conv1", "fc1", "fc2", "total"]
    assert rows.loc["total", "kept_weights"] == round(rows.loc["total", "weights"] / 4)
    assert rows.loc["conv1", "kept_multiply_adds"] == rows.loc["conv1", "kept_weights"] * 24 * 24
    assert main([str(conv_run / NETWORK / "weights.h5"), "--criterion", "random", "--out", str(out)]) == 1
