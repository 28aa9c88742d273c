"""Figures of the pruning comparison (plotnine), in the style of the article's figures (``plots``)."""

from __future__ import annotations

import pandas as pd
import plotnine as p9

from ..data import dataset as dataset_entry
from ..plots import THEME, panels, with_dataset_rows

# Reference points of the pruning comparison (accuracy against compression = all / kept weights).
PRUNING_REFERENCES = pd.DataFrame([
    {"compression": 12.0, "accuracy": 0.9841,
     "label": "Han et al. 2015, LeNet-300-100\n(magnitude + retraining, 12x)"},
    {"compression": 1 / 0.782, "accuracy": 0.917,
     "label": "the article's Figure 7 end point\n(78.2 % kept incl. biases, no retraining)"},
])
RETRAINING_LABELS = {"none": "No retraining (one-shot)", "finetune": "Fine-tuning (trained weights, mask fixed)",
                     "rewind": "Rewinding (initial weights, mask fixed)"}


def pruning_figure(curve: pd.DataFrame) -> p9.ggplot:
    """Accuracy against compression (log x): a line per criterion, linetype per allocation,
    a panel per retraining mode; the band is +/- 1 std over seeds and draws."""
    frame, several_datasets = with_dataset_rows(curve)
    modes = [m for m in RETRAINING_LABELS if m in set(frame["retraining"])]
    epochs = frame.groupby("retraining")["epochs"].first()
    labels = {m: RETRAINING_LABELS[m] + (f", {epochs[m]} epochs" if epochs[m] else "") for m in modes}
    frame["panel"] = pd.Categorical(frame["retraining"].map(labels), categories=[labels[m] for m in modes])
    # The accuracy each panel is compared with (dashed): the trained network, or for rewinding
    # the dense network after as many epochs.
    baselines = frame.groupby(["dataset_title", "panel"], observed=True)["baseline_accuracy"].mean().reset_index()
    frame["low"] = frame["mean_accuracy"] - frame["std_accuracy"]
    frame["high"] = frame["mean_accuracy"] + frame["std_accuracy"]
    frame["series"] = frame["criterion"] + " / " + frame["allocation"]
    # Published points are MNIST results: drawn in MNIST's panels only.
    references = pd.concat([PRUNING_REFERENCES.assign(panel=label) for label in frame["panel"].cat.categories],
                           ignore_index=True)
    references["panel"] = pd.Categorical(references["panel"], categories=frame["panel"].cat.categories)
    mnist = dataset_entry("mnist").title
    references["dataset_title"] = pd.Categorical([mnist] * len(references),
                                                 categories=frame["dataset_title"].cat.categories)
    references = references[references["dataset_title"].notna()]
    return (
        p9.ggplot(frame, p9.aes("compression", "mean_accuracy"))
        + p9.geom_hline(p9.aes(yintercept="baseline_accuracy"), data=baselines, linetype="dashed", color="grey")
        + p9.geom_ribbon(p9.aes(ymin="low", ymax="high", fill="criterion", group="series"), alpha=0.15)
        + p9.geom_line(p9.aes(color="criterion", linetype="allocation", group="series"))
        + p9.geom_point(p9.aes(color="criterion", shape="allocation"), size=1.2)
        + p9.geom_point(p9.aes("compression", "accuracy"), data=references, inherit_aes=False, shape="*", size=4)
        + p9.geom_text(p9.aes("compression", "accuracy", label="label"), data=references, inherit_aes=False,
                       size=6, va="top", ha="left", nudge_y=-0.01)
        + p9.scale_x_log10()
        + panels(several_datasets, ncol=len(modes))
        + p9.labs(x="Compression (all weights / kept weights, log scale)", y="Test accuracy (mean +/- 1 std)",
                  color="Criterion", fill="Criterion", linetype="Allocation", shape="Allocation",
                  title="Pruning: which weights can go?",
                  caption="Biases are never pruned. Dashed: the dense network compared with (rewinding: after as "
                          "many epochs). Stars: published reference points, not measured here.")
        + THEME + p9.theme(figure_size=(14, 6 if not several_datasets else 4 * frame["dataset_title"].nunique()))
    )


VARIANT_LINETYPES = {"pruned": "solid", "reinit": "dashed", "random_mask": "dotted", "supermask": "dashdot"}
PROTOCOL_LABELS = {"imp_rewind": "Iterative, rewound to the rewind point", "imp_continue": "Iterative, training continued"}
PROTOCOL_SHORT = {"imp_rewind": "rewound", "imp_continue": "continued"}


