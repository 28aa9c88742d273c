"""Iterative pruning: per-level amounts, nested masks, rewinding, the controls, FLOPs, the level files."""

import numpy as np
import pytest

from useless_params import data, pruning
from useless_params.errors import InputError
from useless_params.evaluator import Evaluator
from useless_params.model import Architecture, Network
from useless_params.pruning import iterative
from useless_params.pruning.masks import Mask, PruneFraction, prune
from useless_params.pruning.sizes import dense_flops, forward_flops
from workflow_helpers import TRAINING_DEFAULTS

ARCH = Architecture.mlp((784, 16, 12, 10), "relu")
SETTINGS = {"epochs": 1, "learning_rate": 0.01, "rewind_epoch": 0}


def test_prune_fraction_counts_per_layer_and_global_with_the_output_rate():
    amount = PruneFraction(0.2, 0.1)
    # layer: ceil(0.2 n) pruned in hidden layers, ceil(0.1 n) in the output layer
    assert [n for _, n in amount.groups([100, 50, 30], "layer")] == [80, 40, 27]
    # global: the hidden layers ranked together (150 -> 120), the output layer apart
    assert amount.groups([100, 50, 30], "global") == [([0, 1], 120), ([2], 27)]
    assert amount.counts_after([10, 10], 3) == [[8, 9], [6, 8], [4, 7]]
    assert PruneFraction.kept(30, 0.1) == 27  # 0.1 x 30 is 3, not 3.0000000000000004 -> 4


def test_conv_layers_are_pruned_at_their_own_rate_and_ranked_apart_under_global_allocation():
    """The lottery-ticket convention for conv nets: conv layers at a lower rate than dense ones,
    the output layer at its own; LeNet-5's layer types come from its architecture."""
    lenet5 = Architecture.from_config({"layers": [
        {"type": "conv2d", "filters": 20, "kernel_size": 5}, {"type": "max_pool", "size": 2},
        {"type": "conv2d", "filters": 50, "kernel_size": 5}, {"type": "max_pool", "size": 2}, {"type": "flatten"},
        {"type": "dense", "units": 500, "activation": "relu"}, {"type": "dense", "units": 10}]}, (28, 28), 10)
    kinds = lenet5.layer_types()
    assert kinds == ("conv2d", "conv2d", "dense", "dense")
    amount = iterative.amount({"rate": 0.2, "output_rate": None, "conv_rate": 0.1}, kinds)
    sizes = lenet5.kernel_sizes()  # 500, 25,000, 400,000, 5,000
    assert [n for _, n in amount.groups(sizes, "layer")] == [450, 22_500, 320_000, 4_500]
    assert amount.groups(sizes, "global") == [([0, 1], 22_950), ([2], 320_000), ([3], 4_500)]
    same = iterative.amount({"rate": 0.2, "output_rate": None, "conv_rate": None}, kinds)
    assert same.groups(sizes, "global") == [([0, 1, 2], 340_400), ([3], 4_500)]  # one rate: ranked together
    # an MLP has no conv layer: conv_rate changes nothing
    mlp = iterative.amount({"rate": 0.2, "output_rate": 0.1, "conv_rate": 0.05}, ("dense",) * 3)
    assert mlp.groups([100, 50, 30], "global") == PruneFraction(0.2, 0.1).groups([100, 50, 30], "global")


def test_a_rate_too_small_to_round_up_still_prunes_a_weight_per_level():
    """The ceil tolerance must not cancel a tiny rate: 1e-300 of 784 weights prunes one, not none
    (every level on the dense network); a layer with no weight left stays empty."""
    assert PruneFraction.kept(784, 1e-300) == 783
    assert PruneFraction.kept(10, 1e-9) == 9 and PruneFraction.kept(10, 0.1) == 9
    assert PruneFraction.kept(0, 1e-300) == 0
    assert PruneFraction(1e-300, 1e-300).counts_after([100, 10], 3) == [[99, 9], [98, 8], [97, 7]]


def test_levels_are_nested_with_exact_counts_in_every_layer():
    rng = np.random.default_rng(0)
    mask = Mask.dense([(20, 8), (8, 3)])
    amount = PruneFraction(0.5, 0.25)
    expected = [[80, 18], [40, 13], [20, 9]]
    for level in range(3):
        scores = [rng.random((20, 8)), rng.random((8, 3))]  # fresh scores at every level
        new = prune(scores, mask, amount, "layer")
        assert new.kept_per_layer == expected[level]
        assert not any((n & ~m).any() for n, m in zip(new.layers, mask.layers))  # pruned once, pruned for good
        mask = new
    globally = prune([rng.random((20, 8)), rng.random((8, 3))], Mask.dense([(20, 8), (8, 3)]), amount, "global")
    assert globally.kept_per_layer[1] == 18 and sum(globally.kept_per_layer) == 80 + 18


