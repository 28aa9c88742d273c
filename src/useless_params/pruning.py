"""Pruning a trained network: criteria, allocation of the kept weights, masks, sizes.

A criterion gives every weight (kernel entry) a score from its value at initialisation
w and after training w'; the lowest scores are pruned first. Biases are never pruned.
Ties are broken deterministically by position (layer, then row-major index; the earlier
position is pruned first), so a mask depends only on the scores. Criteria and allocations are registries: an unknown name is
an error listing the known ones.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .change_scale import change_statistics
from .errors import InputError
from .store import Network


def change_scale_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """The article's change scale c = |w' - w| / |w| x 100 (``change_scale.change_statistics``).

    w = 0 gives 0 (unchanged) or +inf (left 0), and +inf is never pruned before a finite c.
    """
    return change_statistics(initial, trained)["scale"]


def magnitude_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """|w'| (Han et al. 2015)."""
    return np.abs(np.asarray(trained, np.float64))


def movement_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """|w' - w|: how far the weight moved in training."""
    return np.abs(np.asarray(trained, np.float64) - np.asarray(initial, np.float64))


def magnitude_increase_score(initial: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """|w'| - |w| (Zhou et al. 2019's "magnitude increase" mask)."""
    return np.abs(np.asarray(trained, np.float64)) - np.abs(np.asarray(initial, np.float64))


@dataclass(frozen=True)
class Criterion:
    """A pruning criterion: the score of each weight from (initial, trained); lowest pruned first."""

    name: str
    label: str  # in figures
    score: Callable[[np.ndarray, np.ndarray], np.ndarray] | None  # None: random scores
    random: bool = False  # repeated with several draws (pruning.random_draws)


CRITERIA: dict[str, Criterion] = {
    c.name: c
    for c in (
        Criterion("change_scale", "change scale |w' - w| / |w|", change_scale_score),
        Criterion("magnitude", "magnitude |w'|", magnitude_score),
        Criterion("movement", "movement |w' - w|", movement_score),
        Criterion("magnitude_increase", "magnitude increase |w'| - |w|", magnitude_increase_score),
        Criterion("random", "random", None, random=True),
    )
}

# layer: the same kept fraction in every layer; global: one ranking over all layers.
ALLOCATIONS = ("layer", "global")


def criterion(name: str) -> Criterion:
    try:
        return CRITERIA[name]
    except KeyError:
        raise InputError(f"unknown pruning criterion {name!r}; expected one of {', '.join(CRITERIA)}") from None


def check_allocation(name: str) -> str:
    if name not in ALLOCATIONS:
        raise InputError(f"unknown pruning allocation {name!r}; expected one of {', '.join(ALLOCATIONS)}")
    return name


def scores(crit: Criterion, initial: list[np.ndarray], trained: list[np.ndarray],
           rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Per-layer score arrays (kernel shapes) of ``crit``; random criteria need ``rng``."""
    if crit.random:
        if rng is None:
            raise ValueError(f"criterion {crit.name} needs a random generator")
        return [rng.random(np.shape(k)) for k in trained]
    return [crit.score(w, w_new) for w, w_new in zip(initial, trained)]


def kept_counts(sizes: list[int], compression: float, allocation: str) -> int | list[int]:
    """How many weights to keep at ``compression`` = all weights / kept weights.

    ``layer``: round(n_l / compression) in every layer (at least 1); ``global``: one total,
    round(sum n_l / compression) (at least 1).
    """
    if compression < 1:
        raise InputError(f"pruning.compression: {compression} is below 1 (1 keeps every weight)")
    if check_allocation(allocation) == "layer":
        return [max(1, int(round(n / compression))) for n in sizes]
    return max(1, int(round(sum(sizes) / compression)))


def _keep_top(flat_scores: np.ndarray, n_keep: int) -> np.ndarray:
    """Boolean mask keeping the ``n_keep`` highest scores.

    The pruning order is a stable ascending sort: lowest score first and, among equal
    scores, the earlier position first, so the mask is the same on every machine.
    """
    order = np.argsort(flat_scores, kind="stable")
    keep = np.ones(flat_scores.size, bool)
    keep[order[: flat_scores.size - n_keep]] = False
    return keep


def masks_at(layer_scores: list[np.ndarray], compression: float, allocation: str) -> list[np.ndarray]:
    """0/1 masks (bool, kernel shapes) keeping the highest-scored weights at ``compression``."""
    sizes = [s.size for s in layer_scores]
    counts = kept_counts(sizes, compression, allocation)
    if allocation == "layer":
        return [_keep_top(s.ravel(), n).reshape(s.shape) for s, n in zip(layer_scores, counts)]
    keep = _keep_top(np.concatenate([s.ravel() for s in layer_scores]), counts)
    bounds = np.cumsum([0] + sizes)
    return [keep[a:b].reshape(s.shape) for a, b, s in zip(bounds, bounds[1:], layer_scores)]


def apply_masks(network: Network, masks: list[np.ndarray]) -> Network:
    """The network with every masked (False) weight set to exactly 0; biases unchanged."""
    kernels = [np.where(m, np.asarray(k, np.float32), np.float32(0)) for k, m in zip(network.kernels, masks)]
    return Network(kernels, [np.asarray(b, np.float32) for b in network.biases], network.activation)


# --- Sizes: what a pruned network costs to store.

def nonzero_parameters(network: Network) -> int:
    return int(sum(np.count_nonzero(k) for k in network.kernels) + sum(np.count_nonzero(b) for b in network.biases))


def dense_hdf5_bytes(network: Network) -> int:
    """Bytes of the network's parameters as one uncompressed HDF5 file (float32, one dataset each)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for layer, (kernel, bias) in enumerate(zip(network.kernels, network.biases)):
            h5.create_dataset(f"layer_{layer}/kernel", data=np.asarray(kernel, np.float32))
            h5.create_dataset(f"layer_{layer}/bias", data=np.asarray(bias, np.float32))
    return len(buffer.getvalue())


def sparse_export(network: Network) -> bytes:
    """The network as CSR kernels (int32 indptr/indices, float32 values) plus dense biases, gzipped."""
    arrays: dict[str, np.ndarray] = {}
    for layer, (kernel, bias) in enumerate(zip(network.kernels, network.biases)):
        kernel = np.asarray(kernel, np.float32)
        rows, cols = np.nonzero(kernel)
        arrays[f"l{layer}_shape"] = np.array(kernel.shape, np.int64)
        arrays[f"l{layer}_indptr"] = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=kernel.shape[0]))]).astype(np.int32)
        arrays[f"l{layer}_indices"] = cols.astype(np.int32)
        arrays[f"l{layer}_values"] = kernel[rows, cols]
        arrays[f"l{layer}_bias"] = np.asarray(bias, np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, n_layers=np.array(network.n_layers), activation=np.array(network.activation), **arrays)
    # mtime=0: the same network gives the same bytes.
    return gzip.compress(buffer.getvalue(), mtime=0)


