"""The article's figures, drawn with plotnine. Each ``figureN`` returns a ggplot."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import plotnine as p9

from .change_scale import ChangeScales
from .data import dataset as dataset_entry
from .fileio import atomic_path
from .model import ALL_LAYERS, scope_order
from .store import WeightStore

KIND_LABELS = {"kernel": "Weights", "bias": "Biases"}
RELATIVE_WINDOW = (-100.0, 100.0)  # Figure 2's relative panels show this range, as the article does
THEME = p9.theme_bw() + p9.theme(figure_size=(10, 6), legend_position="right")


def scope_label(scope: str, layer_names: list[str] | None = None) -> str:
    """"Layer 2", or with the network's layer names (``LayerStack.names``) "Layer 2: fc1"."""
    if str(scope) == ALL_LAYERS:
        return "All layers"
    return f"Layer {scope}" + (f": {layer_names[int(scope)]}" if layer_names else "")


def _scope_factor(scopes: pd.Series, layer_names: list[str] | None = None) -> pd.Categorical:
    labels = [scope_label(s, layer_names) for s in scopes.astype(str)]
    order = [scope_label(s, layer_names) for s in sorted(set(scopes.astype(str)), key=scope_order)]
    return pd.Categorical(labels, categories=order)


def with_dataset_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """``frame`` with a ``dataset_title`` factor (config order), and whether it holds several
    datasets (then each figure draws one row of panels per dataset)."""
    titles = {name: dataset_entry(name).title for name in pd.unique(frame["dataset"])}
    frame = frame.copy()
    frame["dataset_title"] = pd.Categorical(frame["dataset"].map(titles), categories=list(titles.values()))
    return frame, len(titles) > 1


def panels(several_datasets: bool, ncol: int = 2) -> p9.facet:
    """One panel per scope; with several datasets a grid: a row per dataset (own y range)."""
    if several_datasets:
        return p9.facet_grid("dataset_title ~ panel", scales="free_y")
    return p9.facet_wrap("~ panel", ncol=ncol)


def save(plot: p9.ggplot, png: str | os.PathLike, pdf: str | os.PathLike, dpi: int) -> None:
    """Write PNG and PDF atomically (plotnine's warnings about dropped rows go to the log)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for path, kwargs in ((png, {"dpi": dpi}), (pdf, {})):
            with atomic_path(path) as tmp:
                plot.save(tmp, format=os.path.splitext(str(path))[1][1:], verbose=False, **kwargs)


def _densities(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split groups into those with spread (drawn as densities) and constant ones (drawn as a line)."""
    spread = frame.groupby(keys)["value"].transform(lambda v: v.max() > v.min())
    return frame[spread], frame[~spread].drop_duplicates(keys)


def density_curves(frame: pd.DataFrame, panel_keys: list[str], group_keys: list[str], n: int = 1024) -> pd.DataFrame:
    """Gaussian kernel density of ``value`` per group (nrd0 bandwidth, cut 3), at ``n`` points over
    its panel's range: what ``geom_density`` draws, for ``geom_line``.

    Computed here because plotnine's stat evaluates the kernel sum directly at every point
    (statsmodels' ``KDEUnivariate.evaluate``: values x points floats, about 8 KB per parameter
    drawn, 30 GB for a network of 2.4 M weights); the FFT estimate on statsmodels' own grid,
    interpolated, costs memory in proportion to the values alone."""
    import statsmodels.api as sm
    from plotnine.stats.stat_density import nrd0

    pieces = []
    for _, panel in frame.groupby(panel_keys, observed=True, sort=False):
        grid = np.linspace(panel["value"].min(), panel["value"].max(), n)
        for _, group in panel.groupby(group_keys, observed=True, sort=False):
            values = group["value"].to_numpy(float)
            kde = sm.nonparametric.KDEUnivariate(values)
            kde.fit(kernel="gau", bw=nrd0(values), fft=True, cut=3)
            density = np.interp(grid, kde.support, kde.density, left=0.0, right=0.0)
            piece = pd.DataFrame({"value": grid, "density": density})
            for key in panel_keys + group_keys:
                piece[key] = group[key].iloc[0]
            pieces.append(piece)
    out = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        columns=["value", "density", *panel_keys, *group_keys])
    for key in panel_keys + group_keys:  # keep the factors' level order (facets, legend)
        if isinstance(frame[key].dtype, pd.CategoricalDtype):
            out[key] = pd.Categorical(out[key], categories=frame[key].cat.categories)
    return out


