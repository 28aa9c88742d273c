"""The dense evaluator as it was before the delta path and sample blocks (commit 821ae54^),
frozen here so that the benchmark measures the new evaluator against it in the same run.

Not used by the workflow. It keeps its own tanh-form sigmoid, the one it shipped with.
"""

from __future__ import annotations

import numpy as np

from useless_params.forward import ACTIVATIONS, activation_function, forward_pass
from useless_params.store import Network


def _sigmoid_tanh(z: np.ndarray) -> np.ndarray:
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def _previous_activation(name: str):
    return _sigmoid_tanh if name == "sigmoid" else ACTIVATIONS[name]


class PreviousEvaluator:
    """Accuracy of ``network`` on (x, y), undisturbed or under batches of disturbed parameters."""

    def __init__(self, network: Network, x: np.ndarray, y: np.ndarray, batch_memory_mb: float = 512):
        activation_function(network.activation)  # an unknown name fails here, not mid-job
        self.network = network
        self.y = np.asarray(y)
        self.n_samples = len(self.y)
        self.kernels = [np.asarray(k, dtype=np.float32) for k in network.kernels]
        self.biases = [np.asarray(b, dtype=np.float32) for b in network.biases]
        self.batch_memory_mb = batch_memory_mb
        cached = forward_pass(Network(self.kernels, self.biases, network.architecture), x)
        self.active_inputs = cached.active
        # inputs[l]: activation entering layer l; products[l]: inputs[l] @ kernels[l] (no bias).
        self.inputs: list[np.ndarray] = cached.inputs
        self.products: list[np.ndarray] = cached.products
        logits = self.products[-1] + self.biases[-1]
        self.predictions = np.argmax(logits, axis=1)
        self.accuracy_undisturbed = float(np.mean(self.predictions == self.y))

    def _kernel_rows(self, layer: int, kernel: np.ndarray) -> np.ndarray:
        """Layer 0 sees only the active input features."""
        return kernel[..., self.active_inputs, :] if layer == 0 else kernel

    def accuracy(
        self,
        kernels: dict[int, np.ndarray] | None = None,
        biases: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Accuracy for R disturbed networks at once.

        ``kernels[l]`` is (R, n_in, n_out) and ``biases[l]`` is (R, n_out): the R replacements
        of layer l's parameters; layers not named keep their trained values. Returns (R,).
        """
        kernels, biases = kernels or {}, biases or {}
        disturbed = sorted(set(kernels) | set(biases))
        if not disturbed:
            return np.array([self.accuracy_undisturbed])
        counts = {len(a) for a in list(kernels.values()) + list(biases.values())}
        if len(counts) != 1:
            raise ValueError(f"disturbed arrays disagree on the number of repeats: {sorted(counts)}")
        n_repeats = counts.pop()
        widest = max(k.shape[1] for k in self.kernels)
        # Three live (N, R, width) float32 arrays per chunk of repeats.
        per_repeat = 3 * self.n_samples * widest * 4 / 2**20
        chunk = max(1, int(self.batch_memory_mb // per_repeat))
        out = np.empty(n_repeats)
        for start in range(0, n_repeats, chunk):
            part = slice(start, min(start + chunk, n_repeats))
            out[part] = self._accuracy_chunk(
                disturbed[0], {l: k[part] for l, k in kernels.items()}, {l: b[part] for l, b in biases.items()}
            )
        return out

    def _accuracy_chunk(self, first: int, kernels: dict, biases: dict) -> np.ndarray:
        n, n_layers = self.n_samples, len(self.kernels)
        r = len(next(iter({**kernels, **biases}.values())))
        h = None  # (N, r, width): activations of the r disturbed networks
        for layer in range(first, n_layers):
            n_out = self.kernels[layer].shape[1]
            kernel = kernels.get(layer)
            if h is None:
                if kernel is None:
                    z = np.empty((n, r, n_out), dtype=np.float32)
                    z[...] = self.products[layer][:, None, :]
                else:
                    rows = self._kernel_rows(layer, np.asarray(kernel, dtype=np.float32))
                    wide = np.ascontiguousarray(rows.transpose(1, 0, 2)).reshape(rows.shape[1], r * n_out)
                    z = (self.inputs[layer] @ wide).reshape(n, r, n_out)
            elif kernel is None:
                z = (h.reshape(n * r, -1) @ self.kernels[layer]).reshape(n, r, n_out)
            else:
                per_repeat = np.ascontiguousarray(h.transpose(1, 0, 2)) @ np.asarray(kernel, np.float32)
                z = np.ascontiguousarray(per_repeat.transpose(1, 0, 2))
            bias = biases.get(layer)
            z += self.biases[layer] if bias is None else np.asarray(bias, np.float32)[None, :, :]
            if layer < n_layers - 1:
                h = _previous_activation(self.network.activation)(z)
            else:
                return np.mean(np.argmax(z, axis=2) == self.y[:, None], axis=0)
        raise AssertionError("unreachable")
