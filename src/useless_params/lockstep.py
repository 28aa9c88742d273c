"""Several masked networks trained in lockstep: one compiled loop, the same batches, wide tensors.

The compiled loop (``training.CompiledTrainer``) pays TensorFlow's per-op cost once per
step and network, and for the article's network that cost is about half of every epoch.
Here K networks of one architecture take every step together on the same batch: layer 0's
kernels sit side by side in one (n_in, K * n_1) variable, so its forward product and weight
gradient are one wide GEMM for all K (a batched product of K thin ones is slower, as an
earlier attempt found); the layers above are (K, n_in, n_out) batched products; every
optimizer update is one fused op for all K. The per-op cost is paid once per step, not K
times.

Each network's arithmetic is that of ``CompiledTrainer.run`` with the same seed, start and
mask (the same batch order, the same loss per network: the summed loss's gradient for one
network is its own mean loss's), except for float summation order inside the wider
products; tests check the two agree to float tolerance. Trained together, the networks see
identical batches, so comparisons between them are paired.
"""

from __future__ import annotations

import time

import numpy as np

from . import forward
from .activations import tensorflow_activation
from .model import Architecture, Network
from .optimizers import optimizer
from .training import (TrainingRun, apply_masked_updates, configure_determinism, epoch_loop, step_settings,
                       validation_split_at)


def _masked_start(start: Network, masks: list[np.ndarray] | None) -> tuple[list[np.ndarray], list[np.ndarray], list]:
    """Kernels with masked weights exactly +0 (np.where: a product would give -0.0), biases, 0/1 masks."""
    kernel_masks = [np.ones(np.shape(k), np.float32) if masks is None else np.asarray(m, np.float32)
                    for k, m in zip(start.kernels, masks or [None] * len(start.kernels))]
    kernels = [np.where(m != 0, np.asarray(k, np.float32), np.float32(0)) for k, m in zip(start.kernels, kernel_masks)]
    return kernels, [np.asarray(b, np.float32) for b in start.biases], kernel_masks


