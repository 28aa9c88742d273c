"""The numpy evaluator against Keras' model.predict, on trained and disturbed networks."""

import sys

import numpy as np
import pytest
from workflow_helpers import REPO, TRAINING_DEFAULTS

from useless_params import data
from useless_params.disturb import reset_selected, select, shuffle_selected
from useless_params.evaluator import Evaluator
from useless_params.model import Architecture, Network
from useless_params.seeding import generator

sys.path.insert(0, str(REPO / "benchmarks"))  # keras_reference: the Keras model the article evaluated


@pytest.fixture(scope="module")
def trained(mnist):
    """A briefly trained article network (1 epoch on 12,000 images) and the full test set."""
    from useless_params import training

    cfg = dict(TRAINING_DEFAULTS, optimizer="adagrad", learning_rate=0.01, epsilon=1e-8, initial_accumulator_value=0.0,
               epochs=1, batch_size=32, validation_split=0.1, shuffle=True)
    kernels, biases, history, summary = training.train(
        data.model_inputs(mnist["x_train"], 12000), data.labels(mnist["y_train"], 12000),
        data.model_inputs(mnist["x_test"]), data.labels(mnist["y_test"]),
        Architecture((784, 100, 100, 10), "sigmoid"), cfg, seed=5, threads=2)
    network = Network([k[-1] for k in kernels], [b[-1] for b in biases], "sigmoid")
    x, y = data.model_inputs(mnist["x_test"]), data.labels(mnist["y_test"])
    # The trainer's own test accuracy (numpy forward pass) is Keras' on the same weights.
    assert history["test_accuracy"][-1] == pytest.approx(np.mean(keras_predictions(network, x) == y), abs=5e-4)
    return network, x, y


def keras_predictions(network, x):
    from keras_reference import model_from_network

    return np.argmax(model_from_network(network).predict(x, batch_size=2000, verbose=0), axis=1)


def assert_agrees(network, x, y, accuracy):
    predicted = keras_predictions(network, x)
    assert np.count_nonzero(predicted == Evaluator(network, x, y).predictions) >= 9995
    assert accuracy == pytest.approx(np.mean(predicted == y), abs=5e-4)


def test_trained_network_matches_keras(trained):
    network, x, y = trained
    evaluator = Evaluator(network, x, y)
    assert evaluator.accuracy_undisturbed > 0.85
    assert_agrees(network, x, y, evaluator.accuracy_undisturbed)


@pytest.mark.parametrize("layers, kind", [([0], "kernel"), ([1], "bias"), ([2], "kernel"), ([0, 1, 2], "kernel"), ([0, 1, 2], "bias")])
def test_disturbed_networks_match_keras(trained, layers, kind):
    network, x, y = trained
    evaluator = Evaluator(network, x, y)
    base = network.kernels if kind == "kernel" else network.biases
    rng = generator(11, "evaluator-test", kind, *layers)
    candidates = []
    for repeat in range(3):
        arrays = [base[l] for l in layers]
        masks = [rng.random(a.shape) < 0.3 for a in arrays]
        new = reset_selected(arrays, masks, 1.0, rng) if repeat % 2 else shuffle_selected(arrays, masks, rng)
        candidates.append(dict(zip(layers, new)))
    batch = {l: np.stack([c[l] for c in candidates]) for l in layers}
    accuracies = evaluator.accuracy(kernels=batch) if kind == "kernel" else evaluator.accuracy(biases=batch)
    for repeat, replaced in enumerate(candidates):
        kernels = [replaced.get(l, k) if kind == "kernel" else k for l, k in enumerate(network.kernels)]
        biases = [replaced.get(l, b) if kind == "bias" else b for l, b in enumerate(network.biases)]
        disturbed = Network(kernels, biases, network.activation)
        assert_agrees(disturbed, x, y, accuracies[repeat])


def test_small_memory_budget_gives_same_result(trained):
    network, x, y = trained
    rng = generator(1, "chunks")
    batch = np.stack([shuffle_selected([network.kernels[0]], [select(rng.random((784, 100)) * 100, 40)], rng)[0]
                      for _ in range(5)])
    full = Evaluator(network, x, y).accuracy(kernels={0: batch})
    chunked = Evaluator(network, x, y, batch_memory_mb=1).accuracy(kernels={0: batch})
    np.testing.assert_array_equal(full, chunked)


def test_unknown_activation_is_a_clear_error(trained):
    from useless_params.errors import InputError

    network, x, y = trained
    with pytest.raises(InputError, match="network.activation"):
        Evaluator(Network(network.kernels, network.biases, "swish"), x, y)


@pytest.mark.parametrize("layers", [[0], [1], [0, 1, 2]], ids=["layer0", "layer1", "all"])
@pytest.mark.parametrize("fraction", [0.003, 0.05, 0.2])
def test_delta_path_matches_the_dense_path_and_keras(trained, layers, fraction):
    """Changed entries only (as the jobs pass them): the same accuracies as the dense GEMM,
    up to an arg-max tie flipped by float32 summation order, and Keras' predictions."""
    network, x, y = trained
    rng = generator(12, "delta-test", fraction, *layers)
    masks = [rng.random(network.kernels[l].shape) < fraction for l in layers]
    arrays = [network.kernels[l] for l in layers]
    candidates = [reset_selected(arrays, masks, 1.0, rng) if repeat % 2 else shuffle_selected(arrays, masks, rng)
                  for repeat in range(6)]
    batch = {l: np.stack([c[i] for c in candidates]) for i, l in enumerate(layers)}
    evaluator = Evaluator(network, x, y, batch_memory_mb=40)  # several chunks
    dense = evaluator.accuracy(kernels=batch)
    delta = evaluator.accuracy(kernels=batch, changed=dict(zip(layers, masks)), delta_max_fraction=1.0)
    assert np.abs(dense - delta).max() <= 2 / len(y)
    kernels = [candidates[1][layers.index(l)] if l in layers else k for l, k in enumerate(network.kernels)]
    assert_agrees(Network(kernels, network.biases, network.activation), x, y, delta[1])


def test_delta_path_is_skipped_above_its_crossover(trained):
    network, x, y = trained
    rng = generator(13, "crossover")
    mask = rng.random(network.kernels[0].shape) < 0.6
    batch = np.stack([shuffle_selected([network.kernels[0]], [mask], rng)[0] for _ in range(3)])
    evaluator = Evaluator(network, x, y)
    dense = evaluator.accuracy(kernels={0: batch})
    assert evaluator.path_counts == {"dense": 1}
    np.testing.assert_array_equal(dense, evaluator.accuracy(kernels={0: batch}, changed={0: mask}))
    assert evaluator.path_counts == {"dense": 2}  # 60 % changed: above the crossover, the dense GEMM ran
    sparse = rng.random(network.kernels[0].shape) < 0.05
    few = np.stack([shuffle_selected([network.kernels[0]], [sparse], rng)[0] for _ in range(3)])
    evaluator.accuracy(kernels={0: few}, changed={0: sparse})
    assert evaluator.path_counts == {"dense": 2, "delta": 1}  # 5 %: the delta path ran
    evaluator.accuracy(kernels={0: few}, changed={0: sparse}, delta_max_fraction=0)
    evaluator.accuracy(biases={1: np.zeros((3, network.biases[1].size), np.float32)})
    assert evaluator.path_counts == {"dense": 3, "delta": 1, "bias": 1}
