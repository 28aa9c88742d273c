"""Pruning criteria, allocation, masks and sizes, on small hand-made networks."""

import numpy as np
import pytest

from useless_params import pruning
from useless_params.errors import InputError
from useless_params.model import Network
from useless_params.pruning import Compression, Mask, prune


def masks_at(layer_scores, compression, allocation):
    """The one-shot step: ``prune`` from the dense mask at ``compression``."""
    dense = Mask.dense([s.shape for s in layer_scores])
    return list(prune(layer_scores, dense, Compression(compression), allocation).layers)

# One layer of six weights: initial w and trained w'.
W0 = np.array([[1.0, -2.0, 0.5], [0.0, 4.0, -1.0]])
W1 = np.array([[1.1, -0.5, 2.0], [0.0, 4.4, 0.5]])


@pytest.mark.parametrize("name, expected_order", [
    # c = |w'-w|/|w|*100: 10, 75, 300, 0 (w = w' = 0), 10, 150 -> ascending, ties by position
    ("change_scale", [3, 0, 4, 1, 5, 2]),
    # |w'|: 1.1, 0.5, 2.0, 0, 4.4, 0.5
    ("magnitude", [3, 1, 5, 0, 2, 4]),
    # |w'-w|: 0.1, 1.5, 1.5, 0, 0.4, 1.5
    ("movement", [3, 0, 4, 1, 2, 5]),
    # |w'|-|w|: 0.1, -1.5, 1.5, 0, 0.4, -0.5
    ("magnitude_increase", [1, 5, 3, 0, 4, 2]),
])
def test_each_criterion_prunes_its_lowest_scores_first(name, expected_order):
    crit = pruning.criterion(name)
    score = pruning.scores(crit, [W0], [W1])[0]
    # Keeping k weights prunes the first 6 - k of the expected order (ties: earlier position first).
    for kept in range(1, 6):
        mask = masks_at([score], 6 / kept, "layer")[0].ravel()
        assert mask.sum() == kept
        assert set(np.flatnonzero(~mask)) == set(expected_order[: 6 - kept]), (name, kept)


def test_infinite_change_scale_is_pruned_last():
    w0 = np.array([[0.0, 1.0, 2.0]])
    w1 = np.array([[0.3, 1.5, 2.1]])  # c = inf, 50, 5
    score = pruning.scores(pruning.criterion("change_scale"), [w0], [w1])[0]
    assert np.isinf(score[0, 0])
    mask = masks_at([score], 3, "layer")[0]
    assert mask.tolist() == [[True, False, False]]


def test_ties_are_broken_by_position():
    score = np.zeros((2, 3))
    mask = masks_at([score], 2, "layer")[0]
    assert mask.ravel().tolist() == [False, False, False, True, True, True]  # earlier pruned first


def test_random_scores_come_from_the_generator():
    crit = pruning.criterion("random")
    a = pruning.scores(crit, [W0], [W1], np.random.default_rng(1))[0]
    b = pruning.scores(crit, [W0], [W1], np.random.default_rng(1))[0]
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        pruning.scores(crit, [W0], [W1])


@pytest.mark.parametrize("compression", [1, 1.25, 1.5, 2, 3, 4, 8, 12, 16, 32, 64])
def test_exact_kept_counts_at_every_operating_point(compression):
    rng = np.random.default_rng(0)
    layer_scores = [rng.random((784, 100)), rng.random((100, 100)), rng.random((100, 10))]
    for allocation in pruning.ALLOCATIONS:
        masks = masks_at(layer_scores, compression, allocation)
        kept = [int(m.sum()) for m in masks]
        if allocation == "layer":
            assert kept == [max(1, round(s.size / compression)) for s in layer_scores]
        else:
            assert sum(kept) == round(89_400 / compression)


def test_global_allocation_ranks_over_all_layers():
    small = np.full((2, 2), 1.0)
    large = np.full((2, 2), 5.0)
    masks = masks_at([small, large], 2, "global")
    assert [int(m.sum()) for m in masks] == [0, 4]
    masks = masks_at([small, large], 2, "layer")
    assert [int(m.sum()) for m in masks] == [2, 2]


def test_unknown_names_and_bad_ratios_are_errors():
    with pytest.raises(InputError, match="unknown pruning criterion 'size'; expected one of change_scale"):
        pruning.criterion("size")
    with pytest.raises(InputError, match="unknown pruning allocation 'row'"):
        masks_at([W1], 2, "row")
    with pytest.raises(InputError, match="below 1"):
        masks_at([W1], 0.5, "layer")


