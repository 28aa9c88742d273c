"""From per-job CSVs to one tidy summary per experiment, and the article's Table 1.

Standard deviations are population std (numpy's default, ddof = 0) over every repeat
of every network seed, so a deterministic setting has std 0, never NaN.
"""

from __future__ import annotations

import json
import os

import pandas as pd

from .errors import InputError

SCOPE_ORDER_LAST = "all"


def read_jobs(paths: list[str | os.PathLike]) -> pd.DataFrame:
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{path}: unreadable job table ({exc})") from exc
    return pd.concat(frames, ignore_index=True)


def _scope_key(scope: pd.Series) -> pd.Series:
    """Layers in numeric order, then "all"."""
    return scope.map(lambda s: 10**9 if s == SCOPE_ORDER_LAST else int(s))


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and n of accuracy per (experiment, scope, value[, reset_upper])."""
    jobs = jobs.astype({"scope": str})
    keys = ["experiment", "scope", "value"] + (["reset_upper"] if "reset_upper" in jobs else [])
    grouped = jobs.groupby(keys, sort=False)
    out = grouped.agg(
        mean_accuracy=("accuracy", "mean"),
        std_accuracy=("accuracy", lambda a: a.std(ddof=0)),
        n=("accuracy", "size"),
        n_seeds=("network_seed", "nunique"),
        n_disturbed=("n_disturbed", "mean"),
        n_candidates=("n_candidates", "mean"),
        fraction_disturbed=("fraction_disturbed", "mean"),
    ).reset_index()
    if "fraction_kept" in jobs:
        out["fraction_kept"] = grouped["fraction_kept"].mean().to_numpy()
    order = [k for k in keys if k != "scope"]
    out = out.sort_values(by=order[:1] + ["scope"] + order[1:], key=lambda c: _scope_key(c) if c.name == "scope" else c)
    return out.reset_index(drop=True)


def table1(jobs: pd.DataFrame, metrics_paths: list[str | os.PathLike]) -> pd.DataFrame:
    """One row per scope: accuracy after shuffling biases, and the undisturbed accuracy."""
    undisturbed = []
    for path in metrics_paths:
        with open(path) as handle:
            undisturbed.append(json.load(handle)["test_accuracy"])
    summary = summarise(jobs)
    table = summary[["scope", "mean_accuracy", "std_accuracy", "n", "n_seeds"]].copy()
    table["undisturbed_accuracy"] = sum(undisturbed) / len(undisturbed)
    table["difference"] = table["mean_accuracy"] - table["undisturbed_accuracy"]
    return table
