"""Typed layers: what a network is made of, each knowing its shapes, fans, FLOPs and forward step.

A network is an input shape and a list of layers (``LayerStack``). Each layer type is one class
registered in ``LAYER_TYPES`` by the name a config's ``network.layers`` entry gives as ``type``;
it answers, for the shape of one example entering it:

- ``output_shape``: the shape of one example leaving it;
- ``parameter_shapes``: its parameters by kind (``kernel``, ``bias``; none for pool and flatten),
  kernels in Keras' axis order ((n_in, n_out) dense, (height, width, in, out) conv);
- ``fans``: (fan_in, fan_out) for the initialisers, as Keras counts them;
- ``multiply_adds``: the multiply-adds of one example, optionally with only some kernel
  entries nonzero (a pruned kernel: a conv weight costs one per output position);
- ``forward``: the numpy step on a batch (batch first, channels last, as Keras);
- ``tensorflow``: the same step in TensorFlow, for the training loops (``tf`` is passed in).

A new layer type is one new class here. This module never imports TensorFlow.

Why our own: Keras' layers know all of this but need TensorFlow to exist; the store, the
evaluator, the size check and the FLOPs tables run without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .activations import ACTIVATIONS, activation_function, tensorflow_activation
from .errors import InputError, shown
from .registry import lookup

Shape = tuple[int, ...]  # one example: (features,) or (height, width, channels)
PADDINGS = ("valid", "same")


def _spatial(shape: Shape, where: str, layer: "Layer") -> tuple[int, int, int]:
    if len(shape) != 3:
        raise InputError(f"{where}: a {layer.type} layer needs (height, width, channels) input, "
                         f"got {shape} (put it before a flatten layer)")
    return shape


def _window_output(size: int, window: int, stride: int, padding: str) -> int:
    """Output length of a sliding window along one axis (TensorFlow's rule)."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1 if size >= window else 0


def _same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis: the odd pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, window: int, stride: int) -> np.ndarray:
    """(batch, out_h, out_w, channels, window, window) views of ``x``'s windows."""
    view = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(1, 2))
    return view[:, ::stride, ::stride]


