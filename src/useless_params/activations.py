"""Hidden-layer activations by config name: numpy's in-place version and the TensorFlow op.

The bottom of the package beside ``model``: the layers, the forward pass, the evaluator and
the trainers all look an activation up here. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .registry import lookup, registry


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # sigmoid(z) = 1 / (1 + exp(-z)), in place: numpy's float32 exp is 1.7x faster than its
    # tanh (the former tanh(z / 2) form) on the development machine, and the sigmoid is about
    # a third of an evaluation job.
    np.negative(z, out=z)
    with np.errstate(over="ignore"):  # exp(-z) = inf below z = -88 gives exactly 0
        np.exp(z, out=z)
    z += 1
    return np.reciprocal(z, out=z)


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=z)


def _linear(z: np.ndarray) -> np.ndarray:
    return z


@dataclass(frozen=True)
class Activation:
    """A hidden-layer activation: numpy's in-place version (evaluation) and the TensorFlow op
    the training loop uses (its path below the ``tensorflow`` module, resolved there)."""

    name: str
    numpy: Callable[[np.ndarray], np.ndarray]
    tensorflow: str


# Hidden-layer activations by config name (network.activation).
ACTIVATIONS: dict[str, Activation] = registry(
    Activation("sigmoid", _sigmoid, "math.sigmoid"),
    Activation("relu", _relu, "nn.relu"),
    Activation("tanh", _tanh, "math.tanh"),
    Activation("linear", _linear, "identity"),
)


def activation(name: str) -> Activation:
    """The activation registered as ``name``; an unknown name lists the known ones."""
    return lookup(ACTIVATIONS, name, key="network.activation")


def activation_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The in-place numpy activation registered as ``name``."""
    return activation(name).numpy


def activate_inplace(z: np.ndarray, name: str) -> np.ndarray:
    """Apply a hidden-layer activation in place (no temporaries on the large arrays)."""
    return activation_function(name)(z)


def tensorflow_op(tf, path: str):
    """``tf.<path>`` for a dotted path such as ``nn.relu`` (``Activation.tensorflow``); ``tf`` is the
    module, passed in so that this module never imports TensorFlow."""
    op = tf
    for part in path.split("."):
        op = getattr(op, part)
    return op


def tensorflow_activation(tf, name: str):
    """The TensorFlow op of the activation registered as ``name``."""
    return tensorflow_op(tf, activation(name).tensorflow)