def sparse_import(blob: bytes) -> Network:
    """Inverse of ``sparse_export``: the dense network."""
    with np.load(io.BytesIO(gzip.decompress(blob)), allow_pickle=False) as npz:
        kernels, biases = [], []
        for layer in range(int(npz["n_layers"])):
            shape = tuple(npz[f"l{layer}_shape"])
            indptr, indices, values = npz[f"l{layer}_indptr"], npz[f"l{layer}_indices"], npz[f"l{layer}_values"]
            kernel = np.zeros(shape, np.float32)
            rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
            kernel[rows, indices] = values
            kernels.append(kernel)
            biases.append(npz[f"l{layer}_bias"].copy())
        return Network(kernels, biases, str(npz["activation"]))


# --- Retraining after pruning, and one pruning job.

@dataclass(frozen=True)
class Retraining:
    """How a pruned network is retrained: from which weights, with the config section of its settings."""

    name: str
    start: str | None  # "trained": the trained weights; "initial": epoch 0 (lottery-ticket rewinding); None: no training
    description: str


RETRAINING: dict[str, Retraining] = {
    r.name: r
    for r in (
        Retraining("none", None, "one-shot: the pruned trained network, evaluated as is"),
        Retraining("finetune", "trained", "masked training from the trained weights"),
        Retraining("rewind", "initial", "kept weights reset to their initial values, then masked training"),
    )
}

