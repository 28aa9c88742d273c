"""Fast test-set accuracy of an MLP under parameter disturbances, in numpy.

The article re-ran Keras ``set_weights`` + ``evaluate`` for every disturbance (about
0.46 s each here). This evaluator instead

* caches what a disturbance cannot change: the activations entering every layer and
  every layer's pre-activation product ``A @ W``, so a disturbance starting at layer l
  begins from the cached input of layer l, and a bias-only disturbance of layer l
  reuses its cached product;
* batches the repeats of one job: the R disturbed kernels of the first disturbed layer
  become one wide GEMM ``A @ [W_1 | ... | W_R]``;
* drops input features that are zero in every test image (MNIST's border pixels): their
  kernel rows cannot change any output, so this is exact (``forward.forward_pass``);
* skips the softmax, which cannot change the arg-max;
* computes a kernel disturbance that changes few entries as a correction of the cached
  product (``changed`` in ``accuracy``): for output unit j with changed rows S_j,
  ``Z'[:, j] = Z[:, j] + A[:, S_j] @ (W'[S_j, j] - W[S_j, j])``, for all repeats at once.
  The work is proportional to the changed entries instead of the whole kernel; the
  result equals the dense product up to float32 summation order (an arg-max tie can
  flip, a handful of images in a whole grid). The delta path writes unit-major arrays
  (n_out, N, R), so no strided writes or transposes are needed while the layers after it
  are undisturbed.
"""

from __future__ import annotations

import numpy as np

from .forward import activate_inplace, activation_function, forward_pass
from .store import Network

# The delta path is used while the changed entries are at most this fraction of the
# kernel's (active) entries; above it the dense GEMM wins (benchmarks/run_benchmark.py
# measures both: they broke even at about 0.21 on the 2-core development machine).
DELTA_MAX_FRACTION = 0.2


