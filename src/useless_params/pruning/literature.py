"""Published pruning points this workflow reproduces (a registry), and a run's numbers next to them.

Each entry is one point a paper reports on one network: the protocol that produced it, the
fraction of the weights left there, and what the paper says about it. ``against_the_literature``
takes, for every entry whose network and protocol a run has, the first level at or below the
entry's fraction and reports every criterion and variant there (mean and std over seeds), next
to the dense network: after as many epochs as the level trained (``iterative_baseline``) and at
its early-stopping epoch within them, the comparison the lottery-ticket paper makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..registry import registry
from .iterative_summary import iterative_baseline

LENET_300_100 = (784, 300, 100, 10)
LENET_300_100_PRESET = "configs/lenet300_100.yaml"  # the config file that trains that network


@dataclass(frozen=True)
class PublishedPoint:
    """``paper`` reports ``claim`` for ``protocol`` on a network of ``layer_sizes`` trained on
    ``dataset``, at ``kept_fraction`` of the weights; ``accuracy`` and ``dense_accuracy`` where it
    gives numbers."""

    name: str
    paper: str
    dataset: str
    layer_sizes: tuple[int, ...]
    protocol: str
    kept_fraction: float
    claim: str
    accuracy: float | None = None
    dense_accuracy: float | None = None
    preset: str | None = None  # the config file of the network, to give before the paper's config


PUBLISHED: dict[str, PublishedPoint] = registry(
    PublishedPoint("han2015_12x", "Han et al. 2015, Table 1", "mnist", LENET_300_100, "imp_continue", 0.083,
                   "12x fewer weights at 1.59 % test error, dense 1.64 %", 0.9841, 0.9836, LENET_300_100_PRESET),
    PublishedPoint("frankle2019_51", "Frankle & Carbin 2019, Figure 3", "mnist", LENET_300_100, "imp_rewind", 0.513,
                   "winning tickets beat the dense network (early stopping) from here ...", preset=LENET_300_100_PRESET),
    PublishedPoint("frankle2019_13.5", "Frankle & Carbin 2019, Figure 3", "mnist", LENET_300_100, "imp_rewind", 0.135,
                   "... down to here", preset=LENET_300_100_PRESET),
    PublishedPoint("frankle2019_3.6", "Frankle & Carbin 2019, Figure 3", "mnist", LENET_300_100, "imp_rewind", 0.036,
                   "winning tickets still match the dense network; the same masks reinitialised fall clearly below",
                   preset=LENET_300_100_PRESET),
)

COLUMNS = ("point", "paper", "claim", "published_kept_fraction", "published_accuracy", "published_dense_accuracy",
           "dataset", "protocol", "allocation", "criterion", "variant", "level", "kept_fraction", "n_seeds",
           "mean_accuracy", "std_accuracy", "mean_early_stop_accuracy", "std_early_stop_accuracy",
           "dense_accuracy", "dense_early_stop_accuracy", "points_vs_dense", "early_stop_points_vs_dense", "status")
# ``status`` of a row with the run's numbers; a published point the run cannot be compared with
# gets one row saying why instead ("not run: ..."), so an empty comparison is never silent.
RAN = "ran"


def dense_early_stop(history: dict[str, list[float]], last_epoch: int) -> float:
    """The dense run's test accuracy at its lowest validation loss among epochs 1..``last_epoch``
    (without validation data: at ``last_epoch``). ``history``: per epoch from 1 (``read_history``)."""
    val_loss = np.asarray(history["val_loss"][:last_epoch], float)
    epoch = int(np.argmin(val_loss)) + 1 if np.isfinite(val_loss).any() else last_epoch
    return float(history["test_accuracy"][epoch - 1])


def against_the_literature(levels, dense_histories: dict[tuple[str, int], dict[str, list[float]]],
                           layer_sizes: dict[str, tuple[int, ...]], settings: dict[str, dict]):
    """One row per published point x (protocol, allocation, criterion, variant) of ``levels`` (the
    iterative level table) for the points whose dataset, network (``layer_sizes[dataset]``) and
    protocol ran: the first level at or below the point's kept fraction, mean and std over seeds
    and draws, and the dense network's accuracy after as many epochs as the level trained and at
    its early stop within them (``points_vs_dense``: accuracy difference x 100)."""
    import pandas as pd

    rows = []
    keys = ["dataset", "protocol", "allocation", "criterion", "variant"]
    for point in PUBLISHED.values():
        published = {"point": point.name, "paper": point.paper, "claim": point.claim,
                     "published_kept_fraction": point.kept_fraction,
                     "published_accuracy": np.nan if point.accuracy is None else point.accuracy,
                     "published_dense_accuracy": np.nan if point.dense_accuracy is None else point.dense_accuracy}
        reason = _not_comparable(point, layer_sizes, settings)
        if reason:
            rows.append({**published, "dataset": point.dataset, "protocol": point.protocol, "status": reason})
            continue
        protocol_settings = settings[point.protocol]
        ran = levels[(levels["protocol"] == point.protocol) & (levels["dataset"] == point.dataset)]
        matched = False
        for key, group in ran.groupby(keys, sort=False):
            by_level = group.groupby("level")["kept_fraction"].mean()
            below = by_level[by_level <= point.kept_fraction + 5e-4]  # the papers round: 3.58 % is "3.6 %"
            if below.empty:
                continue
            matched = True
            level = int(below.index.min())
            at = group[group["level"] == level]
            dense, early = [], []
            for dataset, seed in zip(at["dataset"], at["network_seed"]):
                history = dense_histories[(dataset, seed)]
                accuracy = [float("nan")] + history["test_accuracy"]  # index e: after epoch e
                dense.append(iterative_baseline(accuracy, point.protocol, protocol_settings))
                # The epochs the dense baseline had: rewinding, as many as a level trains from the rewind point.
                last = len(history["test_accuracy"])
                if "rewind_epoch" in protocol_settings:
                    last = min(protocol_settings["rewind_epoch"] + protocol_settings["epochs"], last)
                early.append(dense_early_stop(history, last))
            row = {**published, **dict(zip(keys, key)), "status": RAN, "level": level, "kept_fraction": float(at["kept_fraction"].mean()),
                   "n_seeds": int(at["network_seed"].nunique()),
                   "mean_accuracy": float(at["accuracy"].mean()), "std_accuracy": float(at["accuracy"].std(ddof=0)),
                   "mean_early_stop_accuracy": float(at["early_stop_accuracy"].mean()),
                   "std_early_stop_accuracy": float(at["early_stop_accuracy"].std(ddof=0)),
                   "dense_accuracy": float(np.mean(dense)), "dense_early_stop_accuracy": float(np.mean(early))}
            row["points_vs_dense"] = (row["mean_accuracy"] - row["dense_accuracy"]) * 100
            row["early_stop_points_vs_dense"] = (row["mean_early_stop_accuracy"]
                                                 - row["dense_early_stop_accuracy"]) * 100
            rows.append(row)
        if not matched:
            fewest = f"{ran['kept_fraction'].min():.1%}" if len(ran) else "no level"
            rows.append({**published, "dataset": point.dataset, "protocol": point.protocol,
                         "status": f"not run: no level reached {point.kept_fraction:.1%} of the weights "
                                   f"(fewest kept: {fewest}); add levels"})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _not_comparable(point: PublishedPoint, layer_sizes: dict[str, tuple[int, ...]], settings: dict) -> str:
    """Why a run cannot be compared with ``point`` ("" when it can)."""
    if point.dataset not in layer_sizes:
        return f"not run: the run has no {point.dataset} network"
    sizes = tuple(layer_sizes[point.dataset])
    if sizes != point.layer_sizes:
        name = "-".join(map(str, point.layer_sizes))
        hint = f" (give {point.preset} first)" if point.preset else ""
        return (f"not run: the point is on {name}, the run's {point.dataset} network is "
                f"{'-'.join(map(str, sizes))}{hint}")
    if point.protocol not in settings:
        return f"not run: protocol {point.protocol} was not run"
    return ""
