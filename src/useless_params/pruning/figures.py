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
