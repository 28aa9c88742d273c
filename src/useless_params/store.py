"""The HDF5 weight store: every parameter of one trained network at every epoch.

Layout (readable with h5py alone; documented in the README):

    /                          attrs: format, format_version, architecture (JSON: input_shape, layers,
                                      initializer), output_activation, epochs, seed,
                                      final_test_accuracy, config (JSON)
    /layers/layer_<l>/kernel   float32 (epochs + 1, *kernel shape)   index 0 = true initialisation
    /layers/layer_<l>/bias     float32 (epochs + 1, n_out)

Layer l is the l-th parameterised layer of ``architecture.layers`` (dense or conv2d); kernels
are in Keras' axis order: dense (n_in, n_out), conv2d (kernel height, kernel width, input
channels, filters).
    /history/<metric>          float64 (epochs,) per-epoch loss, accuracy, val_loss, val_accuracy
    /history/test_accuracy     float64 (epochs + 1,) test accuracy at every stored epoch

Every dataset carries HDF5's Fletcher-32 checksum (one chunk per epoch), which HDF5 itself
verifies on every read: a same-size, in-place corruption of the parameters (zeros written
into the file) fails the read of the damaged epoch instead of feeding wrong weights to
every downstream job. HDF5's own filter is used rather than a checksum of ours because
every HDF5 reader (h5py, h5dump, MATLAB) then checks it too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from .errors import REBUILD, InputError
from .fileio import atomic_path
from .model import Architecture, Network

FORMAT = "useless-params-weights"
FORMAT_VERSION = 3  # 2: every dataset Fletcher-32 checksummed; 3: the architecture as a layer list


def write_store(
    path: str | os.PathLike,
    architecture: Architecture,
    kernels: list[np.ndarray],
    biases: list[np.ndarray],
    history: dict[str, np.ndarray],
    attrs: dict,
) -> None:
    """Write a store atomically. ``kernels[l]`` is (epochs + 1, *kernel shape); ``biases[l]`` (epochs + 1, n_out),
    in the shapes ``architecture`` gives (recorded as the ``architecture`` attribute)."""
    if len(kernels) != architecture.n_layers:
        raise ValueError(f"{len(kernels)} kernels for {architecture.n_layers} parameterised layers")
    for layer, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
        if (np.shape(kernel)[1:], np.shape(bias)[1:]) != (architecture.kernel_shape(layer),
                                                         architecture.bias_shape(layer)):
            raise ValueError(f"layer {layer}: kernel {np.shape(kernel)} and bias {np.shape(bias)} are not "
                             f"the shapes of {architecture.stack.describe()}")
    attrs = {"architecture": architecture.record(), "output_activation": "softmax", **attrs}
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["format"] = FORMAT
            h5.attrs["format_version"] = FORMAT_VERSION
            for key, value in attrs.items():
                h5.attrs[key] = json.dumps(value) if isinstance(value, dict) else value
            for layer, (kernel, bias) in enumerate(zip(kernels, biases)):
                group = h5.create_group(f"layers/layer_{layer}")
                for name, array in (("kernel", kernel), ("bias", bias)):
                    array = np.asarray(array, dtype=np.float32)
                    # One chunk per epoch: a job reads (and checksums) only the epochs it uses.
                    group.create_dataset(name, data=array, chunks=(1, *array.shape[1:]), fletcher32=True)
            for key, values in history.items():
                h5.create_dataset(f"history/{key}", data=np.asarray(values, dtype=np.float64), fletcher32=True)


class WeightStore:
    """Read access to a weight store; opening validates its layout and names the file on any damage.

    Parameters are read per epoch on demand, so a job that needs one epoch reads one epoch.
    """

    def __init__(self, path: str | os.PathLike, expected: Architecture | dict | None = None):
        """``expected``: the architecture (or its ``record()``) the config describes; a store of other
        layers is refused, naming the file (``check_architecture``)."""
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such weight store")
        with self._open() as h5:
            if h5.attrs.get("format") != FORMAT:
                raise InputError(f"{self.path}: not a {FORMAT} HDF5 store (attribute 'format' missing)")
            if h5.attrs.get("format_version") != FORMAT_VERSION:
                raise InputError(f"{self.path}: weight store format_version {h5.attrs.get('format_version')}, "
                                 f"expected {FORMAT_VERSION} (written by another version); {REBUILD}")
            try:
                self.attrs = {k: _plain(v) for k, v in h5.attrs.items()}
                self.n_layers = len(h5["layers"])
                shapes = [(h5[f"layers/layer_{l}/kernel"].shape, h5[f"layers/layer_{l}/bias"].shape)
                          for l in range(self.n_layers)]
                self.history = {k: h5[f"history/{k}"][()] for k in h5.get("history", {})}
                unchecked = [name for name, obj in _datasets(h5) if not obj.fletcher32]
            except (OSError, KeyError, ValueError) as exc:
                raise InputError(f"{self.path}: damaged weight store ({exc}); {REBUILD}") from exc
            if unchecked:
                raise InputError(f"{self.path}: damaged weight store (dataset {unchecked[0]} has no checksum); {REBUILD}")
        if not shapes:
            raise InputError(f"{self.path}: damaged weight store (no layers)")
        self.n_epochs = shapes[0][0][0] - 1
        try:
            self.architecture = Architecture.from_record(json.loads(self.attrs["architecture"]),
                                                         f"{self.path}: attribute architecture")
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{self.path}: damaged weight store (architecture {exc}); {REBUILD}") from exc
        described = self.architecture.stack.describe()
        if self.architecture.n_layers != self.n_layers:
            raise InputError(f"{self.path}: {self.n_layers} layers stored but its architecture ({described}) "
                             f"has {self.architecture.n_layers}")
        for layer, (kernel, bias) in enumerate(shapes):
            # The shapes the architecture gives, with one leading entry per stored epoch.
            want_kernel = (self.n_epochs + 1, *self.architecture.kernel_shape(layer))
            want_bias = (self.n_epochs + 1, *self.architecture.bias_shape(layer))
            if kernel != want_kernel or bias != want_bias:
                raise InputError(f"{self.path}: layer_{layer} kernel {kernel} and bias {bias} do not match "
                                 f"its architecture ({described}; expected {want_kernel} and {want_bias})")
        if expected is not None:
            self.check_architecture(expected if isinstance(expected, Architecture) else Architecture.from_record(expected))

    def check_architecture(self, expected: Architecture) -> None:
        """Refuse a store whose layers are not the ones the config describes (naming the file)."""
        def described(architecture: Architecture) -> str:
            return f"{architecture.stack.describe()} ({architecture.initializer})"

        if self.architecture != expected:
            raise InputError(f"{self.path}: holds {described(self.architecture)}, but the config describes "
                             f"{described(expected)}; {REBUILD}")

    def _open(self) -> h5py.File:
        try:
            return h5py.File(self.path, "r")
        except OSError as exc:
            raise InputError(f"{self.path}: damaged weight store ({exc}); {REBUILD}") from exc

    @property
    def config(self) -> dict:
        return json.loads(self.attrs.get("config", "{}"))

    def resolve_epoch(self, epoch: int) -> int:
        """Map a negative epoch (-1 = last) to its index; reject epochs the store does not hold."""
        resolved = self.n_epochs + 1 + epoch if epoch < 0 else epoch
        if not 0 <= resolved <= self.n_epochs:
            raise InputError(f"{self.path}: epoch {epoch} not stored (epochs 0..{self.n_epochs})")
        return resolved

    def network(self, epoch: int = -1) -> Network:
        e = self.resolve_epoch(epoch)
        with self._open() as h5:
            try:
                kernels = [h5[f"layers/layer_{l}/kernel"][e] for l in range(self.n_layers)]
                biases = [h5[f"layers/layer_{l}/bias"][e] for l in range(self.n_layers)]
            except (OSError, KeyError, ValueError) as exc:
                # HDF5 reports a checksum mismatch as "filter returned failure during read".
                raise InputError(f"{self.path}: damaged weight store (epoch {e}: {exc}); {REBUILD}") from exc
        return Network(kernels, biases, self.architecture)


def _datasets(h5: h5py.Group) -> list[tuple[str, h5py.Dataset]]:
    """Every dataset below ``h5``, with its path."""
    found = []
    h5.visititems(lambda name, obj: found.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
    return found


def _plain(value):
    """h5py attributes as plain Python values."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
