"""Training the article's MLP (the only module that imports TensorFlow).

``train`` runs each epoch as one compiled TensorFlow call: a ``tf.while_loop`` over the
batches of the epoch's permutation, with the training set held as one tensor and the
optimizer's update written out. It is about 2-3x faster than Keras' ``model.fit`` for
this small network (whose time goes to per-step overhead, not arithmetic), and it can
hold a 0/1 mask per kernel fixed, which fine-tuning and rewinding a pruned network
need and ``model.fit`` cannot do. ``train_keras_fit`` keeps the previous ``model.fit``
path as the reference the benchmark and tests compare with. XLA (``jit_compile``) is not
used: it did not finish compiling this loop in 10 minutes.

The optimizer defaults are Keras 1's Adagrad (learning rate 0.01, epsilon 1e-8,
accumulator starting at 0) with Keras 1's update rule, p -= lr * g / (sqrt(a) + eps);
Keras 3's Adagrad puts epsilon inside the square root instead.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import forward
from .errors import InputError
from .store import Network


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


def keras1_adagrad(learning_rate: float, epsilon: float, initial_accumulator_value: float):
    """Adagrad with Keras 1's update rule (epsilon outside the square root)."""
    import keras
    from keras import ops

    class Keras1Adagrad(keras.optimizers.Adagrad):
        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            accumulator = self._accumulators[self._get_variable_index(variable)]
            self.assign_add(accumulator, ops.square(gradient))
            step = ops.divide(ops.multiply(lr, gradient), ops.add(ops.sqrt(accumulator), self.epsilon))
            self.assign_sub(variable, step)

    return Keras1Adagrad(learning_rate=learning_rate, epsilon=epsilon,
                         initial_accumulator_value=initial_accumulator_value)


def make_optimizer(cfg: dict):
    """A Keras optimizer for ``train_keras_fit`` (the reference path); unknown names are errors."""
    import keras

    factories = {
        "adagrad": lambda: keras1_adagrad(cfg["learning_rate"], cfg["epsilon"], cfg["initial_accumulator_value"]),
        "sgd": lambda: keras.optimizers.SGD(learning_rate=cfg["learning_rate"]),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=cfg["learning_rate"], epsilon=cfg["epsilon"]),
        "adam": lambda: keras.optimizers.Adam(learning_rate=cfg["learning_rate"], epsilon=cfg["epsilon"]),
    }
    optimizer(cfg["optimizer"])  # the registry's error for an unknown name
    return factories[cfg["optimizer"]]()


def build_model(n_inputs: int, hidden_layers: list[int], activation: str, n_classes: int = 10):
    """Dense layers with Glorot-uniform kernels and zero biases (Keras 1's defaults), softmax output."""
    import keras

    layers = [keras.Input(shape=(n_inputs,))]
    for width in hidden_layers:
        layers.append(keras.layers.Dense(width, activation=activation))
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers)


def model_from_network(network: Network):
    """A Keras model holding ``network``'s parameters (used to check the numpy evaluator)."""
    model = build_model(network.kernels[0].shape[0], [k.shape[1] for k in network.kernels[:-1]],
                        network.activation, network.kernels[-1].shape[1])
    model.set_weights([w for pair in zip(network.kernels, network.biases) for w in pair])
    return model


# --- Optimizers of the compiled loop: each one fused TensorFlow kernel per parameter.

@dataclass(frozen=True)
class Optimizer:
    """``n_slots`` state variables per parameter and ``apply(param, grad, slots, step, settings)``,
    which updates the variables in place with TensorFlow's fused ``ResourceApply*`` kernel
    (one op per parameter and step instead of ten: the loop is bound by per-op overhead)."""

    name: str
    description: str
    n_slots: int
    apply: Callable


def _adagrad_keras1(p, g, slots, step, settings):
    import tensorflow as tf

    # ApplyAdagradV2 is exactly Keras 1's rule: a += g^2; p -= lr g / (sqrt(a) + eps).
    return tf.raw_ops.ResourceApplyAdagradV2(var=p.handle, accum=slots[0].handle, lr=settings["learning_rate"],
                                              epsilon=settings["epsilon"], grad=g, update_slots=True)


def _sgd(p, g, slots, step, settings):
    import tensorflow as tf

    return tf.raw_ops.ResourceApplyGradientDescent(var=p.handle, alpha=settings["learning_rate"], delta=g)