def _iterative_frame(curve: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    frame, several_datasets = with_dataset_rows(curve)
    protocols = [p for p in PROTOCOL_LABELS if p in set(frame["protocol"])]
    frame["panel"] = pd.Categorical(frame["protocol"].map(PROTOCOL_LABELS), [PROTOCOL_LABELS[p] for p in protocols])
    frame["variant"] = pd.Categorical(frame["variant"], [v for v in VARIANT_LINETYPES if v in set(frame["variant"])])
    frame["series"] = frame["criterion"] + " / " + frame["variant"].astype(str)
    # Trained networks and the untrained supermask in rows of their own: their accuracies differ by
    # tens of points, and on one axis the trained ones (a point or two apart) are indistinguishable.
    untrained = frame["variant"].astype(str) == "supermask"
    frame["kind"] = pd.Categorical(untrained.map({False: "trained", True: "untrained (supermask)"}),
                                   ["trained", "untrained (supermask)"])
    return frame, several_datasets


# A panel holds at most this many lines; past it each criterion gets panels of its own (small
# multiples: its chain, its controls and the dense line), as the lottery-ticket paper draws them.
MAX_LINES_PER_PANEL = 6


def _iterative_plot(frame: pd.DataFrame, several_datasets: bool, y: str, spread: str, ylab: str, title: str,
                    caption: str, baselines: bool = False) -> p9.ggplot:
    """One panel per dataset, allocation, trained/untrained, protocol and (past ``MAX_LINES_PER_PANEL``
    lines) criterion, each on its own y scale: a rewound chain and a continued one, or two
    criteria, differ in range. ``baselines``: the dense network compared with, a grey line."""
    frame = frame.assign(low=frame[y] - frame[spread], high=frame[y] + frame[spread])
    lines = frame[frame["kind"] == "trained"].groupby(["criterion", "variant"], observed=True).ngroups
    by_criterion = lines > MAX_LINES_PER_PANEL
    facets = (["dataset_title"] if several_datasets else []) + ["panel", "allocation", "kind"]
    facets += ["criterion"] if by_criterion else []
    frame = frame.sort_values(facets, kind="stable")
    # One short strip per panel: "rewound, layer: magnitude", "continued, global, untrained".
    short = frame.assign(panel=frame["protocol"].map(PROTOCOL_SHORT),
                         kind=frame["kind"].astype(str).map({"trained": "", "untrained (supermask)": "untrained"}))
    labels = short[[f for f in facets if f != "criterion"]].astype(str).agg(
        lambda parts: ", ".join(p for p in parts if p), axis=1)
    if by_criterion:
        labels = labels + ": " + frame["criterion"].astype(str)
    frame["facet"] = pd.Categorical(labels, list(dict.fromkeys(labels)))
    n_columns = frame["criterion"].nunique() if by_criterion else frame["panel"].nunique()
    n_panels = frame["facet"].nunique()
    plot = (
        p9.ggplot(frame, p9.aes("kept_fraction", y))
        + p9.geom_ribbon(p9.aes(ymin="low", ymax="high", fill="criterion", group="series"), alpha=0.12)
        + p9.geom_line(p9.aes(color="criterion", linetype="variant", group="series"))
        + p9.geom_point(p9.aes(color="criterion"), size=1)
        + p9.scale_x_log10()
        + p9.scale_linetype_manual(values=VARIANT_LINETYPES)
        + p9.facet_wrap("facet", ncol=n_columns, scales="free_y")
        + p9.labs(x="Remaining fraction of the weights (log scale)", y=ylab, color="Criterion", fill="Criterion",
                  linetype="Variant", title=title, caption=caption)
    )
    if baselines:
        dense = frame[frame["kind"] == "trained"].groupby("facet", observed=True)["baseline_accuracy"].mean()
        plot += p9.geom_hline(p9.aes(yintercept="baseline_accuracy"), data=dense.reset_index(), color="grey")
    # plotnine refuses a figure over 25 inches a side: past 6 columns or 7 rows the panels shrink
    width = min(3.4, 22.5 / n_columns) * n_columns + 2.5 if by_criterion else 14
    n_rows = -(-n_panels // n_columns)
    height = min(3.0, 23.0 / n_rows) * n_rows + 1.8
    return plot + THEME + p9.theme(figure_size=(width, height), strip_text=p9.element_text(size=8))


def iterative_figure(curve: pd.DataFrame) -> p9.ggplot:
    """Test accuracy against the remaining fraction of weights: a line per criterion, the controls
    dashed or dotted, a panel per protocol and allocation; the band is +/- 1 std over seeds and draws."""
    frame, several_datasets = _iterative_frame(curve)
    return _iterative_plot(frame, several_datasets, "mean_accuracy", "std_accuracy",
                           "Test accuracy after the level's training (mean +/- 1 std)",
                           "Iterative pruning: accuracy per level",
                           "Solid: the pruned network of the chain; dashed: same mask, fresh initialisation; dotted: "
                           "random mask, same kept counts;\ndash-dot (own panels): the masked start untrained. Grey: "
                           "the dense network compared with. Each panel has its own y scale.", baselines=True)


def iterative_early_stop_figure(curve: pd.DataFrame, validation: bool = True) -> p9.ggplot:
    """The early-stopping epoch (lowest validation loss) against the remaining fraction of weights;
    without validation data (``validation`` False) every level's last epoch, and the figure says so."""
    frame, several_datasets = _iterative_frame(curve)
    frame = frame[frame["variant"].astype(str) != "supermask"]
    label = ("Early-stopping epoch (lowest validation loss)" if validation
             else "Early-stopping epoch: none (no validation data; the last epoch)")
    note = ("Lottery tickets train faster than the dense network (Frankle & Carbin 2019): a lower epoch at the "
            "same remaining fraction." if validation else
            "training.validation_split is 0: no validation loss to stop on, so every level shows its last epoch.")
    return _iterative_plot(frame, several_datasets, "mean_early_stop_epoch", "std_early_stop_epoch", label,
                           "Iterative pruning: how fast each level trains", note)
