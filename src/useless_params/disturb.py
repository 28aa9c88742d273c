"""The article's disturbances: select by change scale, shuffle, reset.

All functions return new arrays and never modify their inputs. "Pooled" means the
selected values of several arrays are treated as one sequence, as the article's
"all layers" scope does.
"""

from __future__ import annotations

import numpy as np


def select(scale: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of parameters with change scale c <= T. Infinite scales are never selected."""
    return np.isfinite(scale) & (scale <= threshold)


def shuffle_selected(arrays: list[np.ndarray], masks: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Permute the selected values of all arrays among the selected positions (pooled)."""
    pooled = np.concatenate([a[m] for a, m in zip(arrays, masks)])
    return _scatter(arrays, masks, rng.permutation(pooled))


def uniform_below(n: int, upper: float, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """n draws from Uniform[0, upper), guaranteed < upper after rounding to ``dtype``; upper = 0 gives zeros."""
    if upper == 0:
        return np.zeros(n, dtype=dtype)
    values = (rng.random(n) * upper).astype(dtype)
    # Rounding to float32 can reach ``upper`` itself; the interval is half-open.
    return np.minimum(values, np.nextafter(dtype(upper), dtype(0)))


def reset_selected(
    arrays: list[np.ndarray], masks: list[np.ndarray], upper: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Replace the selected values by fresh draws from Uniform[0, upper) (zeros for upper = 0)."""
    n = sum(int(m.sum()) for m in masks)
    return _scatter(arrays, masks, uniform_below(n, upper, rng, arrays[0].dtype.type))


def _scatter(arrays: list[np.ndarray], masks: list[np.ndarray], values: np.ndarray) -> list[np.ndarray]:
    out, start = [], 0
    for array, mask in zip(arrays, masks):
        new = array.copy()
        count = int(mask.sum())
        new[mask] = values[start:start + count]
        start += count
        out.append(new)
    return out
