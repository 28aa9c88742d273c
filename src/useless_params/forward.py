"""The forward pass in numpy: the bottom layer that training and evaluation share.

Hidden layers use a registered activation; the output layer's softmax is skipped
because it cannot change the arg-max, so predictions and accuracy need none. An MLP's
pass (``forward_pass``) keeps every layer's input and product, which the evaluator's delta
path reuses; any other network runs its layers' own steps (``layers.LayerStack.forward``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import (  # noqa: F401 (ACTIVATIONS, activation, ...: part of this module's interface)
    ACTIVATIONS, Activation, activate_inplace, activation, activation_function)
from .model import Network

PREDICTION_BLOCK = 256  # rows per block of a non-MLP's forward pass


def active_features(x: np.ndarray) -> np.ndarray:
    """Indices of the input features that are nonzero in some row of ``x``.

    A feature that is zero in every row (MNIST's border pixels) multiplies its kernel
    row by 0, so dropping both is exact and saves a quarter of the first layer's work.
    """
    return np.flatnonzero(np.any(x != 0, axis=0))


@dataclass
class ForwardPass:
    """Every layer's input and pre-activation product of one network on one input set.

    ``inputs[l]`` enters layer l (layer 0 sees only the ``active`` features), and
    ``products[l] = inputs[l] @ kernels[l]`` without the bias; the logits are
    ``products[-1] + biases[-1]``.
    """

    active: np.ndarray
    inputs: list[np.ndarray]
    products: list[np.ndarray]


def forward_pass(network: Network, x: np.ndarray) -> ForwardPass:
    """An MLP's pass, every layer's input and product kept (inputs of the all-zero features dropped)."""
    if not network.architecture.is_mlp:
        raise ValueError(f"forward_pass keeps dense products: not for {network.architecture.stack.describe()}")
    activate = activation_function(network.activation)
    x = np.asarray(x, dtype=np.float32)
    active = active_features(x)
    inputs = [np.ascontiguousarray(x[:, active])]
    products = []
    for layer in range(network.n_layers):
        kernel = np.asarray(network.kernels[layer], np.float32)
        product = inputs[layer] @ (kernel[active, :] if layer == 0 else kernel)
        products.append(product)
        if layer < network.n_layers - 1:
            inputs.append(activate(product + np.asarray(network.biases[layer], np.float32)))
    return ForwardPass(active, inputs, products)


def predictions(network: Network, x: np.ndarray) -> np.ndarray:
    """Predicted class of every row of ``x`` (arg-max of the logits)."""
    if not network.architecture.is_mlp:
        # blocks of rows: a conv layer's unfolded windows of the whole test set would take gigabytes
        stack, params = network.architecture.stack, network.parameters()
        return np.concatenate([np.argmax(stack.forward(x[lo:lo + PREDICTION_BLOCK], params), axis=1)
                               for lo in range(0, len(x), PREDICTION_BLOCK)])
    result = forward_pass(network, x)
    return np.argmax(result.products[-1] + np.asarray(network.biases[-1], np.float32), axis=1)


def accuracy(network: Network, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``x`` whose predicted class equals the label ``y``."""
    return float(np.mean(predictions(network, x) == np.asarray(y)))