def _rmsprop(p, g, slots, step, settings):
    import tensorflow as tf

    # Keras 3's RMSprop without momentum (rho 0.9): v = rho v + (1 - rho) g^2; p -= lr g / sqrt(v + eps).
    return tf.raw_ops.ResourceApplyRMSProp(var=p.handle, ms=slots[0].handle, mom=slots[1].handle,
                                           lr=settings["learning_rate"], rho=0.9, momentum=0.0,
                                           epsilon=settings["epsilon"], grad=g)


def _adam(p, g, slots, step, settings):
    import tensorflow as tf

    # Keras 3's Adam (beta 0.9 / 0.999, bias-corrected, eps outside the square root).
    t = tf.cast(step, tf.float32)
    return tf.raw_ops.ResourceApplyAdam(var=p.handle, m=slots[0].handle, v=slots[1].handle,
                                        beta1_power=tf.pow(0.9, t), beta2_power=tf.pow(0.999, t),
                                        lr=settings["learning_rate"], beta1=0.9, beta2=0.999,
                                        epsilon=settings["epsilon"], grad=g)


OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in (
        Optimizer("adagrad", "Keras 1's Adagrad: a += g^2; p -= lr g / (sqrt(a) + eps)", 1, _adagrad_keras1),
        Optimizer("sgd", "plain SGD: p -= lr g", 0, _sgd),
        Optimizer("rmsprop", "Keras 3's RMSprop, rho 0.9", 2, _rmsprop),
        Optimizer("adam", "Keras 3's Adam, beta 0.9 / 0.999", 2, _adam),
    )
}


def optimizer(name: str) -> Optimizer:
    """The registered optimizer ``name``; an unknown name is an error listing the known ones."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise InputError(f"training.optimizer: unknown value {name!r}; expected one of "
                         f"{', '.join(OPTIMIZERS)}") from None


def glorot_uniform_network(sizes: list[int], activation: str, rng: np.random.Generator) -> Network:
    """Glorot-uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and zero biases: Keras 1's defaults."""
    kernels = [rng.uniform(-math.sqrt(6 / (a + b)), math.sqrt(6 / (a + b)), (a, b)).astype(np.float32)
               for a, b in zip(sizes, sizes[1:])]
    return Network(kernels, [np.zeros(b, np.float32) for b in sizes[1:]], activation)


def validation_split_at(n_samples: int, validation_split: float) -> int:
    """Where Keras' ``validation_split`` cuts: the last fraction (before shuffling) is held out."""
    return int(math.floor(n_samples * (1.0 - validation_split)))