def _network(rng):
    kernels = [rng.normal(size=(20, 8)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32)]
    return Network.mlp(kernels, [rng.normal(size=8).astype(np.float32), np.zeros(3, np.float32)], "sigmoid")


def test_apply_masks_zeroes_exactly_the_pruned_weights_and_keeps_biases():
    network = _network(np.random.default_rng(2))
    masks = masks_at([np.abs(k) for k in network.kernels], 4, "layer")
    pruned = Mask(tuple(masks)).apply(network)
    for kernel, pruned_kernel, mask in zip(network.kernels, pruned.kernels, masks):
        assert (pruned_kernel[~mask] == 0).all()
        np.testing.assert_array_equal(pruned_kernel[mask], kernel[mask])
    for bias, pruned_bias in zip(network.biases, pruned.biases):
        np.testing.assert_array_equal(bias, pruned_bias)
    assert pruning.nonzero_parameters(pruned) == sum(int(m.sum()) for m in masks) + 8


def test_sparse_export_round_trips_and_is_smaller_when_sparse():
    network = _network(np.random.default_rng(3))
    pruned = Mask(tuple(masks_at([np.abs(k) for k in network.kernels], 8, "global"))).apply(network)
    blob = pruning.sparse_export(pruned)
    back = pruning.sparse_import(blob)
    assert back.activation == "sigmoid"
    for a, b in zip(pruned.kernels + pruned.biases, back.kernels + back.biases):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert pruning.sparse_export(pruned) == blob  # deterministic bytes
    assert len(blob) < len(pruning.sparse_export(network))
    assert pruning.dense_hdf5_bytes(pruned) > 4 * (160 + 24 + 11)


def _job(mode, retrain=None, compressions=(2, 4)):
    rng = np.random.default_rng(4)
    initial = _network(rng)
    trained = Network.mlp([k + rng.normal(scale=0.5, size=k.shape).astype(np.float32) for k in initial.kernels],
                      initial.biases, "sigmoid")
    job = pruning.PruningJob(dataset="mnist", network_seed=1, criterion=pruning.criterion("magnitude"),
                             allocation="global", draw=0, retraining=pruning.retraining(mode), seed=7)
    settings = pruning.retraining(mode).settings({"finetune": {"epochs": 2, "learning_rate": 0.01},
                                                  "rewind": {"epochs": 2, "learning_rate": 0.01}})
    return pruning.job_rows(job, compressions=list(compressions), initial=initial, reference=initial,
                            trained=trained, accuracy=lambda net: 0.5, settings=settings, retrain=retrain)


def test_job_rows_report_kept_fractions_with_and_without_biases():
    rows = _job("none")
    assert [r["kept_weights"] for r in rows] == [92, 46]  # 184 weights
    assert rows[0]["kept_fraction"] == 0.5
    assert rows[0]["kept_fraction_with_biases"] == pytest.approx((92 + 11) / (184 + 11))
    assert rows[0]["compression_with_biases"] == pytest.approx((184 + 11) / (92 + 11))
    assert all(r["biases_pruned"] is False and r["epochs"] == 0 for r in rows)
    assert rows[1]["nonzero_parameters"] == 46 + 8  # the output biases are 0


def test_retraining_starts_from_the_pruned_trained_or_initial_weights():
    seen = []

    def retrain(starts, masks, epochs, learning_rate, seed):
        for start, mask in zip(starts, masks):
            for kernel, layer_mask in zip(start.kernels, mask.layers):
                assert (kernel[~layer_mask] == 0).all()
            seen.append((start.kernels[0].copy(), epochs, learning_rate, seed))
        return starts

    finetuned = _job("finetune", retrain)
    rewound = _job("rewind", retrain)
    assert finetuned[0]["epochs"] == 2 and rewound[0]["retraining"] == "rewind"
    assert not np.array_equal(seen[0][0], seen[2][0])  # trained vs initial starting weights
    # One batch order per trained network and mode, shared by its ratios (and recorded).
    assert [s[3] for s in seen[:2]] == [r["batch_order_seed"] for r in finetuned] == [seen[0][3]] * 2
    assert seen[2][3] == seen[3][3] != seen[0][3]
    assert _job("none")[0]["batch_order_seed"] == -1