COLUMNS = ("dataset", "network_seed", "criterion", "allocation", "draw", "retraining", "epochs", "learning_rate",
           "compression", "kept_weights", "total_weights", "kept_fraction", "compression_with_biases",
           "kept_fraction_with_biases", "biases_pruned", "accuracy", "nonzero_parameters", "dense_hdf5_bytes",
           "sparse_gzip_bytes")


def retraining(name: str) -> Retraining:
    try:
        return RETRAINING[name]
    except KeyError:
        raise InputError(f"unknown retraining mode {name!r}; expected one of {', '.join(RETRAINING)}") from None


def check_config(pruning_cfg: dict) -> None:
    """Every name in the ``pruning`` section is registered (one-line errors naming the key)."""
    for key, known in (("criteria", CRITERIA), ("allocations", ALLOCATIONS), ("retraining", RETRAINING)):
        for index, name in enumerate(pruning_cfg[key]):
            if name not in known:
                raise InputError(f"pruning.{key}[{index}]: unknown value {name!r}; expected one of {', '.join(known)}")


def draws(crit: Criterion, pruning_cfg: dict) -> list[int]:
    """The draws a criterion is repeated with: several for random scores, one otherwise."""
    return list(range(pruning_cfg["random_draws"])) if crit.random else [0]


# retrain(start network, masks, epochs, learning rate, seed) -> retrained network (masked weights 0).
Retrainer = Callable[[Network, list[np.ndarray], int, float, int], Network]


def job_rows(*, dataset: str = "mnist", network_seed: int, crit: Criterion, allocation: str, draw: int, mode: Retraining,
             compressions: list[float], initial: Network, reference: Network, trained: Network,
             accuracy: Callable[[Network], float], seed: int, epochs: int = 0, learning_rate: float = 0.0,
             retrain: Retrainer | None = None) -> list[dict]:
    """One row per compression ratio: prune ``trained`` by ``crit``, retrain as ``mode`` says, measure.

    Scores compare ``reference`` (the change-scale reference epoch, by default the
    initialisation) with ``trained``; rewinding restarts from ``initial`` (epoch 0).
    """
    from .seeding import generator

    rng = generator(seed, network_seed, "prune", crit.name, draw) if crit.random else None
    layer_scores = scores(crit, reference.kernels, trained.kernels, rng)
    n_weights = sum(k.size for k in trained.kernels)
    n_biases = sum(b.size for b in trained.biases)
    rows = []
    for compression in compressions:
        masks = masks_at(layer_scores, compression, allocation)
        if mode.start is None:
            network = apply_masks(trained, masks)
        else:
            if retrain is None:
                raise ValueError(f"retraining mode {mode.name} needs a retrain function")
            start = trained if mode.start == "trained" else initial
            run_seed = int(generator(seed, network_seed, "retrain", mode.name, crit.name, allocation, draw,
                                     float(compression)).integers(2**31 - 1))
            network = retrain(apply_masks(start, masks), masks, epochs, learning_rate, run_seed)
            leaked = sum(int(np.count_nonzero(k[~m])) for k, m in zip(network.kernels, masks))
            if leaked:
                raise AssertionError(f"{leaked} pruned weights are nonzero after {mode.name}")
        kept = sum(int(m.sum()) for m in masks)
        rows.append({
            "dataset": dataset, "network_seed": network_seed, "criterion": crit.name, "allocation": allocation, "draw": draw,
            "retraining": mode.name, "epochs": epochs if mode.start else 0,
            "learning_rate": learning_rate if mode.start else 0.0, "compression": float(compression),
            "kept_weights": kept, "total_weights": n_weights, "kept_fraction": kept / n_weights,
            "compression_with_biases": (n_weights + n_biases) / (kept + n_biases),
            "kept_fraction_with_biases": (kept + n_biases) / (n_weights + n_biases), "biases_pruned": False,
            "accuracy": accuracy(network), "nonzero_parameters": nonzero_parameters(network),
            "dense_hdf5_bytes": dense_hdf5_bytes(network), "sparse_gzip_bytes": len(sparse_export(network)),
        })
    return rows


