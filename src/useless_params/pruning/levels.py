"""The state of one level of an iterative chain: its mask and its trained weights, one small
HDF5 file with HDF5's Fletcher-32 checksum on every dataset (verified on every read, as the
weight store), and the chain's identity, checked against the path that reads it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import REBUILD, InputError
from ..fileio import atomic_path
from ..model import Architecture, Network
from .job import JobIdentity
from .masks import Mask

FORMAT = "useless-params-level"
FORMAT_VERSION = 2  # 2: the architecture as a layer list (attribute architecture)


@dataclass
class LevelState:
    """Level ``level`` of ``chain``: the mask it trained with and the trained weights (level 0:
    the dense mask and the trained dense network)."""

    level: int
    mask: Mask
    network: Network

    def save(self, path: str | os.PathLike, chain: JobIdentity) -> None:
        import h5py

        with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs["format"], h5.attrs["format_version"] = FORMAT, FORMAT_VERSION
            h5.attrs["identity"] = json.dumps({**chain.identity(), "level": self.level}, sort_keys=True)
            h5.attrs["architecture"] = json.dumps(self.network.architecture.record(), sort_keys=True)
            for layer, (m, k, b) in enumerate(zip(self.mask.layers, self.network.kernels, self.network.biases)):
                # HDF5's Fletcher-32 checksum on every dataset, verified on every read (as the weight store).
                h5.create_dataset(f"layer_{layer}/mask", data=np.asarray(m, np.uint8), fletcher32=True)
                h5.create_dataset(f"layer_{layer}/kernel", data=np.asarray(k, np.float32), fletcher32=True)
                h5.create_dataset(f"layer_{layer}/bias", data=np.asarray(b, np.float32), fletcher32=True)

    @classmethod
    def load(cls, path: str | os.PathLike, chain: JobIdentity, level: int) -> "LevelState":
        """Read and check a state file: format, checksums, and that it is ``level`` of ``chain``."""
        import h5py

        path = Path(path)
        expected = {**chain.identity(), "level": level}
        try:
            with h5py.File(path, "r") as h5:
                if h5.attrs.get("format") != FORMAT or h5.attrs.get("format_version") != FORMAT_VERSION:
                    raise InputError(f"{path}: not a {FORMAT} file version {FORMAT_VERSION}; {REBUILD}")
                identity = json.loads(h5.attrs["identity"])
                if identity != expected:
                    wrong = sorted(k for k in expected if identity.get(k) != expected[k])
                    raise InputError(f"{path}: holds {', '.join(f'{k} {identity.get(k)!r}' for k in wrong)}, "
                                     f"the path says {', '.join(f'{k} {expected[k]!r}' for k in wrong)}; {REBUILD}")
                architecture = Architecture.from_record(json.loads(h5.attrs["architecture"]), f"{path}: architecture")
                layers = [h5[f"layer_{l}"] for l in range(architecture.n_layers)]
                if any(not d.fletcher32 for g in layers for d in g.values()):
                    raise InputError(f"{path}: a dataset has no checksum; {REBUILD}")
                masks = tuple(g["mask"][()].astype(bool) for g in layers)
                kernels = [g["kernel"][()] for g in layers]
                biases = [g["bias"][()] for g in layers]
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: damaged level file ({exc}); {REBUILD}") from exc
        for l, (m, k) in enumerate(zip(masks, kernels)):
            if m.shape != architecture.kernel_shape(l) or k.shape != m.shape or np.count_nonzero(k[~m]):
                raise InputError(f"{path}: layer {l}'s kernel and mask disagree; {REBUILD}")
        return cls(level, Mask(masks), Network(kernels, biases, architecture))



def dense_state(trained: Network) -> LevelState:
    """Level 0: the trained dense network with every weight kept."""
    return LevelState(0, Mask.dense([k.shape for k in trained.kernels]), trained)