def test_the_batch_order_is_shared_by_criteria_allocations_and_draws_of_one_network_and_mode():
    """Paired runs: only the trained network (its seed) and the mode choose the batch order."""
    def job(**changes):
        fields = dict(dataset="mnist", network_seed=1, criterion=pruning.criterion("magnitude"), allocation="global",
                      draw=0, retraining=pruning.retraining("rewind"), seed=7)
        return pruning.PruningJob(**{**fields, **changes})

    seed = job().batch_order_seed()
    assert seed == job(criterion=pruning.criterion("random"), allocation="layer", draw=2).batch_order_seed()
    assert len({seed, job(network_seed=2).batch_order_seed(), job(seed=8).batch_order_seed(),
                job(retraining=pruning.retraining("finetune")).batch_order_seed()}) == 4


def test_a_retrainer_that_moves_pruned_weights_is_caught():
    def leaky(starts, masks, epochs, learning_rate, seed):
        return [Network([k + 1 for k in start.kernels], start.biases, start.architecture) for start in starts]

    with pytest.raises(AssertionError, match="pruned weights are nonzero after finetune"):
        _job("finetune", leaky)


def test_summary_compares_rewinding_with_the_dense_network_after_as_many_epochs():
    import pandas as pd

    # epochs 0..4 of each dataset's dense network; MNIST trained: 0.96. Fashion-MNIST's network has
    # the same seed and must be compared with its own dense network, not MNIST's.
    dense = {("mnist", 1): [0.1, 0.90, 0.93, 0.95, 0.96], ("fashion_mnist", 1): [0.1, 0.80, 0.83, 0.85, 0.86]}
    rows = []
    for dataset, shift in (("mnist", 0.0), ("fashion_mnist", -0.1)):
        for mode, epochs, accuracies in (("none", 0, [0.958, 0.951, 0.90]), ("rewind", 2, [0.93, 0.926, 0.91])):
            for compression, accuracy in zip([2, 4, 8], accuracies):
                rows.append({"dataset": dataset, "network_seed": 1, "criterion": "magnitude", "allocation": "layer", "draw": 0,
                             "retraining": mode, "epochs": epochs, "compression": compression,
                             "accuracy": accuracy + shift, "kept_fraction": 1 / compression,
                             "kept_fraction_with_biases": 1 / compression, "compression_with_biases": compression,
                             "sparse_gzip_bytes": 1, "dense_hdf5_bytes": 2, "speedup": compression})
    settings = {"none": {"epochs": 0, "learning_rate": 0.0}, "rewind": {"epochs": 2, "learning_rate": 0.01}}
    curve, all_points = pruning.summarise(pd.DataFrame(rows), dense, settings)
    assert curve["dataset"].unique().tolist() == ["mnist", "fashion_mnist"]
    for dataset, baseline in (("mnist", 0.93), ("fashion_mnist", 0.83)):
        rewind = curve[(curve["retraining"] == "rewind") & (curve["dataset"] == dataset)]
        assert rewind["baseline_accuracy"].round(6).tolist() == [baseline] * 3  # dense after 2 epochs
        assert rewind["mean_loss_points"].round(6).tolist() == [0.0, 0.4, 2.0]
    fashion = all_points[all_points["dataset"] == "fashion_mnist"].set_index("retraining")
    assert fashion.loc["none", "max_compression_within_1_points"] == 4.0
    points = all_points[all_points["dataset"] == "mnist"].set_index("retraining")
    assert points.loc["none", "max_compression_within_0.5_points"] == 2.0  # 0.2 points; 4x loses 0.9
    assert points.loc["none", "max_compression_within_1_points"] == 4.0
    assert points.loc["rewind", "max_compression_within_0.5_points"] == 4.0
    assert points.loc["rewind", "baseline_accuracy"] == 0.93


def test_prune_ranks_only_the_weights_the_current_mask_keeps():
    """Masks are nested: a weight pruned once stays pruned, whatever its new score."""
    score = np.array([[5.0, 1.0, 4.0, 2.0, 3.0, 6.0]])
    current = Mask((np.array([[False, True, True, True, True, True]]),))  # weight 0 (the best score) is gone
    mask = prune([score], current, Compression(5 / 3), "layer")  # keep round(5 / (5/3)) = 3 of the 5 left
    assert mask.layers[0].tolist() == [[False, False, True, False, True, True]]
    assert not (mask.layers[0] & ~current.layers[0]).any()
    again = prune([score[:, ::-1].copy()], mask, Compression(3), "layer")  # 1 of 3, new scores
    assert again.kept == 1 and not (again.layers[0] & ~mask.layers[0]).any()


