"""Per-parameter change scale between a reference epoch (w) and the final epoch (w').

    absolute = w' - w
    relative = (w' - w) / w * 100          (signed, percent)
    scale    = |relative|                   (the article's change scale c)

For w = 0 (every bias at initialisation) the ratio is undefined; the rule is:
w = 0 and w' = 0 gives relative = scale = 0 (nothing changed); w = 0 and w' != 0
gives relative = sign(w') * inf and scale = +inf (an unbounded change). No NaN is produced.
Infinite scales are never selected by a threshold (``c <= T`` with finite T).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .errors import REBUILD, InputError
from .fileio import atomic_path
from .model import KINDS, Network, scopes
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def change_statistics(reference: np.ndarray, final: np.ndarray) -> dict[str, np.ndarray]:
    """Absolute change, signed relative change (%) and change scale, elementwise, in float64."""
    w = np.asarray(reference, dtype=np.float64)
    w_new = np.asarray(final, dtype=np.float64)
    absolute = w_new - w
    relative = np.zeros_like(absolute)
    nonzero = w != 0
    relative[nonzero] = absolute[nonzero] / w[nonzero] * 100.0
    from_zero = ~nonzero & (absolute != 0)
    relative[from_zero] = np.sign(absolute[from_zero]) * np.inf
    return {"reference": w, "final": w_new, "absolute": absolute,
            "relative": relative, "scale": np.abs(relative)}


@dataclass
class ChangeScales:
    """Change statistics of every layer: ``stats[layer][kind][name]`` with kind in ``KINDS``."""

    stats: list[dict[str, dict[str, np.ndarray]]]
    reference_epoch: int
    final_epoch: int

    @classmethod
    def between(cls, before: Network, after: Network, reference_epoch: int, final_epoch: int) -> "ChangeScales":
        stats = [
            {"kernel": change_statistics(k0, k1), "bias": change_statistics(b0, b1)}
            for k0, k1, b0, b1 in zip(before.kernels, after.kernels, before.biases, after.biases)
        ]
        return cls(stats, reference_epoch, final_epoch)

    @property
    def n_layers(self) -> int:
        return len(self.stats)

    def scale(self, layer: int, kind: str) -> np.ndarray:
        return self.stats[layer][kind]["scale"]

    def save(self, path: str | os.PathLike) -> None:
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs["reference_epoch"] = self.reference_epoch
            h5.attrs["final_epoch"] = self.final_epoch
            for layer, kinds in enumerate(self.stats):
                for kind, values in kinds.items():
                    for name, array in values.items():
                        # HDF5's Fletcher-32 checksum, verified on every read (see store.py).
                        h5.create_dataset(f"layers/layer_{layer}/{kind}/{name}", data=array, fletcher32=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ChangeScales":
        path = Path(path)
        if not os.path.exists(path):
            raise InputError(f"{path}: no such change-scale file (made by the change_scale rule)")
        try:
            with h5py.File(path, "r") as h5:
                stats = []
                for layer in range(len(h5["layers"])):
                    group = h5[f"layers/layer_{layer}"]
                    stats.append({kind: {name: group[kind][name][()] for name in group[kind]} for kind in KINDS})
                    unchecked = [f"{kind}/{name}" for kind in KINDS for name in group[kind]
                                 if not group[kind][name].fletcher32]
                    if unchecked:
                        raise ValueError(f"dataset layer_{layer}/{unchecked[0]} has no checksum")
                return cls(stats, int(h5.attrs["reference_epoch"]), int(h5.attrs["final_epoch"]))
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: damaged change-scale file ({exc}); {REBUILD}") from exc

    def summary(self):
        """One row per layer and kind (a DataFrame): counts and quantiles of the finite change scales."""
        import pandas as pd  # here, not at the top: disturbance jobs load scales without pandas

        rows = []
        for layer, kinds in enumerate(self.stats):
            for kind in KINDS:
                s = kinds[kind]
                scale = s["scale"].ravel()
                finite = scale[np.isfinite(scale)]
                row = {
                    "layer": layer,
                    "kind": kind,
                    "count": scale.size,
                    "n_infinite": int(scale.size - finite.size),
                    "n_reference_zero": int(np.count_nonzero(s["reference"] == 0)),
                    "mean_absolute_change": float(np.mean(s["absolute"])),
                    "std_absolute_change": float(np.std(s["absolute"])),
                }
                for q in QUANTILES:
                    row[f"scale_q{round(q * 100):02d}"] = float(np.quantile(finite, q)) if finite.size else np.inf
                rows.append(row)
        return pd.DataFrame(rows)

    def selected_fractions(self, thresholds: list[float]):
        """Fraction of weights with c <= T for every layer and for all layers pooled (a DataFrame)."""
        import pandas as pd

        rows = []
        for scope, layers in scopes(self.n_layers):
            scale = np.concatenate([self.scale(layer, "kernel").ravel() for layer in layers])
            ordered = np.sort(scale)
            for t in thresholds:
                n = int(np.searchsorted(ordered, t, side="right"))
                rows.append({"scope": scope, "threshold": t, "n_selected": n,
                             "n_weights": scale.size, "fraction_selected": n / scale.size})
        return pd.DataFrame(rows)
