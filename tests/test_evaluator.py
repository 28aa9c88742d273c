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
        Architecture.mlp((784, 100, 100, 10), "sigmoid"), cfg, seed=5, threads=2)
    network = Network.mlp([k[-1] for k in kernels], [b[-1] for b in biases], "sigmoid")
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
        disturbed = Network(kernels, biases, network.architecture)
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
        Evaluator(Network.mlp(network.kernels, network.biases, "swish"), x, y)


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
    assert_agrees(Network(kernels, network.biases, network.architecture), x, y, delta[1])


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


def test_the_delta_evaluator_refuses_a_conv_network_and_evaluator_for_picks_the_stack_evaluator():
    from useless_params.errors import InputError
    from useless_params.evaluator import StackEvaluator, evaluator_for

    conv = Architecture.from_config({"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3}, {"type": "flatten"},
                                                {"type": "dense", "units": 10}]}, (8, 8), 10)
    network = conv.initial_network(np.random.default_rng(0))
    x, y = np.random.default_rng(1).random((5, 64)).astype(np.float32), np.zeros(5, int)
    with pytest.raises(InputError, match="Evaluator .the delta-product evaluator. takes multilayer perceptrons only, "
                                         "not conv 2@3x3, flatten, dense 10: use evaluator_for"):
        Evaluator(network, x, y)
    assert isinstance(evaluator_for(network, x, y), StackEvaluator)
    assert isinstance(evaluator_for(Network.mlp(network.kernels[1:], network.biases[1:], "relu"), x[:, :72], y),
                      Evaluator)


LENET5 = [{"type": "conv2d", "filters": 20, "kernel_size": 5}, {"type": "max_pool", "size": 2},
          {"type": "conv2d", "filters": 50, "kernel_size": 5}, {"type": "max_pool", "size": 2},
          {"type": "flatten"}, {"type": "dense", "units": 500, "activation": "relu"}, {"type": "dense", "units": 10}]


@pytest.fixture(scope="module")
def trained_lenet5(mnist):
    """LeNet-5 (Caffe's) after one epoch of Caffe's solver on 6,000 images, and the full test set."""
    from useless_params import training

    cfg = dict(TRAINING_DEFAULTS, optimizer="momentum", momentum=0.9, learning_rate=0.01, weight_decay=5e-4,
               epochs=1, batch_size=64, validation_split=0.0, shuffle=True)
    architecture = Architecture.from_config({"layers": LENET5, "initializer": "caffe_xavier"}, (28, 28), 10)
    kernels, biases, _, _ = training.train(data.model_inputs(mnist["x_train"], 6000),
                                           data.labels(mnist["y_train"], 6000), data.model_inputs(mnist["x_test"], 10),
                                           data.labels(mnist["y_test"], 10), architecture, cfg, seed=5, threads=2)
    network = Network([k[-1] for k in kernels], [b[-1] for b in biases], architecture)
    return network, data.model_inputs(mnist["x_test"]), data.labels(mnist["y_test"])


@pytest.mark.slow
def test_lenet5_matches_keras_undisturbed_and_disturbed_in_every_layer(trained_lenet5):
    """The conv path (inputs cached below the disturbed layer) and the dense tail's delta path agree
    with Keras' predictions on LeNet-5, for kernels and biases of conv and dense layers."""
    from useless_params.evaluator import evaluator_for

    network, x, y = trained_lenet5
    evaluator = evaluator_for(network, x, y)
    assert evaluator.tail == 2 and evaluator.accuracy_undisturbed > 0.9
    predicted = keras_predictions(network, x)
    assert np.count_nonzero(predicted == evaluator.predictions) >= 9995
    assert evaluator.accuracy_undisturbed == pytest.approx(np.mean(predicted == y), abs=5e-4)
    for layers, kind, path in [([0], "kernel", "layers"), ([1], "bias", "layers"), ([2], "kernel", "delta"),
                               ([3], "bias", "bias"), ([0, 1, 2, 3], "kernel", "layers")]:
        base = network.kernels if kind == "kernel" else network.biases
        rng = generator(12, "lenet5-evaluator-test", kind, *layers)
        masks = [rng.random(base[l].shape) < (0.1 if path == "delta" else 0.3) for l in layers]
        candidates = [dict(zip(layers, reset_selected([base[l] for l in layers], masks, 1.0, rng) if repeat
                               else shuffle_selected([base[l] for l in layers], masks, rng))) for repeat in range(2)]
        batch = {l: np.stack([c[l] for c in candidates]) for l in layers}
        before = evaluator.path_counts[path]
        accuracies = (evaluator.accuracy(kernels=batch, changed=dict(zip(layers, masks))) if kind == "kernel"
                      else evaluator.accuracy(biases=batch))
        assert evaluator.path_counts[path] > before, (layers, kind, path)  # the path the case is about ran
        for repeat, replaced in enumerate(candidates):
            kernels = [replaced.get(l, k) if kind == "kernel" else k for l, k in enumerate(network.kernels)]
            biases = [replaced.get(l, b) if kind == "bias" else b for l, b in enumerate(network.biases)]
            disturbed = Network(kernels, biases, network.architecture)
            assert accuracies[repeat] == pytest.approx(np.mean(keras_predictions(disturbed, x) == y), abs=5e-4), \
                (layers, kind)