def make_retrainer(x_train, y_train, x_test, y_test, network_cfg: dict, training_cfg: dict,
                   threads: int = 1) -> Retrainer:
    """A ``Retrainer`` running the workflow's compiled training loop with fixed masks (imports
    TensorFlow); one trainer, traced once, serves every network of the job."""
    from . import training

    trainer = training.CompiledTrainer(x_train, y_train, x_test, y_test, network_cfg, training_cfg, threads)

    def retrain(start: Network, masks: list[np.ndarray], epochs: int, learning_rate: float, seed: int) -> Network:
        kernels, biases, _, _ = trainer.run(seed, epochs=epochs, start=start, masks=masks,
                                            learning_rate=learning_rate)
        return Network([k[-1] for k in kernels], [b[-1] for b in biases], start.activation)

    return retrain


def baseline_accuracy(test_accuracy: list[float] | np.ndarray, mode: Retraining, epochs: int) -> float:
    """What a pruned network is compared with: the trained network (one-shot, fine-tuning), or,
    for rewinding, the dense network after the same number of epochs from the same
    initialisation (as the lottery-ticket papers compare). ``test_accuracy[e]`` is the dense
    network's test accuracy after epoch e (index 0: the initialisation)."""
    last = len(test_accuracy) - 1
    return float(test_accuracy[min(epochs, last)] if mode.start == "initial" else test_accuracy[last])


def summarise(jobs, dense_test_accuracy: dict[tuple[str, int], list[float]], points=(0.5, 1.0)):
    """Per (dataset, criterion, allocation, retraining, compression): mean and std of accuracy over
    seeds and draws, and the mean loss in accuracy points against ``baseline_accuracy``; per
    (dataset, criterion, allocation, retraining): the highest compression whose mean loses at most
    each of ``points`` accuracy points. ``dense_test_accuracy[(dataset, seed)]`` is that trained
    network's test accuracy at every stored epoch.
    """
    import pandas as pd

    baseline = [baseline_accuracy(dense_test_accuracy[(dataset, seed)], retraining(mode), epochs)
                for dataset, seed, mode, epochs in zip(jobs["dataset"], jobs["network_seed"], jobs["retraining"],
                                                       jobs["epochs"])]
    jobs = jobs.assign(baseline_accuracy=baseline)
    jobs = jobs.assign(loss_points=(jobs["baseline_accuracy"] - jobs["accuracy"]) * 100)
    keys = ["dataset", "criterion", "allocation", "retraining"]
    curve = (jobs.groupby(keys + ["compression"], sort=False)
             .agg(mean_accuracy=("accuracy", "mean"), std_accuracy=("accuracy", lambda a: a.std(ddof=0)),
                  baseline_accuracy=("baseline_accuracy", "mean"), mean_loss_points=("loss_points", "mean"),
                  n=("accuracy", "size"), n_seeds=("network_seed", "nunique"), epochs=("epochs", "first"),
                  kept_fraction=("kept_fraction", "mean"),
                  kept_fraction_with_biases=("kept_fraction_with_biases", "mean"),
                  compression_with_biases=("compression_with_biases", "mean"),
                  sparse_gzip_bytes=("sparse_gzip_bytes", "mean"), dense_hdf5_bytes=("dense_hdf5_bytes", "mean"))
             .reset_index())
    rows = []
    for key, group in curve.groupby(keys, sort=False):
        row = dict(zip(keys, key), baseline_accuracy=float(group["baseline_accuracy"].mean()),
                   epochs=int(group["epochs"].iloc[0]))
        for point in points:
            # The highest ratio within the budget (1.0: no ratio is; a loss is not required to
            # grow with the ratio, so a lower ratio may miss the budget that a higher one meets).
            ok = group[group["mean_loss_points"] <= point]
            row[f"max_compression_within_{point:g}_points"] = float(ok["compression"].max()) if len(ok) else 1.0
        rows.append(row)
    return curve, pd.DataFrame(rows)
