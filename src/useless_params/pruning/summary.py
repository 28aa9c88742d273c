"""The pruning comparison over seeds and draws: accuracy curves and operating points."""

from __future__ import annotations

from ..errors import REBUILD, InputError
from .retraining import Retraining, retraining


def baseline_accuracy(test_accuracy: list[float], mode: Retraining, epochs: int) -> float:
    """What a pruned network is compared with: the trained network (one-shot, fine-tuning), or,
    for rewinding, the dense network after the same number of epochs from the same
    initialisation (as the lottery-ticket papers compare). ``test_accuracy[e]`` is the dense
    network's test accuracy after epoch e (index 0: the initialisation)."""
    last = len(test_accuracy) - 1
    return float(test_accuracy[min(epochs, last)] if mode.start == "initial" else test_accuracy[last])


def summarise(jobs, dense_test_accuracy: dict[tuple[str, int], list[float]], settings: dict[str, dict],
              points=(0.5, 1.0)):
    """Per (dataset, criterion, allocation, retraining, compression): mean and std of accuracy over
    seeds and draws, and the mean loss in accuracy points against ``baseline_accuracy``; per
    (dataset, criterion, allocation, retraining): the highest compression whose mean loses at most
    each of ``points`` accuracy points. ``dense_test_accuracy[(dataset, seed)]`` is that trained
    network's test accuracy at every stored epoch; ``settings[mode]`` the mode's epochs and
    learning rate (the rule's params, ``Retraining.settings``).
    """

    for mode, epochs in jobs.groupby("retraining", sort=False)["epochs"]:
        # The tables record what their jobs ran; the params say what the config asks for now.
        if mode not in settings or set(epochs) != {settings[mode]["epochs"]}:
            raise InputError(f"pruning tables of retraining mode {mode!r} record epochs {sorted(set(epochs))}, "
                             f"the config asks for {settings.get(mode, {}).get('epochs')}; {REBUILD}")
    baseline = [baseline_accuracy(dense_test_accuracy[(dataset, seed)], retraining(mode), settings[mode]["epochs"])
                for dataset, seed, mode in zip(jobs["dataset"], jobs["network_seed"], jobs["retraining"])]
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
                  sparse_gzip_bytes=("sparse_gzip_bytes", "mean"), dense_hdf5_bytes=("dense_hdf5_bytes", "mean"),
                  speedup=("speedup", "mean"))
             .reset_index())
    # The highest ratio within each budget (a loss is not required to grow with the ratio, so a
    # lower ratio may miss the budget that a higher one meets).
    return curve, operating_points(curve, keys, points, "epochs", "max_compression_within_{:g}_points",
                                   lambda ok: ok["compression"].max())


def operating_points(curve, keys: list[str], points, count: str, name: str, best):
    """Per ``keys`` group of ``curve``: the mean baseline, the first ``count``, and for every budget
    in ``points`` (accuracy points lost at most) ``best(rows within it)`` as column ``name``
    (1.0 where no row is within it)."""
    import pandas as pd

    rows = []
    for key, group in curve.groupby(keys, sort=False):
        row = dict(zip(keys, key), baseline_accuracy=float(group["baseline_accuracy"].mean()),
                   **{count: int(group[count].iloc[0])})
        for point in points:
            ok = group[group["mean_loss_points"] <= point]
            row[name.format(point)] = float(best(ok)) if len(ok) else 1.0
        rows.append(row)
    return pd.DataFrame(rows)