class LockstepTrainer:
    """The compiled loop for ``n_networks`` networks of one architecture, stepped together.

    ``settings`` holds the ``training.TRAINER_KEYS``; ``run`` takes one start and one mask list
    per network and returns one ``TrainingRun`` per network, as ``CompiledTrainer.run`` would.
    """

    def __init__(self, x_train, y_train, x_test, y_test, architecture: Architecture, settings: dict,
                 n_networks: int, threads: int = 1):
        if n_networks < 1:
            raise ValueError(f"n_networks must be at least 1, got {n_networks}")
        if not architecture.is_mlp:
            raise ValueError(f"the lockstep layout is written for multilayer perceptrons, not {architecture.stack.describe()}")
        configure_determinism(0, threads)
        import tensorflow as tf

        self.tf, self.settings, self.architecture, self.k = tf, settings, architecture, int(n_networks)
        self.opt = optimizer(settings["optimizer"])
        self.x_test, self.y_test = x_test, y_test
        split = validation_split_at(len(y_train), settings["validation_split"])
        self.x_fit, self.y_fit = tf.constant(x_train[:split], tf.float32), tf.constant(y_train[:split], tf.int64)
        self.x_val, self.y_val = tf.constant(x_train[split:], tf.float32), tf.constant(y_train[split:], tf.int64)
        self.n_fit = split
        shapes = self._wide_shapes()
        self.params = [tf.Variable(tf.zeros(shape)) for shape in shapes]
        self.masks = [tf.Variable(tf.ones(shape)) for shape in shapes[0::2]]
        self.slots = [[tf.Variable(tf.zeros(shape)) for _ in range(self.opt.n_slots)] for shape in shapes]
        self.step = tf.Variable(0, dtype=tf.int64)
        self.learning_rate = tf.Variable(0.0)
        self.run_epoch = tf.function(self._epoch)
        self.evaluate = tf.function(self._evaluate)

    def _wide_shapes(self) -> list[tuple[int, ...]]:
        """Layer 0: kernel (n_in, K * n_1), bias (K * n_1,); above: kernel (K, n_in, n_out), bias (K, 1, n_out)."""
        k, sizes = self.k, self.architecture.layer_sizes
        shapes = [(sizes[0], k * sizes[1]), (k * sizes[1],)]
        for n_in, n_out in zip(sizes[1:-1], sizes[2:]):
            shapes += [(k, n_in, n_out), (k, 1, n_out)]
        return shapes

    def _pack(self, per_network: list[list[np.ndarray]], layer: int, bias: bool) -> np.ndarray:
        """One layer's kernels (or biases) of every network in the wide layout."""
        arrays = [np.asarray(a[layer], np.float32) for a in per_network]
        if layer == 0:
            return np.concatenate(arrays, axis=-1)
        return np.stack([a[None, :] for a in arrays]) if bias else np.stack(arrays)

    def _unpack(self, value: np.ndarray, layer: int, bias: bool) -> list[np.ndarray]:
        if layer == 0:
            return [np.ascontiguousarray(part) for part in np.split(value, self.k, axis=-1)]
        return [np.ascontiguousarray(value[i, 0] if bias else value[i]) for i in range(self.k)]

    def _logits(self, x):
        """(K, batch, n_classes): layer 0 as one wide product, the layers above batched."""
        tf, params, sizes = self.tf, self.params, self.architecture.layer_sizes
        hidden = tensorflow_activation(tf, self.architecture.activation)
        h = tf.matmul(x, params[0]) + params[1]
        if self.architecture.n_layers == 1:
            return tf.transpose(tf.reshape(h, (-1, self.k, sizes[1])), (1, 0, 2))
        h = tf.transpose(tf.reshape(hidden(h), (-1, self.k, sizes[1])), (1, 0, 2))
        for layer in range(1, self.architecture.n_layers):
            h = tf.matmul(h, params[2 * layer]) + params[2 * layer + 1]
            if layer < self.architecture.n_layers - 1:
                h = hidden(h)
        return h

    def _losses(self, out, y):
        tf = self.tf
        labels = tf.broadcast_to(y, (self.k, tf.shape(y)[0]))
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=out)

    def _train_step(self, x, y):
        tf = self.tf
        settings = step_settings(tf, self.settings, self.learning_rate, self.step)
        with tf.GradientTape() as tape:
            out = self._logits(x)
            losses = self._losses(out, y)
            # The sum of the networks' mean losses: each network's gradient is its own mean loss's.
            loss = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
        apply_masked_updates(self.opt, self.params, tape.gradient(loss, self.params), self.masks, self.slots,
                             self.step, settings)
        return out, losses

    def _epoch(self, order):
        """Every batch of ``order``; per network, the epoch's mean loss and accuracy (K-vectors)."""
        return epoch_loop(self.tf, order, self.x_fit, self.y_fit, int(self.settings["batch_size"]), self._train_step,
                          self.tf.zeros(self.k, self.tf.float64))

    def _evaluate(self, x, y):
        tf = self.tf
        out = self._logits(x)
        losses = tf.cast(self._losses(out, y), tf.float64)
        return (tf.reduce_mean(losses, axis=1),
                tf.reduce_mean(tf.cast(tf.equal(tf.argmax(out, axis=2), y), tf.float64), axis=1))

    def _assign_start(self, starts: list[Network], masks: list[list[np.ndarray] | None], learning_rate: float):
        starts_masked = [_masked_start(start, m) for start, m in zip(starts, masks)]
        kernels = [s[0] for s in starts_masked]
        biases = [s[1] for s in starts_masked]
        kernel_masks = [s[2] for s in starts_masked]
        for layer in range(self.architecture.n_layers):
            self.params[2 * layer].assign(self._pack(kernels, layer, bias=False))
            self.params[2 * layer + 1].assign(self._pack(biases, layer, bias=True))
            self.masks[layer].assign(self._pack(kernel_masks, layer, bias=False))
        for group in self.slots:
            for slot in group:
                slot.assign(self.tf.fill(slot.shape, self.opt.initial_slot(self.settings)))
        self.step.assign(0)
        self.learning_rate.assign(learning_rate)
        return [(k, b) for k, b in zip(kernels, biases)]

    def _snapshot(self) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
        """Every network's (kernels, biases) now."""
        values = [p.numpy() for p in self.params]
        per_layer = [(self._unpack(values[2 * l], l, False), self._unpack(values[2 * l + 1], l, True))
                     for l in range(self.architecture.n_layers)]
        return [([k[i] for k, _ in per_layer], [b[i] for _, b in per_layer]) for i in range(self.k)]

    def run(self, seed: int, epochs: int, learning_rate: float, starts: list[Network],
            masks: list[list[np.ndarray] | None] | None = None, every_epoch: bool = True) -> list[TrainingRun]:
        """Train the ``n_networks`` networks from ``starts`` with ``masks`` held fixed, on the batch
        order ``CompiledTrainer.run(seed, ..., start=...)`` draws; one ``TrainingRun`` per network.

        ``every_epoch=False`` keeps only the start and the final weights and measures no test
        accuracy (the retrainer's case: the pruning job measures its networks itself, and the
        per-epoch test accuracy of 10 networks cost 1.5-3.4 s of a 10-25 s job)."""
        tf = self.tf
        if len(starts) != self.k or (masks is not None and len(masks) != self.k):
            raise ValueError(f"LockstepTrainer for {self.k} networks got {len(starts)} starts and "
                             f"{'no' if masks is None else len(masks)} masks")
        masks = masks if masks is not None else [None] * self.k
        # The same generator as CompiledTrainer.run's with a given start: the same permutations.
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7EA1]))
        snapshots = [self._assign_start(starts, masks, learning_rate)]
        history = {key: [] for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        started = time.perf_counter()
        epoch_seconds = []
        for _ in range(epochs):
            epoch_started = time.perf_counter()
            order = rng.permutation(self.n_fit) if self.settings["shuffle"] else np.arange(self.n_fit)
            loss, accuracy = self.run_epoch(tf.constant(order, tf.int32))
            val_loss, val_accuracy = (self.evaluate(self.x_val, self.y_val) if len(self.y_val)
                                      else (np.full(self.k, np.nan), np.full(self.k, np.nan)))
            for key, value in zip(history, (loss, accuracy, val_loss, val_accuracy)):
                history[key].append(np.asarray(value, np.float64))
            if every_epoch or len(epoch_seconds) == epochs - 1:
                snapshots.append(self._snapshot())
            epoch_seconds.append(time.perf_counter() - epoch_started)
        fit_seconds = time.perf_counter() - started
        runs = []
        for i in range(self.k):
            per_epoch = [s[i] for s in snapshots]
            kernels = [np.stack([k[l] for k, _ in per_epoch]) for l in range(self.architecture.n_layers)]
            biases = [np.stack([b[l] for _, b in per_epoch]) for l in range(self.architecture.n_layers)]
            result = {key: np.array([v[i] for v in values]) for key, values in history.items()}
            if every_epoch:
                result["test_accuracy"] = np.array([
                    forward.accuracy(Network.at_epoch(kernels, biases, e, self.architecture),
                                     self.x_test, self.y_test) for e in range(len(per_epoch))])
            summary = {"fit_seconds": fit_seconds, "seconds_per_epoch": fit_seconds / max(epochs, 1),
                       "optimizer": self.opt.name, "networks_in_lockstep": self.k,
                       "first_epoch_seconds": epoch_seconds[0] if epoch_seconds else 0.0,
                       "steady_seconds_per_epoch": float(np.median(epoch_seconds[1:])) if epochs > 1 else None}
            runs.append(TrainingRun(kernels, biases, result, summary))
        return runs