def test_prune_global_counts_over_the_remaining_weights_of_every_layer():
    scores = [np.arange(6.0).reshape(2, 3), np.arange(6.0, 10.0).reshape(2, 2)]
    current = Mask((np.ones((2, 3), bool), np.array([[True, False], [True, True]])))  # 9 left
    mask = prune(scores, current, Compression(3), "global")  # 3 kept: the three highest scores left
    assert mask.kept_per_layer == [0, 3] and mask.layers[1].tolist() == [[True, False], [True, True]]


def test_mask_leak_check_and_counts():
    network = _network(np.random.default_rng(5))
    mask = Mask(tuple(np.abs(k) > 0.5 for k in network.kernels))
    assert mask.total == 184 and mask.kept == sum(int(m.sum()) for m in mask.layers)
    assert mask.leaked(mask.apply(network)) == 0
    assert mask.leaked(network) == mask.total - mask.kept


def test_summary_refuses_tables_whose_epochs_disagree_with_the_config():
    import pandas as pd

    row = {"dataset": "mnist", "network_seed": 1, "criterion": "magnitude", "allocation": "layer", "draw": 0,
           "retraining": "rewind", "epochs": 3, "compression": 2.0, "accuracy": 0.9, "kept_fraction": 0.5,
           "kept_fraction_with_biases": 0.5, "compression_with_biases": 2.0, "sparse_gzip_bytes": 1,
           "dense_hdf5_bytes": 2}
    settings = {"rewind": {"epochs": 2, "learning_rate": 0.01}}
    with pytest.raises(InputError, match="retraining mode 'rewind' record epochs \\[3\\], the config asks for 2"):
        pruning.summarise(pd.DataFrame([row]), {("mnist", 1): [0.1, 0.9, 0.95, 0.96]}, settings)


def test_sparse_export_round_trips_conv_kernels_exactly():
    """A 4-D conv kernel (height, width, in, out) and a dense one, pruned: the import gives the same bytes."""
    rng = np.random.default_rng(5)
    kernels = [rng.normal(size=(5, 5, 3, 8)).astype(np.float32), rng.normal(size=(72, 10)).astype(np.float32)]
    for kernel in kernels:
        kernel[rng.random(kernel.shape) < 0.8] = 0
    network = Network.mlp(kernels, [rng.normal(size=8).astype(np.float32), np.zeros(10, np.float32)], "relu")
    back = pruning.sparse_import(pruning.sparse_export(network))
    for ours, theirs in zip(back.kernels + back.biases, network.kernels + network.biases):
        assert ours.shape == theirs.shape and ours.tobytes() == theirs.tobytes()


def test_layer_costs_count_a_conv_weight_once_per_output_position():
    """Han et al. 2015 Table 3's columns: a conv layer's kept multiply-adds are its kept weights x its
    output positions, a dense layer's are its kept weights; the total's fractions differ."""
    from useless_params.model import Architecture
    from useless_params.pruning.sizes import layer_costs

    architecture = Architecture.from_config({"layers": [
        {"type": "conv2d", "filters": 2, "kernel_size": 3}, {"type": "flatten"}, {"type": "dense", "units": 3}],
        "initializer": "glorot_uniform", "hidden_layers": None, "activation": None}, (6, 6), 3)
    network = architecture.initial_network(np.random.default_rng(0))
    kernels = [np.array(k) for k in network.kernels]
    kernels[0].reshape(-1)[:9] = 0  # 9 of 18 conv weights
    kernels[1].reshape(-1)[:24] = 0  # 24 of 96 dense weights
    rows = layer_costs(Network(kernels, network.biases, architecture))
    assert [r["layer"] for r in rows] == ["conv1", "fc1"]
    conv, dense = rows
    assert (conv["weights"], conv["kept_weights"], conv["multiply_adds"], conv["kept_multiply_adds"]) == (18, 9, 18 * 16, 9 * 16)
    assert (dense["weights"], dense["kept_weights"], dense["multiply_adds"], dense["kept_multiply_adds"]) == (96, 72, 96, 72)
