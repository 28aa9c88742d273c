"""Networks trained in lockstep: each one as the compiled loop trains it alone, masks exactly 0, same bytes."""

import numpy as np
import pytest

from useless_params import data, training
from useless_params.lockstep import LockstepTrainer
from useless_params.model import Architecture
from workflow_helpers import TRAINING_DEFAULTS

SETTINGS = dict(TRAINING_DEFAULTS, optimizer="adagrad", epsilon=1e-8, initial_accumulator_value=0.0, batch_size=32,
                validation_split=0.1, shuffle=True)
CASES = {  # the article's kind of network, and LeNet-300-100's (ReLU, Adam)
    "sigmoid-adagrad": (Architecture.mlp((784, 16, 12, 10), "sigmoid"), dict(SETTINGS), 0.01),
    "relu-adam": (Architecture.mlp((784, 24, 10), "relu", "glorot_normal"), dict(SETTINGS, optimizer="adam"), 0.002),
    # Caffe's LeNet-5 solver: momentum 0.9, the inv schedule, L2 weight decay
    "relu-caffe-sgd": (Architecture.mlp((784, 20, 10), "relu"),
                       dict(SETTINGS, optimizer="momentum", momentum=0.9, weight_decay=5e-4, learning_rate_schedule="inv",
                            learning_rate_gamma=1e-3, learning_rate_power=0.75), 0.01),
}


@pytest.fixture(scope="module")
def small(mnist):
    return (data.model_inputs(mnist["x_train"], 800), data.labels(mnist["y_train"], 800),
            data.model_inputs(mnist["x_test"], 200), data.labels(mnist["y_test"], 200))


def _starts_and_masks(architecture, k):
    rng = np.random.default_rng(11)
    starts = [architecture.initial_network(rng) for _ in range(k)]
    # One network unmasked, the others at different sparsities: lockstep must not mix them up.
    masks = [None] + [[rng.random(shape) < keep for shape in architecture.kernel_shapes()]
                      for keep in np.linspace(0.6, 0.1, k - 1)]
    return starts, masks


@pytest.fixture(scope="module", params=list(CASES))
def trained(request, small):
    architecture, settings, lr = CASES[request.param]
    starts, masks = _starts_and_masks(architecture, 3)
    lockstep = LockstepTrainer(*small, architecture, settings, n_networks=3)
    together = lockstep.run(7, 2, lr, starts=starts, masks=masks)
    again = lockstep.run(7, 2, lr, starts=starts, masks=masks)
    final_only = lockstep.run(7, 2, lr, starts=starts, masks=masks, every_epoch=False)
    alone_trainer = training.CompiledTrainer(*small, architecture, settings)
    alone = [alone_trainer.run(7, 2, lr, start=start, masks=mask) for start, mask in zip(starts, masks)]
    return together, again, alone, masks, final_only


def test_each_network_trains_as_it_would_alone(trained):
    together, _, alone, _, _ = trained
    for ours, reference in zip(together, alone):
        for a, b in zip(ours.kernels + ours.biases, reference.kernels + reference.biases):
            assert a.shape == b.shape
            assert a[0].tobytes() == b[0].tobytes()  # the same start
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)  # float summation order only
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(ours.history[key], reference.history[key], rtol=1e-4, atol=2e-4)
        assert ours.summary["networks_in_lockstep"] == 3


def test_masked_weights_stay_exactly_zero(trained):
    together, _, alone, masks, _ = trained
    for run, reference, mask in zip(together[1:], alone[1:], masks[1:]):
        for layer, (kernel, keep) in enumerate(zip(run.kernels, mask)):
            assert (kernel[:, ~keep] == 0).all() and not np.signbit(kernel[:, ~keep]).any()
            moved = kernel[-1] != kernel[0]
            # Kept weights train (those of pixels blank in every image cannot), exactly where they do alone.
            assert (moved == (reference.kernels[layer][-1] != reference.kernels[layer][0])).all()
            assert moved[keep].mean() > (0.25 if layer == 0 else 0.5)


def test_same_seed_same_bytes(trained):
    together, again, _, _, _ = trained
    for a, b in zip(together, again):
        for x, y in zip(a.kernels + a.biases, b.kernels + b.biases):
            assert x.tobytes() == y.tobytes()
        assert a.history["loss"].tobytes() == b.history["loss"].tobytes()


def test_final_weights_only_are_the_same_bytes(trained):
    """The retrainer's mode: only the start and the final weights, no per-epoch test accuracy."""
    together, _, _, _, final_only = trained
    for full, short in zip(together, final_only):
        for x, y in zip(full.kernels + full.biases, short.kernels + short.biases):
            assert len(y) == 2 and y[0].tobytes() == x[0].tobytes() and y[-1].tobytes() == x[-1].tobytes()
        assert "test_accuracy" not in short.history and len(full.history["test_accuracy"]) == 3
        assert short.history["loss"].tobytes() == full.history["loss"].tobytes()


def test_starts_and_masks_must_match_the_number_of_networks(small):
    architecture, settings, _ = CASES["sigmoid-adagrad"]
    trainer = LockstepTrainer(*small, architecture, settings, n_networks=2)
    with pytest.raises(ValueError, match="for 2 networks got 1 starts"):
        trainer.run(1, 1, 0.01, starts=[architecture.initial_network(np.random.default_rng(0))])
