"""The iterative comparison over seeds and draws: accuracy per level, and operating points."""

from __future__ import annotations

from .iterative import protocol
from .summary import operating_points


def iterative_baseline(test_accuracy: list[float], protocol_name: str, settings: dict) -> float:
    """The dense network a level is compared with: for ``imp_rewind``, the dense run after as many
    epochs from the rewind point (``test_accuracy[rewind_epoch + epochs]``, the lottery-ticket
    comparison); for ``imp_continue``, the trained dense network. ``test_accuracy[e]``: after epoch e."""
    last = len(test_accuracy) - 1
    if protocol(protocol_name).start == "rewind":
        return float(test_accuracy[min(settings["rewind_epoch"] + settings["epochs"], last)])
    return float(test_accuracy[last])


def summarise_levels(levels, dense_test_accuracy: dict[tuple[str, int], list[float]], settings: dict[str, dict],
                     points=(0.5, 1.0)):
    """Per (dataset, protocol, allocation, criterion, variant, level): mean and std over seeds and draws
    of the final and the early-stopping accuracy, the early-stopping epoch and the kept fraction, and
    the mean loss in points against ``iterative_baseline``; per (dataset, protocol, allocation,
    criterion, variant): the smallest mean kept fraction whose mean loss is at most each of ``points``
    (1.0: no level is). ``settings[protocol]``: its epochs, learning rate (and rewind epoch)."""

    baseline = [iterative_baseline(dense_test_accuracy[(dataset, seed)], name, settings[name])
                for dataset, seed, name in zip(levels["dataset"], levels["network_seed"], levels["protocol"])]
    levels = levels.assign(baseline_accuracy=baseline)
    levels = levels.assign(loss_points=(levels["baseline_accuracy"] - levels["accuracy"]) * 100)
    keys = ["dataset", "protocol", "allocation", "criterion", "variant"]

    def std(a):
        return a.std(ddof=0)

    curve = (levels.groupby(keys + ["level"], sort=False)
             .agg(kept_fraction=("kept_fraction", "mean"), mean_accuracy=("accuracy", "mean"),
                  std_accuracy=("accuracy", std), mean_early_stop_accuracy=("early_stop_accuracy", "mean"),
                  std_early_stop_accuracy=("early_stop_accuracy", std),
                  mean_early_stop_epoch=("early_stop_epoch", "mean"), std_early_stop_epoch=("early_stop_epoch", std),
                  baseline_accuracy=("baseline_accuracy", "mean"), mean_loss_points=("loss_points", "mean"),
                  n=("accuracy", "size"), n_seeds=("network_seed", "nunique"), epochs=("epochs", "first"),
                  kept_fraction_with_biases=("kept_fraction_with_biases", "mean"), speedup=("speedup", "mean"),
                  sparse_gzip_bytes=("sparse_gzip_bytes", "mean"))
             .reset_index())
    levels_run = curve.groupby(keys, sort=False)["level"].transform("max")
    return curve, operating_points(curve.assign(levels=levels_run), keys, points, "levels",
                                   "min_kept_fraction_within_{:g}_points", lambda ok: ok["kept_fraction"].min())
