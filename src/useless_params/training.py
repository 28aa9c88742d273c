"""The compiled training loop (with `lockstep`, the only package modules that import TensorFlow).

Each epoch is one compiled TensorFlow call: a ``tf.while_loop`` over the batches of the
epoch's permutation, with the training set held as one tensor and the optimizer's fused
update per parameter (``optimizers.OPTIMIZERS``). It is about 2-3x faster than Keras'
``model.fit`` for this small network (whose time goes to per-step overhead, not
arithmetic), and it can hold a 0/1 mask per kernel fixed, which fine-tuning and rewinding a
pruned network need and ``model.fit`` cannot do. The ``model.fit`` reference lives beside
the benchmark that compares with it (``benchmarks/keras_reference.py``). XLA
(``jit_compile``) is not used: it did not finish compiling this loop in 10 minutes.

The optimizer defaults are Keras 1's Adagrad (learning rate 0.01, epsilon 1e-8,
accumulator starting at 0) with Keras 1's update rule, p -= lr * g / (sqrt(a) + eps);
Keras 3's Adagrad puts epsilon inside the square root instead.
"""

from __future__ import annotations

import math
import os
import time
from typing import NamedTuple

import numpy as np

from . import forward
from .model import Architecture, Network
from .optimizers import optimizer, schedule

# The ``training`` keys the loop itself reads; epochs and the learning rate are given per run.
TRAINER_KEYS = ("batch_size", "epsilon", "initial_accumulator_value", "learning_rate_gamma", "learning_rate_power",
                "learning_rate_schedule", "momentum", "optimizer", "shuffle", "validation_split", "weight_decay")


def configure_determinism(seed: int, threads: int) -> None:
    """Seed every generator and pin TensorFlow to deterministic ops and ``threads`` threads."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # TensorFlow already started in this process (tests, benchmark): keep its pools
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def validation_split_at(n_samples: int, validation_split: float) -> int:
    """Where Keras' ``validation_split`` cuts: the last fraction (before shuffling) is held out."""
    return int(math.floor(n_samples * (1.0 - validation_split)))


class TrainingRun(NamedTuple):
    """One run: ``kernels[l]`` (epochs + 1, n_in, n_out) and ``biases[l]`` (epochs + 1, n_out), index 0
    the starting point; per-epoch ``history``; timing ``summary``."""

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    history: dict[str, np.ndarray]
    summary: dict


def step_settings(tf, settings: dict, learning_rate, step) -> dict:
    """What an optimizer update reads this step: the scheduled learning rate (``learning_rate`` is the
    run's base rate, ``step`` the updates made so far), epsilon, momentum, weight decay."""
    return {"learning_rate": schedule(settings.get("learning_rate_schedule", "constant")).rate(
                tf, learning_rate, step, settings),
            "epsilon": tf.constant(settings["epsilon"], tf.float32),
            "momentum": tf.constant(settings.get("momentum") or 0.0, tf.float32),
            "weight_decay": float(settings.get("weight_decay") or 0.0)}


def apply_masked_updates(opt, params, grads, masks, slots, step, settings) -> None:
    """One optimizer step: L2 weight decay added to every gradient (Caffe's: ``weight_decay * p``, biases
    too), kernels' gradients masked (kernels at even indices), then ``opt``'s fused update."""
    step.assign_add(1)
    decay = settings["weight_decay"]
    for j, (p, g) in enumerate(zip(params, grads)):
        if decay:  # a Python float: no op at all without weight decay
            g = g + decay * p
        if j % 2 == 0:
            g = g * masks[j // 2]  # a masked weight gets no update from any optimizer
        opt.apply(p, g, slots[j], step, settings)


def epoch_loop(tf, order, x_fit, y_fit, batch: int, train_step, zero):
    """A ``tf.while_loop`` over the batches of the permutation ``order`` of (``x_fit``, ``y_fit``).

    ``train_step(x, y)`` returns the logits (..., batch, classes) and per-image losses (..., batch);
    the loop returns their mean loss and accuracy over the epoch, shaped as ``zero`` (a scalar for
    one network, a K-vector for networks in lockstep).
    """
    n_fit = int(x_fit.shape[0])
    n_batches = -(-n_fit // batch)

    def body(i, loss_sum, correct):
        lo = i * batch
        index = order[lo:tf.minimum(lo + batch, n_fit)]
        y = tf.gather(y_fit, index)
        out, losses = train_step(tf.gather(x_fit, index), y)
        hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(out, axis=-1), y), tf.float64), axis=-1)
        return i + 1, loss_sum + tf.reduce_sum(tf.cast(losses, tf.float64), axis=-1), correct + hits

    _, loss_sum, correct = tf.while_loop(lambda i, *_: i < n_batches, body, (tf.constant(0), zero, zero))
    return loss_sum / n_fit, correct / n_fit


