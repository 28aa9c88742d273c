"""Atomic file writing, so that a failed or killed job never leaves a file that looks complete."""

from __future__ import annotations

import contextlib
import glob
import os
from pathlib import Path
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Left by a killed job (SIGKILL skips the cleanup below): half-written, so remove it.
    for stale in final.parent.glob(glob.escape(f".{final.name}.tmp-") + "*"):
        stale.unlink(missing_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_csv(frame, path: str | os.PathLike) -> None:
    """Write a pandas frame as CSV atomically, with a fixed float format for byte-stable output."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")


def format_cell(value) -> str:
    """CSV text of one value, as ``write_csv`` formats it (floats with %.10g)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "%.10g" % value
    return str(value)


def write_rows(columns: list[str], rows: list[dict], path: str | os.PathLike) -> None:
    """Write rows as CSV atomically without pandas, byte-compatible with ``write_csv``."""
    lines = [",".join(columns)] + [",".join(format_cell(row[c]) for c in columns) for row in rows]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
