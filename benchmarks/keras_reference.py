"""Keras references the benchmark (and the evaluator's tests) compare the workflow with.

``train_keras_fit`` is the previous training path (Keras' ``model.fit`` with Keras 1's Adagrad),
``model_from_network`` a Keras model holding a network's parameters (``model.evaluate`` /
``model.predict`` as the article ran them). The workflow itself never calls Keras for training
or evaluation: this module lives beside the benchmark, outside the package.
"""

from __future__ import annotations

import time

import numpy as np

from useless_params import forward
from useless_params.layers import Conv2D, Flatten, LayerStack, MaxPool2D
from useless_params.model import Architecture, Network
from useless_params.optimizers import optimizer
from useless_params.training import configure_determinism


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
    optimizer(cfg["optimizer"])  # the registry's error for an unknown name (useless_params.optimizers)
    return factories[cfg["optimizer"]]()


def build_model(n_inputs: int, hidden_layers: list[int], activation: str, n_classes: int = 10):
    """Dense layers with Glorot-uniform kernels and zero biases (Keras 1's defaults), softmax output."""
    import keras

    layers = [keras.Input(shape=(n_inputs,))]
    for width in hidden_layers:
        layers.append(keras.layers.Dense(width, activation=activation))
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers)


def keras_model(stack: LayerStack, output_activation: str = "softmax"):
    """The Keras model of a layer list (softmax on the output by default, which cannot change the
    arg-max; "linear" for the logits): the reference our numpy and TensorFlow steps are checked against."""
    import keras

    def keras_layer(layer):
        if isinstance(layer, Conv2D):
            return keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.stride, padding=layer.padding,
                                       activation=layer.activation)
        if isinstance(layer, MaxPool2D):
            return keras.layers.MaxPooling2D(layer.size, strides=layer.step)
        if isinstance(layer, Flatten):
            return keras.layers.Flatten()
        return keras.layers.Dense(layer.units, activation=layer.activation)

    *hidden, output = stack.layers
    return keras.Sequential([keras.Input(stack.input_shape), *map(keras_layer, hidden),
                             keras.layers.Dense(output.units, activation=output_activation)])


def model_from_network(network: Network):
    """A Keras model holding ``network``'s parameters (used to check the numpy evaluator); it takes
    the rows our data pipeline gives (flat pixels) for any layer list."""
    import keras

    stack = network.architecture.stack
    model = keras_model(stack)
    model.set_weights([w for pair in zip(network.kernels, network.biases) for w in pair])
    if len(stack.input_shape) == 1:
        return model
    flat = keras.Input((int(np.prod(stack.input_shape)),))
    return keras.Model(flat, model(keras.layers.Reshape(stack.input_shape)(flat)))


def train_keras_fit(x_train, y_train, x_test, y_test, network_cfg: dict, training_cfg: dict, seed: int,
                    threads: int = 1, steps_per_execution: int = 256):
    """The previous training path, Keras' ``model.fit``: kept as the benchmark's reference.

    Same return value as ``training.train``; ``steps_per_execution`` batches per call into TensorFlow.

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
    architecture = Architecture.mlp((x_train.shape[1], *network_cfg["hidden_layers"], 10), network_cfg["activation"])
    # Test accuracy after every epoch, with the numpy forward pass (cheap next to model.evaluate).
    history["test_accuracy"] = np.array([
        forward.accuracy(Network.at_epoch(kernels, biases, e, architecture), x_test, y_test)
        for e in range(len(snapshots))
    ])
    summary = {"keras_test_accuracy": float(keras_test_accuracy), "fit_seconds": fit_seconds,
               "seconds_per_epoch": fit_seconds / training_cfg["epochs"]}
    return kernels, biases, history, summary