def test_flops_of_a_hand_made_masked_network():
    kernels = [np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]], np.float32), np.array([[1.0], [0.0], [0.0]], np.float32)]
    network = Network.mlp(kernels, [np.zeros(3, np.float32), np.zeros(1, np.float32)], "relu")
    assert forward_flops(network) == 2 * 3 + 3 + 2 * 1 + 1  # 4 nonzero weights, 4 biases
    assert dense_flops(network) == 2 * 6 + 3 + 2 * 3 + 1
    assert pruning.sizes.flops_columns(network)["speedup"] == pytest.approx(22 / 12)


@pytest.fixture(scope="module")
def small(mnist):
    return (data.model_inputs(mnist["x_train"], 1000), data.labels(mnist["y_train"], 1000),
            data.model_inputs(mnist["x_test"], 300), data.labels(mnist["y_test"], 300))


@pytest.fixture(scope="module")
def dense_run(small):
    from useless_params import training

    cfg = dict(TRAINING_DEFAULTS, optimizer="adagrad", learning_rate=0.01, epsilon=1e-8, initial_accumulator_value=0.0, epochs=3,
               batch_size=32, validation_split=0.1, shuffle=True)
    from useless_params.pruning.retraining import make_trainer

    run = training.train(*small, ARCH, cfg, seed=3)

    return run, make_trainer(*small, ARCH, cfg)


def _chain(name="imp_rewind", allocation="layer", criterion="magnitude"):
    return iterative.Chain(dataset="mnist", network_seed=3, protocol=iterative.protocol(name), allocation=allocation,
                           criterion=pruning.criterion(criterion), draw=0, seed=2015)


def _recording(train):
    calls = []

    def recorded(start, mask, epochs, learning_rate, seed):
        calls.append((start, mask, seed))
        return train(start, mask, epochs, learning_rate, seed)

    return recorded, calls


def test_rewinding_reads_the_rewind_point_and_controls_branch_off(small, dense_run):
    run, train = dense_run
    rewind_point = Network.at_epoch(run.kernels, run.biases, 1, ARCH)  # late rewinding to epoch 1
    trained = Network.at_epoch(run.kernels, run.biases, -1, ARCH)
    recorded, calls = _recording(train)
    state = iterative.dense_state(trained)
    all_rows = []
    for level in (1, 2):
        state, rows = iterative.run_level(_chain(), level, state, reference=rewind_point, rewind_point=rewind_point,
                                          amount=PruneFraction(0.5, 0.25), settings=SETTINGS,
                                          controls=["reinit", "random_mask", "supermask"], train=recorded,
                                          architecture=ARCH)
        all_rows.append(rows)
        mask = state.mask
        # Masked weights exactly +0 after the level's training.
        for kernel, m in zip(state.network.kernels, mask.layers):
            assert (kernel[~m] == 0).all() and not np.signbit(kernel[~m]).any()
        ticket, reinit, random_mask = calls[-3:]
        # The chain starts from the masked rewind point (epoch 1), not the trained weights.
        for k, k1, m in zip(ticket[0].kernels, rewind_point.kernels, mask.layers):
            np.testing.assert_array_equal(k, np.where(m, k1, 0))
        # The reinitialisation keeps the mask but not the weights.
        assert all((a == b).all() for a, b in zip(reinit[1].layers, mask.layers))
        assert not np.array_equal(reinit[0].kernels[0][mask.layers[0]], ticket[0].kernels[0][mask.layers[0]])
        # The random mask keeps the level's per-layer counts, not its positions.
        assert random_mask[1].kept_per_layer == mask.kept_per_layer
        assert not (random_mask[1].layers[0] == mask.layers[0]).all()
        # The supermask is the evaluator's accuracy of the masked rewound network, untrained.
        supermask = next(r for r in rows if r["variant"] == "supermask")
        x, y = small[2], small[3]
        assert supermask["accuracy"] == Evaluator(mask.apply(rewind_point), x, y).accuracy_undisturbed
        assert supermask["epochs"] == 0
        assert [r["variant"] for r in rows] == ["pruned", "reinit", "random_mask", "supermask"]
        assert rows[0]["kept_weights"] == mask.kept and 1 <= rows[0]["early_stop_epoch"] <= 1
    assert all_rows[1][0]["kept_fraction"] < all_rows[0][0]["kept_fraction"]
    assert len({seed for _, _, seed in calls}) == len(calls)  # every run its own seed


