"""The compiled training loop: masks held at exactly 0, starting points, optimizers, Keras' split."""

import numpy as np
import pytest

from useless_params import data, training
from useless_params.errors import InputError
from useless_params.optimizers import OPTIMIZERS
from useless_params.model import Architecture, Network
from workflow_helpers import TRAINING_DEFAULTS

CFG = dict(TRAINING_DEFAULTS, optimizer="adagrad", learning_rate=0.01, epsilon=1e-8, initial_accumulator_value=0.0,
           epochs=3, batch_size=32, validation_split=0.1, shuffle=True)
NET = Architecture.mlp((784, 16, 12, 10), "sigmoid")


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
    cfg = dict(CFG, optimizer=optimizer, learning_rate=0.05 if optimizer == "sgd" else 0.01,
               momentum=0.9 if optimizer == "momentum" else None)
    kernels, biases, history, _ = training.train(*small, NET, cfg, seed=3, masks=masks)
    for kernel, mask in zip(kernels, masks):
        assert kernel.shape[0] == 4  # epochs 0..3
        assert (kernel[:, ~mask] == 0).all()  # every stored epoch
        assert not np.signbit(kernel[:, ~mask]).any()  # +0.0, not -0.0
        assert (kernel[-1][mask] != kernel[0][mask]).mean() > 0.5  # the kept weights do train
    assert history["loss"][-1] < history["loss"][0], optimizer


def test_training_continues_from_a_given_start(small):
    kernels, biases, _, _ = training.train(*small, NET, dict(CFG, epochs=1), seed=3)
    start = Network.mlp([k[-1] for k in kernels], [b[-1] for b in biases], "sigmoid")
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
    gaussian = Architecture.mlp(NET.layer_sizes, "relu", "glorot_normal")
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
    initial = Network.mlp([k[0] for k in kernels], [b[0] for b in biases], "sigmoid")
    trained = Network.mlp([k[-1] for k in kernels], [b[-1] for b in biases], "sigmoid")
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


def test_momentum_inv_schedule_and_weight_decay_follow_caffe_and_hold_masked_weights_at_zero():
    """Three updates of a kernel (one weight masked) and a bias by the momentum optimizer with Caffe's
    inv schedule and L2 weight decay, against Caffe's rules written out in numpy."""
    import tensorflow as tf

    from useless_params.optimizers import optimizer
    from useless_params.training import apply_masked_updates, step_settings

    settings = {"epsilon": 1e-8, "momentum": 0.9, "weight_decay": 0.05, "learning_rate_schedule": "inv",
                "learning_rate_gamma": 0.1, "learning_rate_power": 0.75}
    opt = optimizer("momentum")
    kernel0 = np.array([[0.5, -1.0], [2.0, 0.0]], np.float32)
    mask = np.array([[1, 1], [0, 1]], np.float32)
    kernel0 = np.where(mask != 0, kernel0, 0).astype(np.float32)
    bias0 = np.array([0.25, -0.5], np.float32)
    params = [tf.Variable(kernel0), tf.Variable(bias0)]
    slots = [[tf.Variable(tf.zeros_like(p))] for p in params]
    step, base = tf.Variable(0, dtype=tf.int64), tf.Variable(0.01)
    grads = [np.array([[1.0, 2.0], [3.0, -1.0]], np.float32), np.array([0.5, -0.25], np.float32)]
    expected = [kernel0.astype(np.float64), bias0.astype(np.float64)]
    velocity = [np.zeros_like(e) for e in expected]
    for iteration in range(3):
        apply_masked_updates(opt, params, [tf.constant(g) for g in grads], [tf.constant(mask)], slots, step,
                             step_settings(tf, settings, base, step))
        rate = 0.01 * (1 + 0.1 * iteration) ** -0.75  # Caffe's inv at iteration t
        for j in range(2):
            g = (grads[j] + 0.05 * expected[j]) * (mask if j == 0 else 1)
            velocity[j] = 0.9 * velocity[j] - rate * g
            expected[j] = expected[j] + velocity[j]
    for variable, want in zip(params, expected):
        np.testing.assert_allclose(variable.numpy(), want, rtol=1e-5)
    assert params[0].numpy()[1, 0] == 0 and not np.signbit(params[0].numpy()[1, 0])  # masked: exactly +0


