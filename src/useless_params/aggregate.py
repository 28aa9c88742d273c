"""From per-job CSVs to one tidy summary per experiment, and the article's Table 1.

Two spreads per setting: ``std_accuracy`` over every repeat of every network seed pooled
(the article's single number), and ``seed_std_accuracy`` over seeds of each seed's mean
(``seed_mean_accuracy``): how much another trained network moves the result. Both are
population std (ddof = 0), so a deterministic setting or a single seed has std 0, never NaN.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import REBUILD, InputError
from .experiments import experiment
from .model import scope_order, scopes


@dataclass(frozen=True)
class JobTableSpec:
    """What one per-job CSV must hold: the experiment's columns and one row per scope, level and repeat."""

    experiment: str
    dataset: str
    seed: int
    value: float
    repeats: int
    n_layers: int
    levels: tuple[float, ...] = ()

    def expected_rows(self) -> int:
        entry = experiment(self.experiment)
        if entry.whole_network:
            return 1
        return (self.n_layers + 1) * max(1, len(self.levels)) * self.repeats


def check_job_table(frame: pd.DataFrame, path: str | os.PathLike, spec: JobTableSpec) -> pd.DataFrame:
    """Raise ``InputError`` naming ``path`` unless ``frame`` is the complete output of the job ``spec``."""
    entry = experiment(spec.experiment)

    def fail(problem: str) -> InputError:
        return InputError(f"{path}: {problem}; {REBUILD}")

    if list(frame.columns) != list(entry.columns):
        return_columns = ", ".join(map(str, frame.columns[:6]))
        raise fail(f"not a {entry.name} job table (columns {return_columns}; expected {', '.join(entry.columns)})")
    expected = spec.expected_rows()
    if len(frame) != expected:
        raise fail(f"{len(frame)} rows, expected {expected}")
    if not (frame["experiment"].astype(str) == entry.name).all():
        raise fail(f"holds rows of another experiment than {entry.name}")
    if not (frame["dataset"].astype(str) == spec.dataset).all():
        raise fail(f"dataset is not {spec.dataset} in every row (the path says {spec.dataset})")
    seeds = pd.to_numeric(frame["network_seed"], errors="coerce")
    if not (seeds == spec.seed).all():
        raise fail(f"network_seed is not {spec.seed} in every row (the file name says seed {spec.seed})")
    values = pd.to_numeric(frame["value"], errors="coerce")
    if not np.allclose(values, spec.value, rtol=1e-12, atol=0):
        raise fail(f"value is not {spec.value:g} in every row (the file name says {spec.value:g})")
    accuracy = pd.to_numeric(frame["accuracy"], errors="coerce")
    bad = ~(np.isfinite(accuracy) & (accuracy >= 0) & (accuracy <= 1))
    if bad.any():
        raise fail(f"{int(bad.sum())} accuracies are not numbers in [0, 1]")
    repeats = pd.to_numeric(frame["repeat"], errors="coerce")
    if not entry.whole_network:
        names = [name for name, _ in scopes(spec.n_layers)]
        counts = frame["scope"].astype(str).value_counts()
        per_scope = expected // len(names)
        if sorted(counts.index) != sorted(names) or (counts != per_scope).any():
            raise fail(f"scopes {dict(counts)} instead of {per_scope} rows for each of {names}")
        if repeats.isna().any() or repeats.min() < 0 or repeats.max() >= spec.repeats:
            raise fail(f"repeat numbers outside 0..{spec.repeats - 1}")
        # Exactly the repeats 0..R-1, once each, in every scope (and reset level): no copied row.
        keys = ["scope"] + (["reset_upper"] if "reset_upper" in frame else [])
        for key, group in frame.assign(repeat=repeats).groupby(keys, sort=False)["repeat"]:
            if sorted(group.astype(int)) != list(range(spec.repeats)):
                raise fail(f"repeats of {dict(zip(keys, key if isinstance(key, tuple) else (key,)))} are not "
                           f"0..{spec.repeats - 1} once each")
    return frame


def read_jobs(paths: list[str | os.PathLike], specs: list[JobTableSpec] | None = None) -> pd.DataFrame:
    """Concatenate per-job CSVs; with ``specs`` (one per path), check that each is complete first."""
    if specs is not None and len(specs) != len(paths):
        raise ValueError(f"{len(paths)} job tables but {len(specs)} specifications")
    frames = []
    for index, path in enumerate(paths):
        try:
            frame = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{path}: unreadable job table ({exc}); {REBUILD}") from exc
        if specs is not None:
            check_job_table(frame, path, specs[index])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _scope_key(scope: pd.Series) -> pd.Series:
    """Layers in numeric order, then all layers."""
    return scope.map(scope_order)


def _appearance_key(column: pd.Series) -> pd.Series:
    """Values in the order they first appear (datasets in config order, not alphabetical)."""
    order = {value: index for index, value in enumerate(pd.unique(column))}
    return column.map(order)


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and n of accuracy per (dataset, experiment, scope, value[, reset_upper])."""
    jobs = jobs.astype({"scope": str})
    keys = ["dataset", "experiment", "scope", "value"] + (["reset_upper"] if "reset_upper" in jobs else [])
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
    # Each seed's mean first, then their mean and spread: every trained network counts once.
    per_seed = jobs.groupby(keys + ["network_seed"], sort=False)["accuracy"].mean().reset_index()
    over_seeds = per_seed.groupby(keys, sort=False)["accuracy"].agg(
        seed_mean_accuracy="mean", seed_std_accuracy=lambda a: a.std(ddof=0)).reset_index()
    out = out.merge(over_seeds, on=keys, how="left", validate="one_to_one")
    sort_keys = {"dataset": _appearance_key, "scope": _scope_key}
    out = out.sort_values(by=keys, key=lambda c: sort_keys.get(c.name, lambda same: same)(c), kind="stable")
    return out.reset_index(drop=True)


def read_test_accuracy_history(path: str | os.PathLike) -> list[float]:
    """The dense network's test accuracy after epochs 1, 2, ... from a ``history.csv``, checked."""
    return read_history(path)["test_accuracy"]