def test_continuing_starts_from_the_previous_levels_weights(small, dense_run):
    run, train = dense_run
    trained = Network.at_epoch(run.kernels, run.biases, -1, ARCH)
    initial = Network.at_epoch(run.kernels, run.biases, 0, ARCH)
    recorded, calls = _recording(train)
    state, _ = iterative.run_level(_chain("imp_continue", "global", "movement"), 1, iterative.dense_state(trained),
                                   reference=initial, rewind_point=initial, amount=PruneFraction(0.5, 0.25),
                                   settings={"epochs": 1, "learning_rate": 0.001}, controls=[], train=recorded,
                                   architecture=ARCH)
    for k, k_trained, m in zip(calls[0][0].kernels, trained.kernels, state.mask.layers):
        np.testing.assert_array_equal(k, np.where(m, k_trained, 0))
    with pytest.raises(ValueError, match="level 3 needs level 2"):
        iterative.run_level(_chain(), 3, state, reference=initial, rewind_point=initial,
                            amount=PruneFraction(0.5, 0.25), settings=SETTINGS, controls=[], train=recorded,
                            architecture=ARCH)


def test_level_files_round_trip_and_refuse_another_chain_or_damage(tmp_path):
    rng = np.random.default_rng(1)
    mask = Mask((rng.random((784, 16)) < 0.5, rng.random((16, 12)) < 0.5, rng.random((12, 10)) < 0.5))
    network = mask.apply(ARCH.glorot_uniform(rng))
    path = tmp_path / "level1.h5"
    iterative.LevelState(1, mask, network).save(path, _chain())
    back = iterative.LevelState.load(path, _chain(), 1)
    assert all((a == b).all() for a, b in zip(back.mask.layers, mask.layers))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(back.network.kernels, network.kernels))
    with pytest.raises(InputError, match="level1.h5: holds criterion 'magnitude', the path says criterion 'movement'"):
        iterative.LevelState.load(path, _chain(criterion="movement"), 1)
    with pytest.raises(InputError, match="holds level 1, the path says level 2"):
        iterative.LevelState.load(path, _chain(), 2)
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # zeros inside the file: the checksums catch them
        handle.seek(size // 2)
        handle.write(b"\0" * (size // 4))
    with pytest.raises(InputError, match="level1.h5: (damaged level file|.*disagree)"):
        iterative.LevelState.load(path, _chain(), 1)


def test_early_stopping_epoch_is_the_lowest_validation_loss():
    history = {"val_loss": [0.5, 0.3, 0.4], "test_accuracy": [0.1, 0.8, 0.9, 0.85]}
    assert iterative.early_stopping(history) == (2, 0.9)
    assert iterative.early_stopping({"val_loss": [np.nan, np.nan], "test_accuracy": [0.1, 0.5, 0.6]}) == (2, 0.6)


def test_iterative_summary_compares_rewinding_with_the_dense_run_after_as_many_epochs():
    import pandas as pd

    from useless_params.pruning.iterative_summary import summarise_levels

    dense = {("mnist", 1): [0.1, 0.90, 0.93, 0.95, 0.96]}
    rows = [dict(dataset="mnist", network_seed=1, protocol=p, allocation="layer", criterion="magnitude", draw=0,
                 level=level, variant="pruned", epochs=2, kept_fraction=0.5 ** level, accuracy=acc,
                 early_stop_accuracy=acc, early_stop_epoch=1, kept_fraction_with_biases=0.5 ** level, speedup=2.0 ** level,
                 sparse_gzip_bytes=1)
            for p, accuracies in (("imp_rewind", [0.952, 0.946]), ("imp_continue", [0.959, 0.94]))
            for level, acc in zip((1, 2), accuracies)]
    settings = {"imp_rewind": {"epochs": 2, "learning_rate": 0.01, "rewind_epoch": 1},
                "imp_continue": {"epochs": 2, "learning_rate": 0.001}}
    curve, points = summarise_levels(pd.DataFrame(rows), dense, settings)
    rewind = curve[curve["protocol"] == "imp_rewind"]
    assert rewind["baseline_accuracy"].tolist() == [0.95, 0.95]  # dense after 1 + 2 epochs
    points = points.set_index("protocol")
    assert points.loc["imp_rewind", "min_kept_fraction_within_0.5_points"] == 0.25
    assert points.loc["imp_continue", "min_kept_fraction_within_0.5_points"] == 0.5
    assert points.loc["imp_continue", "min_kept_fraction_within_1_points"] == 0.5


def test_published_points_take_the_first_level_at_or_below_their_fraction_against_the_dense_run():
    import pandas as pd

    from useless_params.pruning.literature import LENET_300_100, PUBLISHED, against_the_literature

    # Dense run: epochs 1-4; the lowest validation loss within the first 1 + 2 epochs is epoch 2.
    history = {"test_accuracy": [0.90, 0.93, 0.95, 0.96], "val_loss": [0.5, 0.3, 0.4, 0.2]}
    histories = {("mnist", 1): history, ("mnist", 2): history}
    kept = {1: 0.6, 2: 0.512, 3: 0.2, 4: 0.1355, 5: 0.07, 6: 0.0358}
    rows = [dict(dataset="mnist", network_seed=seed, protocol=p, allocation="layer", criterion="magnitude", draw=0,
                 level=level, variant=variant, kept_fraction=fraction, accuracy=0.94 + 0.01 * seed - bonus,
                 early_stop_accuracy=0.945)
            for p in ("imp_rewind", "imp_continue") for seed in (1, 2) for level, fraction in kept.items()
            for variant, bonus in (("pruned", 0.0), ("reinit", 0.02))]
    settings = {"imp_rewind": {"epochs": 2, "learning_rate": 0.01, "rewind_epoch": 1},
                "imp_continue": {"epochs": 2, "learning_rate": 0.001}}
    table = against_the_literature(pd.DataFrame(rows), histories, {"mnist": LENET_300_100}, settings)
    assert set(table["status"]) == {"ran"}
    assert len(table) == 2 * 3 + 2  # three ticket points and Han et al.'s, each for pruned and reinit
    ticket = table[(table["variant"] == "pruned")].set_index("point")
    assert ticket.loc["frankle2019_51", "level"] == 2 and ticket.loc["frankle2019_13.5", "level"] == 4
    assert ticket.loc["frankle2019_3.6", "level"] == 6 and ticket.loc["han2015_12x", "level"] == 5
    assert ticket.loc["frankle2019_3.6", "dense_accuracy"] == 0.95  # after rewind epoch 1 + 2 epochs
    assert ticket.loc["frankle2019_3.6", "dense_early_stop_accuracy"] == 0.93  # epoch 2 of 1..3
    assert ticket.loc["han2015_12x", "dense_accuracy"] == 0.96  # the trained network
    assert ticket.loc["han2015_12x", "dense_early_stop_accuracy"] == 0.96  # epoch 4 of 1..4
    assert ticket.loc["frankle2019_3.6", "mean_accuracy"] == pytest.approx(0.955)
    assert ticket.loc["frankle2019_3.6", "std_accuracy"] == pytest.approx(0.005)
    assert ticket.loc["frankle2019_3.6", "points_vs_dense"] == pytest.approx(0.5)
    assert ticket.loc["han2015_12x", "published_accuracy"] == PUBLISHED["han2015_12x"].accuracy
    # Another network, a protocol that did not run, or too few levels: one row per point saying why.
    other = against_the_literature(pd.DataFrame(rows), histories, {"mnist": [784, 100, 100, 10]}, settings)
    assert other["point"].tolist() == list(PUBLISHED) and other["mean_accuracy"].isna().all()
    assert set(other["status"]) == {"not run: the point is on 784-300-100-10, the run's mnist network is "
                                    "784-100-100-10 (give configs/lenet300_100.yaml first)"}
    only_rewind = against_the_literature(pd.DataFrame(rows), histories, {"mnist": LENET_300_100},
                                         {"imp_rewind": settings["imp_rewind"]})
    assert set(only_rewind[only_rewind["status"] == "ran"]["protocol"]) == {"imp_rewind"}
    assert only_rewind.set_index("point").loc["han2015_12x", "status"] == "not run: protocol imp_continue was not run"
    shallow = pd.DataFrame(rows)
    shallow = shallow[shallow["level"] <= 2]
    few = against_the_literature(shallow, histories, {"mnist": LENET_300_100}, settings).set_index("point")
    assert few.loc["frankle2019_3.6", "status"] == ("not run: no level reached 3.6% of the weights (fewest kept: "
                                                    "51.2%); add levels")