def test_the_momentum_optimizer_is_keras_sgd_with_momentum():
    import keras
    import tensorflow as tf

    from useless_params.optimizers import optimizer
    from useless_params.training import apply_masked_updates, step_settings

    start, grad = np.array([[1.0, -2.0]], np.float32), np.array([[0.3, 0.7]], np.float32)
    ours, bias = tf.Variable(start), tf.Variable(np.zeros(2, np.float32))
    slots, step = [[tf.Variable(tf.zeros_like(ours))], [tf.Variable(tf.zeros(2))]], tf.Variable(0, dtype=tf.int64)
    theirs = keras.Variable(start)
    sgd = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    settings = {"epsilon": 1e-8, "momentum": 0.9}
    for _ in range(4):
        apply_masked_updates(optimizer("momentum"), [ours, bias], [tf.constant(grad), tf.zeros(2)],
                             [tf.ones((1, 2))], slots, step, step_settings(tf, settings, tf.constant(0.05), step))
        sgd.apply_gradients([(tf.constant(grad), theirs)])
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-6)


# A small LeNet-like net: conv (same padding), pool, conv (stride 2), flatten, dense.
CONV_LAYERS = [{"type": "conv2d", "filters": 4, "kernel_size": 5, "padding": "same", "activation": "relu"},
               {"type": "max_pool", "size": 2},
               {"type": "conv2d", "filters": 6, "kernel_size": 3, "stride": 2},
               {"type": "flatten"}, {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 10}]
CONV_NET = Architecture.from_config({"layers": CONV_LAYERS, "initializer": "caffe_xavier"}, (28, 28), 10)


def test_a_conv_network_trains_with_masked_4d_kernels_held_at_exactly_zero(small):
    """The compiled loop on conv and pool layers: masks on 4-D kernels hold +0 at every epoch, the
    kept weights train, and the numpy forward pass (the test accuracy) agrees with TensorFlow's."""
    assert CONV_NET.kernel_shapes() == [(5, 5, 1, 4), (3, 3, 4, 6), (216, 16), (16, 10)]
    rng = np.random.default_rng(1)
    masks = [rng.random(shape) < 0.5 for shape in CONV_NET.kernel_shapes()]
    cfg = dict(CFG, optimizer="momentum", momentum=0.9, learning_rate=0.05, weight_decay=5e-4, epochs=3)
    trainer = training.CompiledTrainer(*small, CONV_NET, {key: cfg[key] for key in training.TRAINER_KEYS})
    run = trainer.run(seed=3, epochs=3, learning_rate=0.05, masks=masks)
    for kernel, mask in zip(run.kernels, masks):
        assert kernel.shape[1:] == mask.shape
        assert (kernel[:, ~mask] == 0).all() and not np.signbit(kernel[:, ~mask]).any()
        assert (kernel[-1][mask] != kernel[0][mask]).mean() > 0.5
    limit = np.sqrt(3 / 25)  # Caffe's xavier: sqrt(3 / fan_in), fan_in = 5 x 5 x 1
    assert 0.9 * limit < np.abs(run.kernels[0][0]).max() <= limit
    assert run.history["loss"][-1] < run.history["loss"][0] and run.history["test_accuracy"][-1] > 0.5
    _, tf_accuracy = trainer.evaluate(trainer.tf.constant(small[2]), trainer.tf.constant(small[3], trainer.tf.int64))
    assert run.history["test_accuracy"][-1] == pytest.approx(float(tf_accuracy), abs=1 / len(small[3]))


def test_a_conv_network_is_retrained_one_network_at_a_time_on_one_batch_order(small):
    from useless_params.pruning.masks import Mask
    from useless_params.pruning.retraining import make_retrainer

    settings = {key: dict(CFG, epochs=1)[key] for key in training.TRAINER_KEYS}
    start = CONV_NET.initial_network(np.random.default_rng(0))
    masks = [Mask(tuple(np.random.default_rng(s).random(shape) < 0.5 for shape in CONV_NET.kernel_shapes()))
             for s in (1, 2)]
    retrain = make_retrainer(*small, CONV_NET, settings)
    retrained = retrain([start, start], masks, 1, 0.01, 7)
    alone = training.CompiledTrainer(*small, CONV_NET, settings).run(7, 1, 0.01, start=start,
                                                                     masks=list(masks[1].layers))
    for network, mask in zip(retrained, masks):
        assert network.architecture == CONV_NET
        assert all((k[~m] == 0).all() for k, m in zip(network.kernels, mask.layers))
    assert all(np.array_equal(a, b[-1]) for a, b in zip(retrained[1].kernels, alone.kernels))
