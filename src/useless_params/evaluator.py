"""Fast test-set accuracy of a network under parameter disturbances, in numpy.

``evaluator_for`` picks the evaluator of a network: ``Evaluator`` for an MLP (below), and
``StackEvaluator`` for a network with conv layers, which caches the input of every layer below
its dense tail and hands disturbances of the tail to an ``Evaluator`` of the tail.

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
  are undisturbed;
* runs the layers above the first disturbed product on cache-sized blocks of samples
  (``BLOCK_BYTES``), where a later disturbed kernel is a batched product per repeat.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .forward import PREDICTION_BLOCK, activate_inplace, activation_function, forward_pass
from .errors import InputError
from .layers import Dense, LayerStack
from .model import Architecture, Network

# The delta path is used while the changed entries are at most this fraction of the
# kernel's (active) entries; above it the dense GEMM wins (benchmarks/run_benchmark.py
# measures both: they broke even at about 0.21 on the 2-core development machine).
DELTA_MAX_FRACTION = 0.2

# The layers above the first disturbed product run on blocks of samples of about this many
# bytes per array: the activations, bias additions and small products are memory-bound, and
# a block that stays in the CPU caches made whole jobs 20-40 % faster than full-size arrays
# (benchmarks/run_benchmark.py, 2-core development machine).
BLOCK_BYTES = 2 * 2**20


def _disturbed_layers(kernels: dict, biases: dict) -> tuple[list[int], int]:
    """The disturbed layers in order and the number of repeats every disturbed array agrees on."""
    disturbed = sorted(set(kernels) | set(biases))
    counts = {len(a) for a in list(kernels.values()) + list(biases.values())}
    if len(counts) > 1:
        raise ValueError(f"disturbed arrays disagree on the number of repeats: {sorted(counts)}")
    return disturbed, counts.pop() if counts else 0


class Evaluator:
    """Accuracy of ``network`` on (x, y), undisturbed or under batches of disturbed parameters."""

    def __init__(self, network: Network, x: np.ndarray, y: np.ndarray, batch_memory_mb: float = 128):
        if not network.architecture.is_mlp:
            raise InputError(f"Evaluator (the delta-product evaluator) takes multilayer perceptrons only, "
                             f"not {network.architecture.stack.describe()}: use evaluator_for")
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
        self._transposed: dict[tuple[str, int], np.ndarray] = {}
        self.accuracy_undisturbed = float(np.mean(self.predictions == self.y))
        # Chunks of repeats per path of the first disturbed layer ("delta", "dense" or "bias"):
        # what the tests and the benchmark read to know which path ran, not only its result.
        self.path_counts: Counter[str] = Counter()

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
        disturbed, n_repeats = _disturbed_layers(kernels, biases)
        if not disturbed:
            return np.array([self.accuracy_undisturbed])
        delta = None  # the changed entries of the first disturbed layer, if the delta path pays
        if changed and disturbed[0] in changed and disturbed[0] in kernels:
            rows = self._kernel_rows(disturbed[0], np.asarray(changed[disturbed[0]], bool))
            delta = rows if rows.mean() <= delta_max_fraction else None
        widest = max(k.shape[1] for k in self.kernels)
        # One full-size (N, R, width) float32 array per chunk of repeats (the first disturbed
        # product); the layers above it work on small blocks of samples.
        per_repeat = self.n_samples * widest * 4 / 2**20
        chunk = max(1, int(self.batch_memory_mb // per_repeat))
        chunk = -(-n_repeats // -(-n_repeats // chunk))  # equal chunks: 34, 33, 33 rather than 33, 33, 33, 1
        out = np.empty(n_repeats)
        for start in range(0, n_repeats, chunk):
            part = slice(start, min(start + chunk, n_repeats))
            out[part] = self._accuracy_chunk(
                disturbed[0], {l: k[part] for l, k in kernels.items()}, {l: b[part] for l, b in biases.items()}, delta
            )
        return out

    def _transposed_cache(self, name: str, layer: int) -> np.ndarray:
        """``self.<name>[layer]`` transposed to (width, N) and contiguous, computed once: the delta
        path gathers rows of the inputs and takes unit-major rows of the products."""
        key = (name, layer)
        if key not in self._transposed:
            self._transposed[key] = np.ascontiguousarray(getattr(self, name)[layer].T)
        return self._transposed[key]

    def _delta_product(self, layer: int, kernel: np.ndarray, changed: np.ndarray, bias) -> np.ndarray:
        """Unit-major (n_out, N, r) pre-activations (bias included) of the r disturbed kernels: the
        cached product plus the product of the changed entries only."""
        columns = self._transposed_cache("inputs", layer)  # (n_in, N)
        trained = self._kernel_rows(layer, self.kernels[layer])
        kernel = self._kernel_rows(layer, np.asarray(kernel, dtype=np.float32))
        n_out, r = trained.shape[1], kernel.shape[0]
        base = self._transposed_cache("products", layer)  # (n_out, N)
        if bias is None:
            base = base + self.biases[layer][:, None]
        else:
            bias_t = np.ascontiguousarray(np.asarray(bias, np.float32).T)  # (n_out, r)
        z = np.empty((n_out, self.n_samples, r), dtype=np.float32)
        for unit in range(n_out):
            rows = np.flatnonzero(changed[:, unit])
            if rows.size:
                change = kernel[:, rows, unit].T - trained[rows, unit, None]  # (s, r)
                np.matmul(columns[rows].T, change, out=z[unit])
                z[unit] += base[unit, :, None]
            else:
                z[unit] = base[unit, :, None]
            if bias is not None:
                z[unit] += bias_t[unit]
        return z

    def _accuracy_chunk(self, first: int, kernels: dict, biases: dict, delta: np.ndarray | None) -> np.ndarray:
        """Accuracy of r disturbed networks: the first disturbed layer's pre-activations for all
        samples, then the layers above it block by block of samples (see ``BLOCK_BYTES``)."""
        r = len(next(iter({**kernels, **biases}.values())))
        kernel, bias = kernels.get(first), biases.get(first)
        n_out = self.kernels[first].shape[1]
        self.path_counts["delta" if delta is not None else "dense" if kernel is not None else "bias"] += 1
        if delta is not None:
            z, layout = self._delta_product(first, kernel, delta, bias), "unit"
        elif kernel is not None:
            rows = self._kernel_rows(first, np.asarray(kernel, dtype=np.float32))
            wide = np.ascontiguousarray(rows.transpose(1, 0, 2)).reshape(rows.shape[1], r * n_out)
            z, layout = (self.inputs[first] @ wide).reshape(self.n_samples, r, n_out), "sample"
            z += self.biases[first] if bias is None else np.asarray(bias, np.float32)[None, :, :]
        else:  # biases only: the cached product plus each repeat's biases, built block by block
            z, layout = None, "sample"
            bias = np.asarray(bias, np.float32)[None, :, :]
        width = max(k.shape[1] for k in self.kernels[first:])
        block = max(1, BLOCK_BYTES // (r * width * 4))
        correct = np.zeros(r, dtype=np.int64)
        for start in range(0, self.n_samples, block):
            part = slice(start, min(start + block, self.n_samples))
            if z is None:
                zb = self.products[first][part, None, :] + bias
            else:
                zb = z[:, part] if layout == "unit" else z[part]
            correct += self._correct_above(first, zb, layout, kernels, biases, self.y[part])
        return correct / self.n_samples

    def _correct_above(self, layer: int, z: np.ndarray, layout: str, kernels: dict, biases: dict,
                       y: np.ndarray) -> np.ndarray:
        """Correct predictions per repeat, from ``z``, layer ``layer``'s pre-activations (bias
        included) of a block of samples, in one of three layouts: "unit" (width, n, r), as the
        delta path writes it; "sample" (n, r, width), as the wide GEMM writes it; "repeat"
        (r, n, width), where every repeat has its own kernel (batched products). The layout only
        changes when a later kernel is disturbed; activations work in place."""
        n_layers = len(self.kernels)
        while layer < n_layers - 1:
            h = activate_inplace(z, self.network.activation)
            layer += 1
            kernel, bias = kernels.get(layer), biases.get(layer)
            if kernel is None:
                trained = self.kernels[layer]
                if layout == "unit":
                    z = (trained.T @ h.reshape(h.shape[0], -1)).reshape(trained.shape[1], *h.shape[1:])
                else:
                    z = (h.reshape(-1, h.shape[-1]) @ trained).reshape(*h.shape[:-1], trained.shape[1])
            else:
                if layout == "unit":
                    h = np.ascontiguousarray(h.transpose(2, 1, 0))
                elif layout == "sample":
                    h = h.transpose(1, 0, 2)  # each repeat's (n, width) matrix is BLAS-ready as a view
                z, layout = np.matmul(h, np.asarray(kernel, np.float32)), "repeat"
            if bias is None:
                z += self.biases[layer][:, None, None] if layout == "unit" else self.biases[layer]
            else:
                bias = np.asarray(bias, np.float32)
                z += {"unit": bias.T[:, None, :], "sample": bias[None, :, :], "repeat": bias[:, None, :]}[layout]
        if layout == "unit":
            return np.count_nonzero(np.argmax(z, axis=0) == y[:, None], axis=0)
        if layout == "sample":
            return np.count_nonzero(np.argmax(z, axis=2) == y[:, None], axis=0)
        return np.count_nonzero(np.argmax(z, axis=2) == y[None, :], axis=1)


def dense_tail(network: Network) -> int:
    """The first parameterised layer of the network's dense tail: the longest run of dense layers
    at the top whose hidden layers share one activation (an MLP's delta products apply there)."""
    stack = network.architecture.stack
    positions = stack.parameterised
    first = len(positions) - 1  # the output layer is dense
    while first > 0:
        candidate = stack.layers[positions[first - 1]:]
        if not all(isinstance(layer, Dense) for layer in candidate) or len({l.activation for l in candidate[:-1]}) > 1:
            break
        first -= 1
    return first


class StackEvaluator:
    """``Evaluator``'s interface for a network with conv (or any non-MLP) layers.

    The undisturbed input entering every parameterised layer below the dense tail is cached, so a
    disturbance whose lowest layer is l runs only layers l and up, one repeat at a time on blocks
    of samples (``forward.PREDICTION_BLOCK``: a conv layer's unfolded windows stay small). A
    disturbance of the dense tail alone goes to an ``Evaluator`` of the tail over its cached input,
    with the MLP's delta products.
    """

    def __init__(self, network: Network, x: np.ndarray, y: np.ndarray, batch_memory_mb: float = 128):
        self.network = network
        self.stack = stack = network.architecture.stack
        self.y = np.asarray(y)
        self.n_samples = len(self.y)
        self.kernels = [np.asarray(k, dtype=np.float32) for k in network.kernels]
        self.biases = [np.asarray(b, dtype=np.float32) for b in network.biases]
        self.params = [{"kernel": k, "bias": b} for k, b in zip(self.kernels, self.biases)]
        self.tail = dense_tail(network)
        positions = stack.parameterised
        # inputs[l]: the undisturbed batch entering parameterised layer l (l < tail), then the tail's
        self.inputs: list[np.ndarray] = []
        h, at = np.asarray(x, np.float32).reshape(-1, *stack.input_shape), 0
        for stop in positions[:self.tail + 1]:
            h = self._blocks(lambda part: stack.forward(part, self.params, at, stop), h)
            self.inputs.append(h)
            at = stop
        # the dense tail as an MLP of its own: its input is the cached flat features
        tail_stack = LayerStack(self.inputs[self.tail].shape[1:], stack.layers[positions[self.tail]:])
        tail = Network(self.kernels[self.tail:], self.biases[self.tail:], Architecture(tail_stack))
        self.tail_evaluator = Evaluator(tail, self.inputs[self.tail], self.y, batch_memory_mb)
        self.predictions = self.tail_evaluator.predictions
        self.accuracy_undisturbed = self.tail_evaluator.accuracy_undisturbed
        self._counts: Counter[str] = Counter()

    @property
    def path_counts(self) -> Counter:
        """Repeats run from a layer below the tail ("layers"), and the tail evaluator's chunks by path."""
        return self._counts + self.tail_evaluator.path_counts

    def _blocks(self, step, h: np.ndarray) -> np.ndarray:
        return np.concatenate([step(h[lo:lo + PREDICTION_BLOCK]) for lo in range(0, len(h), PREDICTION_BLOCK)])

    def accuracy(self, kernels: dict[int, np.ndarray] | None = None, biases: dict[int, np.ndarray] | None = None,
                 changed: dict[int, np.ndarray] | None = None, delta_max_fraction: float = DELTA_MAX_FRACTION
                 ) -> np.ndarray:
        """As ``Evaluator.accuracy``: ``kernels[l]`` (R, *kernel shape), ``biases[l]`` (R, n_out)."""
        kernels, biases = kernels or {}, biases or {}
        disturbed, n_repeats = _disturbed_layers(kernels, biases)
        if not disturbed:
            return np.array([self.accuracy_undisturbed])
        first, t = disturbed[0], self.tail
        if first >= t:
            def shifted(arrays):
                return {layer - t: a for layer, a in (arrays or {}).items()}
            return self.tail_evaluator.accuracy(shifted(kernels), shifted(biases), shifted(changed), delta_max_fraction)
        start = self.stack.parameterised[first]
        out = np.empty(n_repeats)
        for repeat in range(n_repeats):
            params = [{"kernel": kernels[l][repeat] if l in kernels else p["kernel"],
                       "bias": biases[l][repeat] if l in biases else p["bias"]} for l, p in enumerate(self.params)]
            logits = self._blocks(lambda part: self.stack.forward(part, params, start), self.inputs[first])
            out[repeat] = np.mean(np.argmax(logits, axis=1) == self.y)
            self._counts["layers"] += 1
        return out


def evaluator_for(network: Network, x: np.ndarray, y: np.ndarray, batch_memory_mb: float = 128):
    """The evaluator of ``network``: ``Evaluator`` for an MLP, ``StackEvaluator`` for any other."""
    cls = Evaluator if network.architecture.is_mlp else StackEvaluator
    return cls(network, x, y, batch_memory_mb)