def read_history(path: str | os.PathLike) -> dict[str, list[float]]:
    """The dense network's ``test_accuracy`` and ``val_loss`` after epochs 1, 2, ... from a
    ``history.csv``, checked (val_loss is NaN without validation data)."""
    try:
        history = pd.read_csv(path)
        values = history["test_accuracy"].astype(float).to_numpy()
        val_loss = history["val_loss"].astype(float).to_numpy()
        epochs = history["epoch"].astype(int).tolist()
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a training history ({exc!r}); {REBUILD}") from exc
    if epochs != list(range(1, len(epochs) + 1)):
        raise InputError(f"{path}: epochs are not 1..{len(epochs)}; {REBUILD}")
    if not (np.isfinite(values) & (values >= 0) & (values <= 1)).all():
        raise InputError(f"{path}: test accuracies not in [0, 1]; {REBUILD}")
    return {"test_accuracy": values.tolist(), "val_loss": val_loss.tolist()}


def table1(jobs: pd.DataFrame, metrics_paths: list[str | os.PathLike],
           networks: list[tuple[str, int]] | None = None) -> pd.DataFrame:
    """One row per dataset and scope: accuracy after shuffling biases, and the undisturbed
    accuracy (the mean over that dataset's networks; ``networks[i]`` is the (dataset, seed)
    of ``metrics_paths[i]``, by default every network of the jobs' single dataset)."""
    if networks is None:
        networks = [(jobs["dataset"].iloc[0], None)] * len(metrics_paths)
    undisturbed: dict[str, list[float]] = {}
    for path, (dataset, _) in zip(metrics_paths, networks, strict=True):
        try:
            with open(path) as handle:
                accuracy = float(json.load(handle)["test_accuracy"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: no readable test_accuracy ({exc!r}); {REBUILD}") from exc
        if not 0 <= accuracy <= 1:
            raise InputError(f"{path}: test_accuracy {accuracy} is not in [0, 1]; {REBUILD}")
        undisturbed.setdefault(dataset, []).append(accuracy)
    summary = summarise(jobs)
    missing = sorted(set(summary["dataset"]) - set(undisturbed))
    if missing:
        raise InputError(f"no training metrics for dataset(s) {', '.join(missing)}")
    table = summary[["dataset", "scope", "mean_accuracy", "std_accuracy", "n", "n_seeds", "seed_mean_accuracy",
                     "seed_std_accuracy"]].copy()
    table["undisturbed_accuracy"] = table["dataset"].map(lambda d: sum(undisturbed[d]) / len(undisturbed[d]))
    table["difference"] = table["mean_accuracy"] - table["undisturbed_accuracy"]
    return table


def check_identity(frame: pd.DataFrame, path: str | os.PathLike, expected: dict) -> None:
    """Raise ``InputError`` naming ``path`` unless every row holds the ``expected`` identity values
    (what the file's path says: dataset, seed, criterion, ...)."""
    for column, value in expected.items():
        cells = frame[column]
        same = (pd.to_numeric(cells, errors="coerce") == value) if isinstance(value, (int, float)) \
            else (cells.astype(str) == str(value))
        if not same.all():
            found = sorted(set(cells.astype(str)) - {str(value)})
            raise InputError(f"{path}: {column} is {', '.join(found[:3])} in {int((~same).sum())} rows, the path "
                             f"says {value}; {REBUILD}")


def read_tables(paths: list[str | os.PathLike], columns, rows_per_table: int,
                identities: list[dict] | None = None, keys: tuple[str, list] | None = None) -> pd.DataFrame:
    """Concatenate per-job CSVs that must each have exactly ``columns``, ``rows_per_table`` rows,
    accuracies in [0, 1], with ``identities`` (one per path) those identity values in every row,
    and with ``keys`` = (column, values) exactly those values in that column, in order (pruning
    jobs: the configured compression ratios); a failure names the file."""
    if identities is not None and len(identities) != len(paths):
        raise ValueError(f"{len(paths)} job tables but {len(identities)} identities")
    frames = []
    for index, path in enumerate(paths):
        def fail(problem: str) -> InputError:
            return InputError(f"{path}: {problem}; {REBUILD}")

        try:
            frame = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise fail(f"unreadable job table ({exc})") from exc
        if list(frame.columns) != list(columns):
            raise fail(f"columns {', '.join(map(str, frame.columns[:6]))} are not the expected {', '.join(columns)}")
        if len(frame) != rows_per_table:
            raise fail(f"{len(frame)} rows, expected {rows_per_table}")
        accuracy = pd.to_numeric(frame["accuracy"], errors="coerce")
        if not (np.isfinite(accuracy) & (accuracy >= 0) & (accuracy <= 1)).all():
            raise fail("accuracies are not all numbers in [0, 1]")
        if identities is not None:
            check_identity(frame, path, identities[index])
        if keys is not None:
            column, values = keys
            found = pd.to_numeric(frame[column], errors="coerce").tolist()
            if not np.allclose(found, values, rtol=1e-12, atol=0):
                raise fail(f"{column} {', '.join(f'{v:g}' for v in found)} is not the configured "
                           f"{', '.join(f'{v:g}' for v in values)}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