class CompiledTrainer:
    """The compiled training loop for one data set and architecture, reusable across runs.

    Building it traces the epoch into a TensorFlow graph once (about 1-2 s); every ``run``
    then only assigns its starting weights, masks, learning rate and optimizer state, so
    a pruning job that retrains ten networks pays for one trace, not ten. ``settings`` holds
    the ``TRAINER_KEYS`` of the ``training`` config section.
    """

    def __init__(self, x_train, y_train, x_test, y_test, architecture: Architecture, settings: dict,
                 threads: int = 1):
        configure_determinism(0, threads)
        import tensorflow as tf

        self.tf = tf
        self.settings = settings
        self.opt = optimizer(settings["optimizer"])
        self.architecture = architecture
        self.stack = architecture.stack
        self.x_test, self.y_test = x_test, y_test
        self.split = split = validation_split_at(len(y_train), settings["validation_split"])
        self.x_fit, self.y_fit = tf.constant(x_train[:split], tf.float32), tf.constant(y_train[:split], tf.int64)
        self.x_val, self.y_val = tf.constant(x_train[split:], tf.float32), tf.constant(y_train[split:], tf.int64)
        self.n_fit = split
        shapes = architecture.parameter_shapes()
        self.params = [tf.Variable(tf.zeros(shape)) for shape in shapes]
        self.masks = [tf.Variable(tf.ones(shape)) for shape in architecture.kernel_shapes()]
        self.slots = [[tf.Variable(tf.zeros(shape)) for _ in range(self.opt.n_slots)] for shape in shapes]
        self.step = tf.Variable(0, dtype=tf.int64)
        self.learning_rate = tf.Variable(0.0)
        self.run_epoch = tf.function(self._epoch)
        self.evaluate = tf.function(self._evaluate)

    def _logits(self, x):
        # each layer's TensorFlow step is the layer's own (layers.LayerStack.tensorflow)
        params = [{"kernel": self.params[2 * i], "bias": self.params[2 * i + 1]} for i in range(self.architecture.n_layers)]
        return self.stack.tensorflow(self.tf, x, params)

    def _train_step(self, x, y):
        """One batch: the loss's gradients, masked for kernels, applied by the fused optimizer."""
        tf = self.tf
        settings = step_settings(tf, self.settings, self.learning_rate, self.step)
        with tf.GradientTape() as tape:
            out = self._logits(x)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=out)
            loss = tf.reduce_mean(losses)
        apply_masked_updates(self.opt, self.params, tape.gradient(loss, self.params), self.masks, self.slots,
                             self.step, settings)
        return out, losses

    def _epoch(self, order):
        """Every batch of the permutation ``order``; returns the epoch's mean loss and accuracy."""
        return epoch_loop(self.tf, order, self.x_fit, self.y_fit, int(self.settings["batch_size"]), self._train_step,
                          self.tf.constant(0.0, self.tf.float64))

    def _evaluate(self, x, y):
        tf = self.tf
        out = self._logits(x)
        losses = tf.cast(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=out), tf.float64)
        return tf.reduce_mean(losses), tf.reduce_mean(tf.cast(tf.equal(tf.argmax(out, axis=1), y), tf.float64))

    def _assign_start(self, start: Network, masks: list[np.ndarray] | None, learning_rate: float):
        """Starting weights (masked ones exactly +0), masks, fresh optimizer state; returns epoch 0."""
        tf = self.tf
        kernel_masks = [np.ones(shape, np.float32) if masks is None else np.asarray(m, np.float32)
                        for shape, m in zip(self.architecture.kernel_shapes(), masks or [None] * len(start.kernels))]
        # np.where, not a product: a negative weight times 0 would be -0.0.
        kernels0 = [np.where(m != 0, np.asarray(k, np.float32), np.float32(0))
                    for k, m in zip(start.kernels, kernel_masks)]
        biases0 = [np.asarray(b, np.float32) for b in start.biases]
        for variable, value in zip(self.params, [a for pair in zip(kernels0, biases0) for a in pair]):
            variable.assign(value)
        for variable, value in zip(self.masks, kernel_masks):
            variable.assign(value)
        for group in self.slots:
            for slot in group:
                slot.assign(tf.fill(slot.shape, self.opt.initial_slot(self.settings)))
        self.step.assign(0)
        self.learning_rate.assign(learning_rate)
        return kernels0, biases0

    def run(self, seed: int, epochs: int, learning_rate: float, start: Network | None = None,
            masks: list[np.ndarray] | None = None) -> TrainingRun:
        """Train for ``epochs`` from ``start`` (default: a fresh initialisation from ``seed``, by the
        architecture's initializer) with ``masks`` held fixed; see ``train``."""
        tf = self.tf
        # Every random number of a run (initialisation, shuffles) comes from this generator.
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7EA1]))
        if start is None:
            start = self.architecture.initial_network(rng)
        snapshots = [self._assign_start(start, masks, learning_rate)]
        history = {key: [] for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        epoch_seconds = []
        started = time.perf_counter()
        for epoch in range(epochs):
            epoch_started = time.perf_counter()
            order = rng.permutation(self.n_fit) if self.settings["shuffle"] else np.arange(self.n_fit)
            loss, accuracy = self.run_epoch(tf.constant(order, tf.int32))
            val_loss, val_accuracy = (self.evaluate(self.x_val, self.y_val) if len(self.y_val)
                                      else (np.nan, np.nan))
            for key, value in zip(history, (loss, accuracy, val_loss, val_accuracy)):
                history[key].append(float(value))
            values = [p.numpy() for p in self.params]
            snapshots.append((values[0::2], values[1::2]))
            epoch_seconds.append(time.perf_counter() - epoch_started)
            print(f"epoch {epoch + 1}/{epochs}: loss {float(loss):.4f} accuracy {float(accuracy):.4f} "
                  f"val_loss {float(val_loss):.4f} val_accuracy {float(val_accuracy):.4f}", flush=True)
        fit_seconds = time.perf_counter() - started

        n_layers = self.architecture.n_layers
        kernels = [np.stack([k[l] for k, _ in snapshots]) for l in range(n_layers)]
        biases = [np.stack([b[l] for _, b in snapshots]) for l in range(n_layers)]
        result = {key: np.asarray(values) for key, values in history.items()}
        result["test_accuracy"] = np.array([
            forward.accuracy(Network.at_epoch(kernels, biases, e, self.architecture),
                             self.x_test, self.y_test)
            for e in range(len(snapshots))
        ])
        # The first epoch of the first run includes tracing the loop into a graph (about 1-2 s).
        summary = {"fit_seconds": fit_seconds, "seconds_per_epoch": fit_seconds / max(epochs, 1),
                   "optimizer": self.opt.name, "first_epoch_seconds": epoch_seconds[0] if epoch_seconds else 0.0,
                   "steady_seconds_per_epoch": float(np.median(epoch_seconds[1:])) if epochs > 1 else None}
        return TrainingRun(kernels, biases, result, summary)


def train(x_train, y_train, x_test, y_test, architecture: Architecture, training_cfg: dict, seed: int,
          threads: int = 1, start: Network | None = None, masks: list[np.ndarray] | None = None) -> TrainingRun:
    """Train one network with the compiled loop for ``training.epochs`` at ``training.learning_rate``.

    ``kernels[l]`` is (epochs + 1, n_in, n_out) and ``biases[l]`` (epochs + 1, n_out); index 0
    is the starting point (a fresh initialisation from ``seed`` by ``architecture.initializer``, or ``start``),
    index e the parameters after epoch e. ``masks`` (one 0/1 array per kernel) holds the
    masked weights fixed at exactly 0: they start at 0 and their gradients are masked, so
    no optimizer moves them. ``history`` has per-epoch loss, accuracy, val_loss,
    val_accuracy and the test accuracy at every stored epoch (numpy forward pass). The
    same seed gives byte-identical results on the same machine. To train several networks
    on the same data, build one ``CompiledTrainer`` and call its ``run``.
    """
    trainer = CompiledTrainer(x_train, y_train, x_test, y_test, architecture,
                              {key: training_cfg[key] for key in TRAINER_KEYS}, threads)
    return trainer.run(seed, training_cfg["epochs"], training_cfg["learning_rate"], start=start, masks=masks)
