"""The compiled training loop: masks held at exactly 0, starting points, optimizers, Keras' split."""

import numpy as np
import pytest

from useless_params import data, training
from useless_params.errors import InputError
from useless_params.optimizers import OPTIMIZERS
from useless_params.model import Architecture, Network

CFG = dict(optimizer="adagrad", learning_rate=0.01, epsilon=1e-8, initial_accumulator_value=0.0, epochs=3,
           batch_size=32, validation_split=0.1, shuffle=True)
NET = Architecture((784, 16, 12, 10), "sigmoid")


@pytest.fixture(scope="module")
def small(mnist):
    return (data.model_inputs(mnist["x_train"], 1000), data.labels(mnist["y_train"], 1000),
            data.model_inputs(mnist["x_test"], 300), data.labels(mnist["y_test"], 300))


def _masks(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random(shape) < 0.3 for shape in ((784, 16), (16, 12), (12, 10))]


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_masked_weights_stay_exactly_zero_for_every_optimizer(small, optimizer):
    masks = _masks()
    cfg = dict(CFG, optimizer=optimizer, learning_rate=0.05 if optimizer == "sgd" else 0.01)
    kernels, biases, history, _ = training.train(*small, NET, cfg, seed=3, masks=masks)
    for kernel, mask in zip(kernels, masks):
        assert kernel.shape[0] == 4  # epochs 0..3
        assert (kernel[:, ~mask] == 0).all()  # every stored epoch
        assert not np.signbit(kernel[:, ~mask]).any()  # +0.0, not -0.0
        assert (kernel[-1][mask] != kernel[0][mask]).mean() > 0.5  # the kept weights do train
    assert history["loss"][-1] < history["loss"][0], optimizer


def test_training_continues_from_a_given_start(small):
    kernels, biases, _, _ = training.train(*small, NET, dict(CFG, epochs=1), seed=3)
    start = Network([k[-1] for k in kernels], [b[-1] for b in biases], "sigmoid")
    again, again_biases, history, _ = training.train(*small, NET, dict(CFG, epochs=1), seed=4, start=start)
    for stored, given in zip(again + again_biases, start.kernels + start.biases):
        assert stored[0].tobytes() == given.tobytes()
    assert history["test_accuracy"][0] == pytest.approx(history["test_accuracy"][0])


def test_fresh_initialisation_is_glorot_uniform_with_zero_biases(small):
    kernels, biases, _, _ = training.train(*small, NET, dict(CFG, epochs=1), seed=5)
    for kernel in kernels:
        fan_in, fan_out = kernel.shape[1:]
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(kernel[0]).max() <= limit and np.abs(kernel[0]).max() > 0.9 * limit
    assert all((b[0] == 0).all() for b in biases)


def test_fresh_initialisation_follows_the_architectures_initializer(small):
    gaussian = Architecture(NET.layer_sizes, "relu", "glorot_normal")
    kernels, biases, _, _ = training.train(*small, gaussian, dict(CFG, epochs=1), seed=5)
    for kernel in kernels:
        fan_in, fan_out = kernel.shape[1:]
        # Beyond Glorot-uniform's limit (sqrt(3) std), within the truncation (2 std / 0.8796).
        std = np.sqrt(2 / (fan_in + fan_out))
        assert np.sqrt(3) * std < np.abs(kernel[0]).max() <= 2 * std / 0.87962566103423978
    assert all((b[0] == 0).all() for b in biases)


def test_history_has_keras_metrics_and_the_split_is_keras(small):
    _, _, history, _ = training.train(*small, NET, dict(CFG, epochs=2), seed=5)
    assert sorted(history) == ["accuracy", "loss", "test_accuracy", "val_accuracy", "val_loss"]
    assert len(history["loss"]) == 2 and len(history["test_accuracy"]) == 3
    assert training.validation_split_at(60000, 0.1) == 54000
    assert training.validation_split_at(1000, 0.1) == 900


def test_unknown_optimizer_is_an_error_listing_the_known_ones(small):
    with pytest.raises(InputError, match="training.optimizer: unknown value 'adamw'; expected one of adagrad, sgd"):
        training.train(*small, NET, dict(CFG, optimizer="adamw"), seed=1)


@pytest.mark.parametrize("mode", ["finetune", "rewind"])
def test_finetuning_and_rewinding_keep_pruned_weights_exactly_zero(small, mode):
    """The pruning jobs' path: the compiled trainer as retrainer, a real ranking, several epochs."""
    from useless_params import forward, pruning

    cfg = dict(CFG, epochs=2)
    kernels, biases, _, _ = training.train(*small, NET, cfg, seed=5)
    initial = Network([k[0] for k in kernels], [b[0] for b in biases], "sigmoid")
    trained = Network([k[-1] for k in kernels], [b[-1] for b in biases], "sigmoid")
    retrain = pruning.make_retrainer(*small, NET, cfg)
    networks = []

    def recording(starts, masks, epochs, learning_rate, seed):
        retrained = retrain(starts, masks, epochs, learning_rate, seed)
        networks.extend(zip(retrained, masks))
        return retrained

    job = pruning.PruningJob(dataset="mnist", network_seed=5, criterion=pruning.criterion("magnitude"),
                             allocation="layer", draw=0, retraining=pruning.retraining(mode), seed=1)
    rows = pruning.job_rows(job, compressions=[2, 8], initial=initial, reference=initial, trained=trained,
                            accuracy=lambda n: forward.accuracy(n, small[2], small[3]),
                            settings={"epochs": 3, "learning_rate": 0.01}, retrain=recording)
    assert [r["kept_fraction"] for r in rows] == pytest.approx([0.5, 0.125], abs=0.01)
    for (network, mask), row in zip(networks, rows):
        for kernel, mask in zip(network.kernels, mask.layers):
            assert (kernel[~mask] == 0).all() and not np.signbit(kernel[~mask]).any()
        assert row["nonzero_parameters"] <= row["kept_weights"] + sum(b.size for b in network.biases)
        assert 0.1 < row["accuracy"] <= 1