class Evaluator:
    """Accuracy of ``network`` on (x, y), undisturbed or under batches of disturbed parameters."""

    def __init__(self, network: Network, x: np.ndarray, y: np.ndarray, batch_memory_mb: float = 512):
        activation_function(network.activation)  # an unknown name fails here, not mid-job
        self.network = network
        self.y = np.asarray(y)
        self.n_samples = len(self.y)
        self.kernels = [np.asarray(k, dtype=np.float32) for k in network.kernels]
        self.biases = [np.asarray(b, dtype=np.float32) for b in network.biases]
        self.batch_memory_mb = batch_memory_mb
        cached = forward_pass(Network(self.kernels, self.biases, network.activation), x)
        self.active_inputs = cached.active
        # inputs[l]: activation entering layer l; products[l]: inputs[l] @ kernels[l] (no bias).
        self.inputs: list[np.ndarray] = cached.inputs
        self.products: list[np.ndarray] = cached.products
        logits = self.products[-1] + self.biases[-1]
        self.predictions = np.argmax(logits, axis=1)
        self._inputs_t: dict[int, np.ndarray] = {}
        self.accuracy_undisturbed = float(np.mean(self.predictions == self.y))

    def _kernel_rows(self, layer: int, kernel: np.ndarray) -> np.ndarray:
        """Layer 0 sees only the active input features."""
        return kernel[..., self.active_inputs, :] if layer == 0 else kernel

    def accuracy(
        self,
        kernels: dict[int, np.ndarray] | None = None,
        biases: dict[int, np.ndarray] | None = None,
        changed: dict[int, np.ndarray] | None = None,
        delta_max_fraction: float = DELTA_MAX_FRACTION,
    ) -> np.ndarray:
        """Accuracy for R disturbed networks at once.

        ``kernels[l]`` is (R, n_in, n_out) and ``biases[l]`` is (R, n_out): the R replacements
        of layer l's parameters; layers not named keep their trained values. ``changed[l]``
        (n_in, n_out), optional, marks the only kernel entries that may differ from the
        trained kernel in any repeat: the first disturbed layer then takes the delta path
        when they are at most ``delta_max_fraction`` of its entries (0: never). Returns (R,).
        """
        kernels, biases = kernels or {}, biases or {}
        disturbed = sorted(set(kernels) | set(biases))
        if not disturbed:
            return np.array([self.accuracy_undisturbed])
        counts = {len(a) for a in list(kernels.values()) + list(biases.values())}
        if len(counts) != 1:
            raise ValueError(f"disturbed arrays disagree on the number of repeats: {sorted(counts)}")
        n_repeats = counts.pop()
        delta = None  # the changed entries of the first disturbed layer, if the delta path pays
        if changed and disturbed[0] in changed and disturbed[0] in kernels:
            rows = self._kernel_rows(disturbed[0], np.asarray(changed[disturbed[0]], bool))
            delta = rows if rows.mean() <= delta_max_fraction else None
        widest = max(k.shape[1] for k in self.kernels)
        # Three live (N, R, width) float32 arrays per chunk of repeats.
        per_repeat = 3 * self.n_samples * widest * 4 / 2**20
        chunk = max(1, int(self.batch_memory_mb // per_repeat))
        out = np.empty(n_repeats)
        for start in range(0, n_repeats, chunk):
            part = slice(start, min(start + chunk, n_repeats))
            out[part] = self._accuracy_chunk(
                disturbed[0], {l: k[part] for l, k in kernels.items()}, {l: b[part] for l, b in biases.items()}, delta
            )
        return out

    def _input_columns(self, layer: int) -> np.ndarray:
        """inputs[layer] transposed (n_in, N), cached: the delta path gathers rows of it."""
        if layer not in self._inputs_t:
            self._inputs_t[layer] = np.ascontiguousarray(self.inputs[layer].T)
        return self._inputs_t[layer]

    def _delta_product(self, layer: int, kernel: np.ndarray, changed: np.ndarray, bias) -> np.ndarray:
        """Unit-major (n_out, N, r) pre-activations (bias included) of the r disturbed kernels: the
        cached product plus the product of the changed entries only."""
        columns = self._input_columns(layer)
        trained = self._kernel_rows(layer, self.kernels[layer])
        kernel = self._kernel_rows(layer, np.asarray(kernel, dtype=np.float32))
        n_out, r = trained.shape[1], kernel.shape[0]
        if bias is None:  # (n_out, N, 1): the cached product plus the trained bias, unit-major
            base = np.ascontiguousarray((self.products[layer] + self.biases[layer]).T)[:, :, None]
        else:  # (n_out, N, r)
            base = np.ascontiguousarray(self.products[layer].T)[:, :, None] + np.asarray(bias, np.float32).T[:, None, :]
        z = np.empty((n_out, self.n_samples, r), dtype=np.float32)
        for unit in range(n_out):
            rows = np.flatnonzero(changed[:, unit])
            if rows.size:
                change = kernel[:, rows, unit].T - trained[rows, unit, None]  # (s, r)
                np.matmul(columns[rows].T, change, out=z[unit])
                z[unit] += base[unit]
            else:
                z[unit] = base[unit]
        return z

    def _accuracy_chunk(self, first: int, kernels: dict, biases: dict, delta: np.ndarray | None) -> np.ndarray:
        r = len(next(iter({**kernels, **biases}.values())))
        if delta is not None:
            return self._accuracy_chunk_delta(first, kernels, biases, r, delta)
        return self._accuracy_chunk_dense(first, kernels, biases, r, None)

    def _accuracy_chunk_delta(self, first: int, kernels: dict, biases: dict, r: int, changed) -> np.ndarray:
        """The first disturbed layer by the delta path, then unit-major while nothing else is
        disturbed (the dense path's layout takes over if a later layer is)."""
        n_layers = len(self.kernels)
        z = self._delta_product(first, kernels[first], changed, biases.get(first))
        for layer in range(first, n_layers):
            if layer > first:
                if layer in kernels:
                    h = np.ascontiguousarray(z.transpose(1, 2, 0))  # (N, r, width)
                    return self._accuracy_chunk_dense(layer, kernels, biases, r, h)
                n_out = self.kernels[layer].shape[1]
                z = (self.kernels[layer].T @ z.reshape(z.shape[0], -1)).reshape(n_out, self.n_samples, r)
                bias = biases.get(layer)
                if bias is None:
                    z += self.biases[layer][:, None, None]
                else:
                    z += np.asarray(bias, np.float32).T[:, None, :]
            if layer < n_layers - 1:
                z = activate_inplace(z, self.network.activation)
            else:
                return np.mean(np.argmax(z, axis=0) == self.y[:, None], axis=0)
        raise AssertionError("unreachable")

    def _accuracy_chunk_dense(self, first: int, kernels: dict, biases: dict, r: int, h) -> np.ndarray:
        """Layers ``first``.. in the (N, r, width) layout; ``h`` enters layer ``first`` (None:
        the cached undisturbed input)."""
        n, n_layers = self.n_samples, len(self.kernels)
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
                h = activate_inplace(z, self.network.activation)
            else:
                return np.mean(np.argmax(z, axis=2) == self.y[:, None], axis=0)
        raise AssertionError("unreachable")
