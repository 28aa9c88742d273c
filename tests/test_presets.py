"""The LeNet-300-100 preset and the two literature configs, end to end at tiny sizes: every stage
of the workflow on the preset's network (ReLU, Gaussian Glorot, Adam, batch 60), two levels of the
lottery-ticket protocol with its controls, then Han et al.'s protocol on the same dense network."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from workflow_helpers import REPO, SMALL, planned_jobs, snakemake

from useless_params.pruning import criterion
from useless_params.pruning.iterative import Chain, protocol
from useless_params.pruning.levels import LevelState
from useless_params.store import WeightStore

# Each test runs (part of) the workflow or the benchmark for real: over a minute.
pytestmark = pytest.mark.slow

PRESET = REPO / "configs" / "lenet300_100.yaml"
TINY = REPO / "tests" / "small_presets.yaml"
LOTTERY = [SMALL, PRESET, REPO / "configs" / "frankle_carbin_2019.yaml", TINY]
HAN = [SMALL, PRESET, REPO / "configs" / "han_2015.yaml", TINY]
CRITERIA = ["magnitude", "change_scale", "movement", "magnitude_increase", "random"]


@pytest.fixture(scope="module")
def preset_run(tmp_path_factory):
    """``all`` with the lottery-ticket config, then ``iterative`` with Han et al.'s in the same directory."""
    path = tmp_path_factory.mktemp("presets")
    snakemake(path, "--cores", "2", "all", configfile=LOTTERY, timeout=1800)
    literature = path / "results/pruning/iterative/literature.csv"
    literature.rename(path / "lottery_literature.csv")  # the Han et al. run writes its own
    han_plan = planned_jobs(path, HAN, "iterative")
    snakemake(path, "--cores", "2", "iterative", configfile=HAN, timeout=900)
    return path, han_plan


def level_table(path, protocol_name, criterion_name, level):
    return pd.read_csv(path / f"results/networks/mnist/seed3/iterative/{protocol_name}/layer/{criterion_name}/draw0/"
                       f"level{level}.csv")


def test_the_preset_trains_lenet_300_100_as_the_lottery_ticket_paper(preset_run):
    path, _ = preset_run
    store = WeightStore(path / "results/networks/mnist/seed3/weights.h5")
    assert store.architecture.layer_sizes == (784, 300, 100, 10)
    assert (store.architecture.activation, store.architecture.initializer) == ("relu", "glorot_normal")
    metrics = json.loads((path / "results/networks/mnist/seed3/training.json").read_text())
    assert metrics["optimizer"] == "adam" and metrics["n_train"] == 3000
    assert store.config["training"]["batch_size"] == 60 and store.config["training"]["learning_rate"] == 0.0012
    # Gaussian Glorot: beyond the uniform limit (sqrt(3) std), within the truncation (2 std / 0.8796).
    first = store.network(0).kernels[0]
    std = np.sqrt(2 / (784 + 300))
    assert np.sqrt(3) * std < np.abs(first).max() <= 2 * std / 0.87962566103423978


def test_every_stage_ran_on_the_preset_network(preset_run):
    path, _ = preset_run
    for target in ("results/table1.csv", "results/figures/figure4.png", "results/figures/figure7.png",
                   "results/pruning/pruning.csv", "results/figures/iterative.png", "benchmarks/job_costs.csv"):
        assert (path / target).stat().st_size > 0, target
    table1 = pd.read_csv(path / "results/table1.csv")
    assert table1.notna().all().all() and len(table1) > 0


def test_two_lottery_ticket_levels_with_their_controls_and_exact_per_layer_counts(preset_run):
    path, _ = preset_run
    for name in CRITERIA:
        rows = level_table(path, "imp_rewind", name, 2)
        assert rows["variant"].tolist() == ["pruned", "reinit", "random_mask", "supermask"]
        # 80 % of the remaining weights per level, the output layer 10 %: 0.2^2, 0.2^2, 0.9^2 kept.
        assert rows["layer_kept_fractions"].iloc[0] == "0.04;0.04;0.81"
        assert rows["learning_rate"].iloc[0] == 0.0012 and rows["rewind_epoch"].iloc[0] == 0
        chain = Chain(dataset="mnist", network_seed=3, protocol=protocol("imp_rewind"), allocation="layer",
                      criterion=criterion(name), draw=0, seed=2015)
        state_path = path / f"results/networks/mnist/seed3/iterative/imp_rewind/layer/{name}/draw0/level2.h5"
        state = LevelState.load(state_path, chain, 2)  # checks every pruned weight is exactly 0
        assert [int(m.sum()) for m in state.mask.layers] == [9408, 1200, 810]
        assert all(np.count_nonzero(k[~m]) == 0 for k, m in zip(state.network.kernels, state.mask.layers))


def test_han_et_al_reuses_the_dense_network_and_retrains_at_a_tenth_of_the_rate(preset_run):
    path, han_plan = preset_run
    assert han_plan == {"prune_level": 10, "iterative_summary": 1, "iterative_figure": 1, "iterative": 1}
    for name in CRITERIA:
        rows = level_table(path, "imp_continue", name, 2)
        assert rows["variant"].tolist() == ["pruned"]  # no controls
        assert rows["learning_rate"].iloc[0] == pytest.approx(0.00012)
        assert rows["layer_kept_fractions"].iloc[0] == "0.04;0.04;0.81"
    levels = pd.read_csv(path / "results/pruning/iterative/levels.csv")
    assert set(levels["protocol"]) == {"imp_continue"} and len(levels) == 5 * 2


def test_the_published_points_sit_next_to_the_runs_levels(preset_run):
    path, _ = preset_run
    history = pd.read_csv(path / "results/networks/mnist/seed3/history.csv")
    lottery = pd.read_csv(path / "lottery_literature.csv")
    # Han et al.'s point did not run here (imp_continue is the other config's): one row says so.
    assert lottery.set_index("point").loc["han2015_12x", "status"] == "not run: protocol imp_continue was not run"
    assert lottery[lottery["point"] == "frankle2019_3.6"]["status"].str.startswith("not run: no level").all()
    lottery = lottery[lottery["status"] == "ran"]
    # 51 % -> level 1 (20.3 % left), 13.5 % -> level 2 (4.3 %); 3.6 % is beyond two levels.
    assert sorted(set(zip(lottery["point"], lottery["level"]))) == [("frankle2019_13.5", 2), ("frankle2019_51", 1)]
    assert len(lottery) == 2 * 5 * 4  # points x criteria x (ticket and three controls)
    ticket = lottery[(lottery["criterion"] == "magnitude") & (lottery["variant"] == "pruned")].set_index("point")
    level2 = level_table(path, "imp_rewind", "magnitude", 2).iloc[0]
    assert ticket.loc["frankle2019_13.5", "mean_accuracy"] == level2["accuracy"]
    # The dense run after as many epochs from the rewind point (epoch 0 + 1).
    assert ticket.loc["frankle2019_13.5", "dense_accuracy"] == history["test_accuracy"].iloc[0]
    han = pd.read_csv(path / "results/pruning/iterative/literature.csv")
    han = han[han["status"] == "ran"]
    assert han["point"].unique().tolist() == ["han2015_12x"] and han["level"].unique().tolist() == [2]
    assert han["dense_accuracy"].unique().tolist() == [history["test_accuracy"].iloc[-1]]
    assert han["published_accuracy"].unique().tolist() == [0.9841]