@dataclass(frozen=True)
class Layer:
    """Base of every layer type: ``type`` is its name in ``LAYER_TYPES`` and in config files."""

    type: ClassVar[str]
    prefix: ClassVar[str]  # how its layers are named in tables and figures: conv1, fc2, ...
    has_parameters: ClassVar[bool] = False
    required: ClassVar[tuple[str, ...]] = ()  # the keys a config entry must give

    def output_shape(self, shape: Shape, where: str = "network.layers") -> Shape:
        raise NotImplementedError

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        return {}

    def fans(self, shape: Shape) -> tuple[int, int]:
        return 0, 0

    def multiply_adds(self, shape: Shape, nonzero_kernel: int | None = None) -> int:
        return 0

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def tensorflow(self, tf, x, params: dict):
        raise NotImplementedError

    def describe(self) -> str:
        return self.type

    def record(self) -> dict:
        """The layer as a ``network.layers`` entry (``from_config`` reads it back)."""
        return {"type": self.type, **{f.name: getattr(self, f.name) for f in fields(self)
                                      if getattr(self, f.name) is not None}}

    @classmethod
    def from_config(cls, entry: dict, where: str) -> "Layer":
        """The layer an entry of ``network.layers`` describes; unknown or bad keys name ``where``."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(entry) - set(known) - {"type"})
        if unknown:
            raise InputError(f"{where}.{unknown[0]}: not a key of a {cls.type} layer "
                             f"(its keys: {', '.join(known) or 'none'})")
        missing = [name for name in cls.required if name not in entry]
        if missing:
            raise InputError(f"{where}.{missing[0]}: a {cls.type} layer needs it")
        values = {}
        for name in known:
            if name not in entry:
                continue
            value = entry[name]
            if name == "activation":
                lookup(ACTIVATIONS, value, key=f"{where}.activation")
            elif name == "padding":
                if value not in PADDINGS:
                    raise InputError(f"{where}.padding: {shown(value)} is not a padding ({' or '.join(PADDINGS)})")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{where}.{name}: {shown(value)} is not a whole number >= 1")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class Dense(Layer):
    """A fully connected layer: ``x @ kernel + bias``, then ``activation``."""

    units: int = None  # type: ignore[assignment]
    activation: str = "linear"
    type: ClassVar[str] = "dense"
    prefix: ClassVar[str] = "fc"
    required: ClassVar[tuple[str, ...]] = ("units",)
    has_parameters: ClassVar[bool] = True

    def output_shape(self, shape, where="network.layers"):
        if len(shape) != 1:
            raise InputError(f"{where}: a dense layer needs flat input, got {shape} (put a flatten layer before it)")
        return (self.units,)

    def parameter_shapes(self, shape):
        return {"kernel": (shape[0], self.units), "bias": (self.units,)}

    def fans(self, shape):
        return shape[0], self.units

    def multiply_adds(self, shape, nonzero_kernel=None):
        return shape[0] * self.units if nonzero_kernel is None else int(nonzero_kernel)

    def forward(self, x, params):
        return activation_function(self.activation)(x @ params["kernel"] + params["bias"])

    def tensorflow(self, tf, x, params):
        out = tf.matmul(x, params["kernel"]) + params["bias"]
        return out if self.activation == "linear" else tensorflow_activation(tf, self.activation)(out)

    def describe(self):
        return f"dense {self.units}" + ("" if self.activation == "linear" else f" {self.activation}")


@dataclass(frozen=True)
class Conv2D(Layer):
    """A 2-D convolution (cross-correlation, as Keras): ``filters`` kernels of
    ``kernel_size`` x ``kernel_size`` over every input channel, moved by ``stride``."""

    filters: int = None  # type: ignore[assignment]
    kernel_size: int = None  # type: ignore[assignment]
    stride: int = 1
    padding: str = "valid"
    activation: str = "linear"
    type: ClassVar[str] = "conv2d"
    prefix: ClassVar[str] = "conv"
    required: ClassVar[tuple[str, ...]] = ("filters", "kernel_size")
    has_parameters: ClassVar[bool] = True

    def output_shape(self, shape, where="network.layers"):
        height, width, _ = _spatial(shape, where, self)
        if self.padding == "valid" and self.kernel_size > min(height, width):
            raise InputError(f"{where}.kernel_size: {self.kernel_size} is larger than its {height}x{width} input")
        return (_window_output(height, self.kernel_size, self.stride, self.padding),
                _window_output(width, self.kernel_size, self.stride, self.padding), self.filters)

    def parameter_shapes(self, shape):
        return {"kernel": (self.kernel_size, self.kernel_size, shape[2], self.filters), "bias": (self.filters,)}

    def fans(self, shape):
        # Keras: the receptive field times the input (fan_in) or output (fan_out) channels
        field = self.kernel_size * self.kernel_size
        return field * shape[2], field * self.filters

    def multiply_adds(self, shape, nonzero_kernel=None):
        # every kernel entry meets one input per output position (padding zeros counted, as Caffe's)
        height, width, _ = self.output_shape(shape)
        entries = math.prod(self.parameter_shapes(shape)["kernel"]) if nonzero_kernel is None else int(nonzero_kernel)
        return entries * height * width

    def forward(self, x, params):
        kernel = params["kernel"]
        if self.padding == "same":
            (top, bottom), (left, right) = (_same_padding(x.shape[axis], self.kernel_size, self.stride)
                                            for axis in (1, 2))
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        windows = _windows(x, self.kernel_size, self.stride)  # (n, oh, ow, c, kh, kw)
        n, out_h, out_w = windows.shape[:3]
        # (kh, kw, c) rows, the kernel's own axis order, so one matrix product does every position
        columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_h * out_w, -1)
        out = columns @ kernel.reshape(-1, self.filters) + params["bias"]
        return activation_function(self.activation)(out.reshape(n, out_h, out_w, self.filters))

    def tensorflow(self, tf, x, params):
        out = tf.nn.conv2d(x, params["kernel"], self.stride, self.padding.upper()) + params["bias"]
        return out if self.activation == "linear" else tensorflow_activation(tf, self.activation)(out)

    def describe(self):
        text = f"conv {self.filters}@{self.kernel_size}x{self.kernel_size}"
        text += f" stride {self.stride}" if self.stride != 1 else ""
        text += f" {self.padding}" if self.padding != "valid" else ""
        return text + ("" if self.activation == "linear" else f" {self.activation}")


@dataclass(frozen=True)
class MaxPool2D(Layer):
    """The maximum of each ``size`` x ``size`` window, moved by ``stride`` (valid padding, as Caffe's)."""

    size: int = None  # type: ignore[assignment]
    stride: int | None = None  # None: the pool's size (windows that do not overlap)
    type: ClassVar[str] = "max_pool"
    prefix: ClassVar[str] = "pool"
    required: ClassVar[tuple[str, ...]] = ("size",)

    @property
    def step(self) -> int:
        return self.stride or self.size

    def output_shape(self, shape, where="network.layers"):
        height, width, channels = _spatial(shape, where, self)
        out = (_window_output(height, self.size, self.step, "valid"), _window_output(width, self.size, self.step, "valid"))
        if min(out) < 1:
            raise InputError(f"{where}.size: a {self.size}x{self.size} pool leaves a 0-size map of its "
                             f"{height}x{width} input")
        return (*out, channels)

    def forward(self, x, params):
        return _windows(x, self.size, self.step).max(axis=(-2, -1))

    def tensorflow(self, tf, x, params):
        return tf.nn.max_pool2d(x, self.size, self.step, "VALID")

    def describe(self):
        return f"max-pool {self.size}/{self.step}"


@dataclass(frozen=True)
class Flatten(Layer):
    """(height, width, channels) to one vector, row-major (Keras' order)."""

    type: ClassVar[str] = "flatten"
    prefix: ClassVar[str] = "flatten"

    def output_shape(self, shape, where="network.layers"):
        return (math.prod(shape),)

    def forward(self, x, params):
        return x.reshape(len(x), -1)

    def tensorflow(self, tf, x, params):
        return tf.reshape(x, (tf.shape(x)[0], -1))


# Layer types by the name a ``network.layers`` entry gives as ``type``.
LAYER_TYPES: dict[str, type[Layer]] = {cls.type: cls for cls in (Dense, Conv2D, MaxPool2D, Flatten)}


@dataclass(frozen=True)
class LayerStack:
    """A network's input shape (one example) and its layers, the output layer last.

    ``parameterised`` lists the layers that hold parameters: the disturbance scopes, the
    pruning layers and the store's layer groups are these, numbered 0, 1, ... and named by
    type (conv1, conv2, fc1, fc2 for LeNet-5).
    """

    input_shape: Shape
    layers: tuple[Layer, ...]

    @property
    def shapes(self) -> list[Shape]:
        """The shape entering each layer, then the output's."""
        shapes = [tuple(self.input_shape)]
        for index, layer in enumerate(self.layers):
            shapes.append(layer.output_shape(shapes[-1], f"network.layers[{index}]"))
        return shapes

    @property
    def parameterised(self) -> list[int]:
        """Indices in ``layers`` of the layers holding parameters."""
        return [i for i, layer in enumerate(self.layers) if layer.has_parameters]

    @property
    def names(self) -> list[str]:
        """Each parameterised layer's name: its type's prefix and its number among that type."""
        counts: dict[str, int] = {}
        names = []
        for i in self.parameterised:
            prefix = self.layers[i].prefix
            counts[prefix] = counts.get(prefix, 0) + 1
            names.append(f"{prefix}{counts[prefix]}")
        return names

    def parameter_shapes(self) -> list[dict[str, Shape]]:
        """Per parameterised layer: its parameter shapes by kind."""
        shapes = self.shapes
        return [self.layers[i].parameter_shapes(shapes[i]) for i in self.parameterised]

    def fans(self) -> list[tuple[int, int]]:
        shapes = self.shapes
        return [self.layers[i].fans(shapes[i]) for i in self.parameterised]

    @property
    def n_weights(self) -> int:
        return sum(math.prod(p["kernel"]) for p in self.parameter_shapes())

    @property
    def n_biases(self) -> int:
        return sum(math.prod(p["bias"]) for p in self.parameter_shapes())

    def multiply_adds(self, nonzero_kernels: list[int] | None = None) -> list[int]:
        """Per parameterised layer: multiply-adds of one example (``nonzero_kernels``: a pruned network's
        nonzero kernel entries per layer). FLOPs, as Han et al. count them, are twice these."""
        shapes = self.shapes
        nonzero = nonzero_kernels or [None] * len(self.parameterised)
        return [self.layers[i].multiply_adds(shapes[i], n) for i, n in zip(self.parameterised, nonzero)]

    def flops(self, nonzero_kernels: list[int] | None = None) -> int:
        """FLOPs of one example's forward pass that a sparse implementation cannot skip: a multiply
        and an add per multiply-add, and an add per bias per output position. Activations, pools
        and the softmax are not counted (as ShrinkBench and Han et al. count)."""
        shapes = self.shapes
        bias_adds = sum(math.prod(shapes[i + 1]) for i in self.parameterised)
        return 2 * sum(self.multiply_adds(nonzero_kernels)) + bias_adds

    def forward(self, x: np.ndarray, params: list[dict[str, np.ndarray]], start: int = 0,
                stop: int | None = None) -> np.ndarray:
        """The output of ``layers[start:stop]`` (default: the logits) for ``x``, the batch entering
        ``layers[start]`` (at 0: rows of pixels, any shape that reshapes to (n, *input_shape));
        ``params`` per parameterised layer of the whole stack."""
        if len(params) != len(self.parameterised):
            raise ValueError(f"{len(params)} parameter sets for {len(self.parameterised)} parameterised layers")
        given = iter(params[sum(1 for i in self.parameterised if i < start):])
        x = np.asarray(x, np.float32)
        if start == 0:
            x = x.reshape(-1, *self.input_shape)  # flat pixel rows to images
        for layer in self.layers[start:stop]:
            x = layer.forward(x, next(given) if layer.has_parameters else {})
        return x

    def tensorflow(self, tf, x, params: list[dict]):
        """``forward`` in TensorFlow: the logits of a batch ``x``, ``params`` per parameterised layer."""
        given = iter(params)
        if len(self.input_shape) > 1:
            x = tf.reshape(x, (-1, *self.input_shape))  # flat pixel rows to images
        for layer in self.layers:
            x = layer.tensorflow(tf, x, next(given) if layer.has_parameters else {})
        return x

    def describe(self) -> str:
        return ", ".join(layer.describe() for layer in self.layers)

    def record(self) -> list[dict]:
        """The layer list as ``network.layers`` entries."""
        return [layer.record() for layer in self.layers]


def mlp_layers(hidden_layers: list[int], activation: str, n_classes: int) -> tuple[Layer, ...]:
    """The MLP shorthand (``network.hidden_layers`` + ``activation``) as a layer list."""
    return (*(Dense(int(width), activation) for width in hidden_layers), Dense(int(n_classes)))


def layers_from_config(entries, n_classes: int, input_shape: Shape, key: str = "network.layers") -> LayerStack:
    """The layer list of a config, checked against its input and class count; a bad entry names its key."""
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{key}: {shown(entries)} is not a list of layers")
    layers = []
    for index, entry in enumerate(entries):
        where = f"{key}[{index}]"
        if not isinstance(entry, dict) or "type" not in entry:
            raise InputError(f"{where}: {shown(entry)} is not a layer (a mapping with a type: {', '.join(LAYER_TYPES)})")
        layer_type = lookup(LAYER_TYPES, entry["type"], key=f"{where}.type")
        layers.append(layer_type.from_config(entry, where))
    stack = LayerStack(tuple(input_shape), tuple(layers))
    output = stack.shapes[-1]
    last = layers[-1]
    if not isinstance(last, Dense) or output != (n_classes,):
        raise InputError(f"{key}[{len(layers) - 1}]: the last layer must be dense with {n_classes} units "
                         f"(one per class), not {last.describe()}")
    if last.activation != "linear":
        raise InputError(f"{key}[{len(layers) - 1}].activation: the output layer has none "
                         f"(training adds the softmax to the loss), not {last.activation}")
    return stack