class CompiledTrainer:
    """The compiled training loop for one data set and network shape, reusable across runs.

    Building it traces the epoch into a TensorFlow graph once (about 1-2 s); every ``run``
    then only assigns its starting weights, masks, learning rate and optimizer state, so
    a pruning job that retrains ten networks pays for one trace, not ten.
    """

    def __init__(self, x_train, y_train, x_test, y_test, network_cfg: dict, training_cfg: dict, threads: int = 1):
        configure_determinism(0, threads)
        import tensorflow as tf

        self.tf = tf
        self.cfg = training_cfg
        self.opt = optimizer(training_cfg["optimizer"])
        self.activation = network_cfg["activation"]
        forward.activation_function(self.activation)  # unknown names fail here
        hidden = {"sigmoid": tf.sigmoid, "relu": tf.nn.relu, "tanh": tf.tanh, "linear": tf.identity}[self.activation]
        self.sizes = [x_train.shape[1], *network_cfg["hidden_layers"], 10]
        self.x_test, self.y_test = x_test, y_test
        n_layers = self.n_layers = len(self.sizes) - 1

        self.split = split = validation_split_at(len(y_train), training_cfg["validation_split"])
        x_fit, y_fit = tf.constant(x_train[:split], tf.float32), tf.constant(y_train[:split], tf.int64)
        self.x_val, self.y_val = tf.constant(x_train[split:], tf.float32), tf.constant(y_train[split:], tf.int64)
        n_fit, batch = split, int(training_cfg["batch_size"])
        n_batches = -(-n_fit // batch)
        shapes = [shape for a, b in zip(self.sizes, self.sizes[1:]) for shape in ((a, b), (b,))]
        self.params = [tf.Variable(tf.zeros(shape)) for shape in shapes]
        self.masks = [tf.Variable(tf.ones(shape)) for shape in shapes[0::2]]
        self.slots = [[tf.Variable(tf.zeros(shape)) for _ in range(self.opt.n_slots)] for shape in shapes]
        self.step = tf.Variable(0, dtype=tf.int64)
        self.learning_rate = tf.Variable(0.0)
        opt, params, masks, slots, step = self.opt, self.params, self.masks, self.slots, self.step
        settings = {"learning_rate": self.learning_rate, "epsilon": tf.constant(training_cfg["epsilon"], tf.float32)}

        def logits(x):
            h = x
            for layer in range(n_layers):
                h = tf.matmul(h, params[2 * layer]) + params[2 * layer + 1]
                if layer < n_layers - 1:
                    h = hidden(h)
            return h

        @tf.function
        def run_epoch(order):
            def body(i, loss_sum, correct):
                lo = i * batch
                index = order[lo:tf.minimum(lo + batch, n_fit)]
                x, y = tf.gather(x_fit, index), tf.gather(y_fit, index)
                with tf.GradientTape() as tape:
                    out = logits(x)
                    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=out)
                    loss = tf.reduce_mean(losses)
                grads = tape.gradient(loss, params)
                step.assign_add(1)
                for j, (p, g) in enumerate(zip(params, grads)):
                    if j % 2 == 0:
                        g = g * masks[j // 2]  # a masked weight gets no update from any optimizer
                    opt.apply(p, g, slots[j], step, settings)
                hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(out, axis=1), y), tf.float64))
                return i + 1, loss_sum + tf.reduce_sum(tf.cast(losses, tf.float64)), correct + hits

            zero = tf.constant(0.0, tf.float64)
            _, loss_sum, correct = tf.while_loop(lambda i, *_: i < n_batches, body, (tf.constant(0), zero, zero))
            return loss_sum / n_fit, correct / n_fit

        @tf.function
        def evaluate(x, y):
            out = logits(x)
            losses = tf.cast(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=out), tf.float64)
            return tf.reduce_mean(losses), tf.reduce_mean(tf.cast(tf.equal(tf.argmax(out, axis=1), y), tf.float64))

        self.run_epoch, self.evaluate = run_epoch, evaluate
        self.n_fit = n_fit

    def run(self, seed: int, epochs: int | None = None, start: Network | None = None,
            masks: list[np.ndarray] | None = None, learning_rate: float | None = None):
        """Train from ``start`` (default: a fresh Glorot-uniform initialisation from ``seed``); see ``train``."""
        tf = self.tf
        # Every random number of a run (initialisation, shuffles) comes from this generator.
        epochs = self.cfg["epochs"] if epochs is None else epochs
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7EA1]))
        if start is None:
            start = glorot_uniform_network(self.sizes, self.activation, rng)
        kernel_masks = [np.ones(k.shape, np.float32) if masks is None else np.asarray(m, np.float32)
                        for k, m in zip(start.kernels, masks or [None] * self.n_layers)]
        # np.where, not a product: a negative weight times 0 would be -0.0.
        kernels0 = [np.where(m != 0, np.asarray(k, np.float32), np.float32(0))
                    for k, m in zip(start.kernels, kernel_masks)]
        biases0 = [np.asarray(b, np.float32) for b in start.biases]
        for variable, value in zip(self.params, [a for pair in zip(kernels0, biases0) for a in pair]):
            variable.assign(value)
        for variable, value in zip(self.masks, kernel_masks):
            variable.assign(value)
        initial_slot = float(self.cfg.get("initial_accumulator_value", 0.0)) if self.opt.name == "adagrad" else 0.0
        for group in self.slots:
            for slot in group:
                slot.assign(tf.fill(slot.shape, initial_slot))
        self.step.assign(0)
        self.learning_rate.assign(self.cfg["learning_rate"] if learning_rate is None else learning_rate)

        snapshots = [(kernels0, biases0)]
        history = {key: [] for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        epoch_seconds = []
        started = time.perf_counter()
        for epoch in range(epochs):
            epoch_started = time.perf_counter()
            order = rng.permutation(self.n_fit) if self.cfg["shuffle"] else np.arange(self.n_fit)
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

        kernels = [np.stack([k[l] for k, _ in snapshots]) for l in range(self.n_layers)]
        biases = [np.stack([b[l] for _, b in snapshots]) for l in range(self.n_layers)]
        result = {key: np.asarray(values) for key, values in history.items()}
        result["test_accuracy"] = np.array([
            forward.accuracy(Network([k[e] for k in kernels], [b[e] for b in biases], self.activation),
                             self.x_test, self.y_test)
            for e in range(len(snapshots))
        ])
        # The first epoch of the first run includes tracing the loop into a graph (about 1-2 s).
        summary = {"fit_seconds": fit_seconds, "seconds_per_epoch": fit_seconds / max(epochs, 1),
                   "optimizer": self.opt.name, "first_epoch_seconds": epoch_seconds[0] if epoch_seconds else 0.0,
                   "steady_seconds_per_epoch": float(np.median(epoch_seconds[1:])) if epochs > 1 else None}
        return kernels, biases, result, summary


def train(x_train, y_train, x_test, y_test, network_cfg: dict, training_cfg: dict, seed: int, threads: int = 1,
          start: Network | None = None, masks: list[np.ndarray] | None = None):
    """Train one network with the compiled loop; return (kernels, biases, history, summary).

    ``kernels[l]`` is (epochs + 1, n_in, n_out) and ``biases[l]`` (epochs + 1, n_out); index 0
    is the starting point (a fresh Glorot-uniform initialisation from ``seed``, or ``start``),
    index e the parameters after epoch e. ``masks`` (one 0/1 array per kernel) holds the
    masked weights fixed at exactly 0: they start at 0 and their gradients are masked, so
    no optimizer moves them. ``history`` has per-epoch loss, accuracy, val_loss,
    val_accuracy and the test accuracy at every stored epoch (numpy forward pass). The
    same seed gives byte-identical results on the same machine. To train several networks
    on the same data, build one ``CompiledTrainer`` and call its ``run``.
    """
    trainer = CompiledTrainer(x_train, y_train, x_test, y_test, network_cfg, training_cfg, threads)
    return trainer.run(seed, start=start, masks=masks)


def train_keras_fit(x_train, y_train, x_test, y_test, network_cfg: dict, training_cfg: dict, seed: int,
                    threads: int = 1, steps_per_execution: int = 256):
    """The previous training path, Keras' ``model.fit``: kept as the benchmark's and tests' reference.

    Same return value as ``train``; ``steps_per_execution`` batches per call into TensorFlow.

    ``kernels[l]`` is (epochs + 1, n_in, n_out) and ``biases[l]`` (epochs + 1, n_out);
    index 0 is the true initialisation, index e the parameters after epoch e.
    """
    configure_determinism(seed, threads)
    import keras

    model = build_model(x_train.shape[1], network_cfg["hidden_layers"], network_cfg["activation"])
    model.compile(
        optimizer=make_optimizer(training_cfg),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        # Runs this many batches per call into TensorFlow: the same updates, far less Python overhead.
        steps_per_execution=steps_per_execution,
    )
    snapshots = [model.get_weights()]

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    started = time.perf_counter()
    fit = model.fit(
        x_train,
        keras.utils.to_categorical(y_train, 10),
        epochs=training_cfg["epochs"],
        batch_size=training_cfg["batch_size"],
        validation_split=training_cfg["validation_split"],
        shuffle=training_cfg["shuffle"],
        callbacks=[Snapshot()],
        verbose=2,
    )
    fit_seconds = time.perf_counter() - started
    _, keras_test_accuracy = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)

    kernels = [np.stack([snap[2 * l] for snap in snapshots]) for l in range(len(snapshots[0]) // 2)]
    biases = [np.stack([snap[2 * l + 1] for snap in snapshots]) for l in range(len(snapshots[0]) // 2)]
    history = {key: np.asarray(values) for key, values in fit.history.items()}
    # Test accuracy after every epoch, with the numpy forward pass (cheap next to model.evaluate).
    history["test_accuracy"] = np.array([
        forward.accuracy(Network([k[e] for k in kernels], [b[e] for b in biases], network_cfg["activation"]),
                         x_test, y_test)
        for e in range(len(snapshots))
    ])
    summary = {"keras_test_accuracy": float(keras_test_accuracy), "fit_seconds": fit_seconds,
               "seconds_per_epoch": fit_seconds / training_cfg["epochs"]}
    return kernels, biases, history, summary
