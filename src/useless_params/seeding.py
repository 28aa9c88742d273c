"""Random generators derived from the config seed and a job's identity.

A generator depends only on (seed, identity), never on job order, core count or
executor, so every result is byte-identical however the workflow is run.
"""

from __future__ import annotations

import hashlib

import numpy as np


def value_label(value: float) -> str:
    """Canonical text of a grid value, used in file names and seeds: 5 and 5.0 are both '5'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def generator(seed: int, *identity: object) -> np.random.Generator:
    """A PCG64 generator seeded by ``seed`` and a hash of the identity fields."""
    text = "|".join(value_label(x) if isinstance(x, float) else str(x) for x in identity)
    digest = np.frombuffer(hashlib.sha256(text.encode()).digest(), dtype=np.uint32)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *digest.tolist()])))