def _empty_panels(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """A text label for every panel whose values are all infinite, so it is not silently blank."""
    rows = []
    for key, group in frame.groupby(keys, observed=True):
        if not np.isfinite(group["value"]).any():
            row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
            n_inf = int(np.isinf(group["value"]).sum())
            row["label"] = f"no finite value to draw ({n_inf} infinite or off-window)"
            rows.append(row)
    out = pd.DataFrame(rows, columns=keys + ["label"])
    if "kind" in out:
        out["kind"] = pd.Categorical(out["kind"], categories=list(KIND_LABELS.values()))
    return out


def figure1(weights: WeightStore, reference_epoch: int, layer_names: list[str] | None = None) -> p9.ggplot:
    """Density of weights and biases per layer, before (reference epoch) and after training."""
    rows = []
    stages = {reference_epoch: f"Before (epoch {reference_epoch})", weights.n_epochs: f"After (epoch {weights.n_epochs})"}
    for epoch, stage in stages.items():
        net = weights.network(epoch)
        for layer in range(net.n_layers):
            for kind, values in (("kernel", net.kernels[layer]), ("bias", net.biases[layer])):
                rows.append(pd.DataFrame({"value": values.ravel().astype(float), "layer": scope_label(layer, layer_names),
                                          "kind": KIND_LABELS[kind], "stage": stage}))
    frame = pd.concat(rows, ignore_index=True)
    frame["stage"] = pd.Categorical(frame["stage"], categories=list(stages.values()))
    frame["kind"] = pd.Categorical(frame["kind"], categories=list(KIND_LABELS.values()))
    spread, constant = _densities(frame, ["layer", "kind", "stage"])
    caption = ""
    if len(constant):
        caption = "Vertical lines: groups whose values are all equal (" + ", ".join(
            f"{r.layer} {r.kind.lower()} {r.stage.split(' (')[0].lower()} = {r.value:g}" for r in constant.itertuples()) + ")"
    return (
        p9.ggplot(density_curves(spread, ["stage", "kind"], ["layer"]), p9.aes("value", "density", color="layer"))
        + p9.geom_line()
        + p9.geom_vline(p9.aes(xintercept="value", color="layer"), data=constant, linetype="dashed")
        + p9.facet_wrap("~ stage + kind", scales="free", ncol=2)
        + p9.labs(x="Parameter value", y="Density", color="", title="Figure 1: parameter distributions",
                  caption=caption)
        + THEME
    )


def _change_frame(scales: ChangeScales, measure: str, layer_names: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for layer in range(scales.n_layers):
        for kind in ("kernel", "bias"):
            values = scales.stats[layer][kind][measure].ravel()
            rows.append(pd.DataFrame({"value": values, "layer": scope_label(layer, layer_names), "kind": KIND_LABELS[kind]}))
    frame = pd.concat(rows, ignore_index=True)
    frame["kind"] = pd.Categorical(frame["kind"], categories=list(KIND_LABELS.values()))
    return frame


def figure2(scales: ChangeScales, layer_names: list[str] | None = None) -> p9.ggplot:
    """Density of the absolute change (top) and signed relative change in % (bottom)."""
    absolute = _change_frame(scales, "absolute", layer_names).assign(measure="Absolute  w' - w")
    relative = _change_frame(scales, "relative", layer_names).assign(measure="Relative  (w' - w) / w x 100")
    infinite = ~np.isfinite(relative["value"])
    lo, hi = RELATIVE_WINDOW
    outside = np.isfinite(relative["value"]) & ~relative["value"].between(lo, hi)
    notes = [f"Relative panels show [{lo:g}, {hi:g}] %."]
    for (layer, kind), group in relative.assign(inf=infinite, out=outside).groupby(["layer", "kind"], observed=True):
        if group["inf"].any() or group["out"].any():
            notes.append(f"{layer} {kind.lower()}: {int(group['inf'].sum())} infinite (w = 0) and "
                         f"{int(group['out'].sum())} outside the window not drawn.")
    frame = pd.concat([absolute, relative[~infinite & ~outside]], ignore_index=True)
    measures = [absolute["measure"][0], relative["measure"][0]]
    frame["measure"] = pd.Categorical(frame["measure"], categories=measures)
    spread, constant = _densities(frame, ["layer", "kind", "measure"])
    empty = _empty_panels(relative.assign(value=relative["value"].where(~outside, np.inf)), ["kind"])
    empty["measure"] = pd.Categorical([measures[1]] * len(empty), categories=measures)
    return (
        p9.ggplot(density_curves(spread, ["measure", "kind"], ["layer"]), p9.aes("value", "density", color="layer"))
        + p9.geom_line()
        + p9.geom_vline(p9.aes(xintercept="value", color="layer"), data=constant, linetype="dashed")
        + p9.geom_text(p9.aes(x=0, y=0, label="label"), data=empty, inherit_aes=False, va="bottom", size=8)
        + p9.facet_wrap("~ measure + kind", scales="free", ncol=2)
        + p9.labs(x="Change", y="Density", color="", title="Figure 2: how much each parameter changed",
                  caption="\n".join(notes))
        + THEME
    )


def figure3(scales: ChangeScales, layer_names: list[str] | None = None) -> p9.ggplot:
    """Box plot of the signed relative change (%) per layer; infinite values are counted, not drawn."""
    relative = _change_frame(scales, "relative", layer_names)
    infinite = ~np.isfinite(relative["value"])
    notes = [f"{layer} {kind.lower()}: {int(n)} infinite values (w = 0, w' != 0) not drawn"
             for (layer, kind), n in relative[infinite].groupby(["layer", "kind"], observed=True).size().items() if n]
    finite = relative[~infinite].assign(x="")
    empty = _empty_panels(relative, ["layer", "kind"]).assign(x="", value=0.0)
    return (
        p9.ggplot(finite, p9.aes("x", "value"))
        + p9.geom_boxplot(outlier_size=0.8, outlier_alpha=0.5)
        + p9.geom_text(p9.aes(label="label"), data=empty, size=8)
        + p9.coord_flip()
        + p9.facet_wrap("~ layer + kind", scales="free", ncol=2)
        + p9.labs(x="", y="Relative change (w' - w) / w x 100 (%)", title="Figure 3: relative change per layer",
                  caption="\n".join(notes) or "No infinite values.")
        + THEME
    )


def _band_plot(summary: pd.DataFrame, x: str, xlab: str, title: str, color: str | None = None,
               layer_names: list[str] | None = None) -> p9.ggplot:
    """Mean accuracy with a light band of +/- 1 std over all repeats; with several network
    seeds also a darker band of +/- 1 std over the seeds' means."""
    frame, several_datasets = with_dataset_rows(summary)
    frame["panel"] = _scope_factor(frame["scope"], layer_names)
    frame["low"] = frame["mean_accuracy"] - frame["std_accuracy"]
    frame["high"] = frame["mean_accuracy"] + frame["std_accuracy"]
    frame["seed_low"] = frame["seed_mean_accuracy"] - frame["seed_std_accuracy"]
    frame["seed_high"] = frame["seed_mean_accuracy"] + frame["seed_std_accuracy"]
    group = {} if color is None else {"fill": color, "group": color}
    aes_line = p9.aes(x, "mean_accuracy") if color is None else p9.aes(x, "mean_accuracy", color=color, group=color)
    plot = p9.ggplot(frame) + p9.geom_ribbon(p9.aes(x, ymin="low", ymax="high", **group), alpha=0.2)
    n_seeds = int(frame["n_seeds"].max())
    label = "Test accuracy (mean +/- 1 std)"
    if n_seeds > 1:
        plot += p9.geom_ribbon(p9.aes(x, ymin="seed_low", ymax="seed_high", **group), alpha=0.45)
        label = f"Test accuracy (mean; light: +/- 1 std of repeats, dark: of {n_seeds} networks' means)"
    return (
        plot
        + p9.geom_line(aes_line)
        + panels(several_datasets)
        + p9.labs(x=xlab, y=label, title=title)
        + THEME
        + (p9.theme(figure_size=(14, 3 * frame["dataset_title"].nunique() + 1)) if several_datasets else p9.theme())
    )


def figure4(summary: pd.DataFrame, reset_biases_max: float, layer_names: list[str] | None = None) -> p9.ggplot:
    shown = summary[summary["value"] <= reset_biases_max]
    n = int(summary["n"].max())
    return _band_plot(shown, "value", "U (biases reset to Uniform[0, U))",
                      f"Figure 4: resetting biases ({n} evaluations per point)", layer_names=layer_names)


def _selected_labels(summary: pd.DataFrame, layer_names: list[str] | None = None) -> pd.DataFrame:
    """'% of weights selected' at a few T ticks per panel: the article's top axis."""
    values = np.sort(summary["value"].unique())
    ticks = values[np.linspace(0, len(values) - 1, min(5, len(values))).round().astype(int)]
    summary, _ = with_dataset_rows(summary)
    labels = summary[summary["value"].isin(ticks)].drop_duplicates(["dataset_title", "scope", "value"]).copy()
    labels["panel"] = _scope_factor(labels["scope"], layer_names)
    labels["label"] = (labels["fraction_disturbed"] * 100).map(lambda p: f"{p:.1f}%")
    # A row of labels just above the highest band of each dataset's row, like the article's top axis.
    band_top = (summary["mean_accuracy"] + summary["std_accuracy"]).groupby(summary["dataset_title"], observed=True)
    band_bottom = (summary["mean_accuracy"] - summary["std_accuracy"]).groupby(summary["dataset_title"], observed=True)
    top, bottom = band_top.max(), band_bottom.min()
    y = top + 0.08 * (top - bottom).clip(lower=0.01)
    labels["y"] = labels["dataset_title"].map(y).astype(float)
    return labels


def figure5(summary: pd.DataFrame, layer_names: list[str] | None = None) -> p9.ggplot:
    labels = _selected_labels(summary, layer_names)
    return (
        _band_plot(summary, "value", "T: weights with change scale c <= T shuffled (%)",
                   "Figure 5: shuffling weights with small change scale", layer_names=layer_names)
        + p9.geom_text(p9.aes("value", "y", label="label"), data=labels, size=7, va="center")
        + p9.labs(caption="Labels on top: % of the panel's weights selected at that T.")
    )


def figure6(summary: pd.DataFrame, layer_names: list[str] | None = None) -> p9.ggplot:
    frame = summary.assign(U=summary["reset_upper"].map(lambda u: f"U = {u:g}"))
    labels = _selected_labels(summary, layer_names)
    return (
        _band_plot(frame, "value", "T: weights with change scale c <= T reset (%)",
                   "Figure 6: resetting weights with small change scale", color="U", layer_names=layer_names)
        + p9.geom_text(p9.aes("value", "y", label="label"), data=labels, size=7, va="center")
        + p9.labs(color="", fill="", caption="U = 0: set to 0; U = 1: Uniform[0, 1). Labels on top: % of weights selected.")
    )


def figure7(summary: pd.DataFrame, layer_names: list[str] | None = None) -> p9.ggplot:
    """Accuracy against the fraction kept; with several datasets one line (and color) each
    (``layer_names``: unused, the figure has no per-layer panel)."""
    frame, several_datasets = with_dataset_rows(summary.sort_values("value", kind="stable"))
    labels = pd.concat([group.iloc[::max(1, len(group) // 6)] for _, group in
                        frame.groupby("dataset_title", observed=True)])
    labels = labels.assign(label=labels["value"].map(lambda t: f"T={t:g}"))
    spread = max(frame["mean_accuracy"].max() - frame["mean_accuracy"].min(), 0.001)
    frame["seed_low"] = frame["seed_mean_accuracy"] - frame["seed_std_accuracy"]
    frame["seed_high"] = frame["seed_mean_accuracy"] + frame["seed_std_accuracy"]
    n_seeds = int(frame["n_seeds"].max())
    by_dataset = {"color": "dataset_title", "fill": "dataset_title", "group": "dataset_title"} if several_datasets else {}
    plot = p9.ggplot(frame, p9.aes("fraction_kept", "mean_accuracy", **by_dataset))
    ylab = "Test accuracy"
    if n_seeds > 1:  # deterministic per network: the only spread is between trained networks
        plot += p9.geom_ribbon(p9.aes(ymin="seed_low", ymax="seed_high"), alpha=0.3)
        ylab = f"Test accuracy (mean +/- 1 std over {n_seeds} networks)"
    return (
        plot
        + p9.geom_line()
        + p9.geom_point(size=1)
        + p9.geom_text(p9.aes(label="label"), data=labels, size=7, va="bottom", nudge_y=0.03 * spread,
                       show_legend=False)
        + p9.labs(color="Dataset", fill="Dataset")
        + p9.scale_x_reverse()
        + p9.labs(x="Fraction of parameters kept (mean over networks)", y=ylab,
                  title="Figure 7: final model (biases 0, weights with c <= T set to 0)",
                  caption="Labels: the change-scale threshold T (%) of each point.")
        + THEME
    )
