"""The experiment and pruning figures with one and with two datasets (plotnine objects, not pixels)."""

import numpy as np
import pandas as pd
import plotnine as p9

from useless_params import plots


def summary(datasets, values=(0.0, 5.0, 10.0)):
    """An aggregated reset_biases-like table: every dataset x scope x value."""
    rows = []
    for d_index, dataset in enumerate(datasets):
        for scope in ("0", "1", "all"):
            for value in values:
                accuracy = 0.95 - 0.1 * d_index - 0.01 * value
                rows.append({"dataset": dataset, "experiment": "reset_biases", "scope": scope, "value": value,
                             "mean_accuracy": accuracy, "std_accuracy": 0.01, "n": 8, "n_seeds": 2,
                             "seed_mean_accuracy": accuracy, "seed_std_accuracy": 0.005,
                             "fraction_disturbed": value / 20, "fraction_kept": 1 - value / 40})
    return pd.DataFrame(rows)


def facet_rows(plot: p9.ggplot) -> list[str]:
    """The dataset titles the figure draws as rows of panels (none for a single dataset)."""
    if isinstance(plot.facet, p9.facet_grid):
        return [str(t) for t in plot.data["dataset_title"].cat.categories]
    return []


def test_one_dataset_keeps_the_articles_layout():
    plot = plots.figure4(summary(["mnist"]), reset_biases_max=20)
    assert isinstance(plot.facet, p9.facet_wrap) and facet_rows(plot) == []
    plot.draw()  # renders without error


def test_two_datasets_get_one_row_of_panels_each_in_config_order():
    frame = summary(["mnist", "fashion_mnist"])
    for plot in (plots.figure4(frame, reset_biases_max=20), plots.figure5(frame)):
        assert facet_rows(plot) == ["MNIST", "Fashion-MNIST"]
        assert plot.facet.free == {"x": False, "y": True}  # each dataset's own accuracy range
        plot.draw()


def test_figure5_top_labels_sit_above_each_datasets_own_band():
    labels = plots._selected_labels(summary(["mnist", "fashion_mnist"]))
    y = labels.groupby("dataset_title", observed=True)["y"].first()
    assert y["MNIST"] > 0.96 and 0.85 < y["Fashion-MNIST"] < 0.9  # not MNIST's height in Fashion's row


def test_figure7_draws_a_line_per_dataset():
    frame = summary(["mnist", "fashion_mnist"]).query("scope == 'all'").assign(experiment="final_model")
    plot = plots.figure7(frame)
    assert plot.mapping["color"] == "dataset_title"
    plot.draw()
    assert set(plot.data["dataset_title"]) == {"MNIST", "Fashion-MNIST"}


def test_pruning_figure_rows_per_dataset_and_published_points_only_for_mnist():
    rows = []
    for dataset in ("mnist", "fashion_mnist"):
        for mode, epochs in (("none", 0), ("finetune", 2)):
            for compression in (2.0, 8.0):
                rows.append({"dataset": dataset, "criterion": "magnitude", "allocation": "layer",
                             "retraining": mode, "epochs": epochs, "compression": compression,
                             "mean_accuracy": 0.9, "std_accuracy": 0.01, "baseline_accuracy": 0.95})
    from useless_params.pruning.figures import pruning_figure

    plot = pruning_figure(pd.DataFrame(rows))
    assert facet_rows(plot) == ["MNIST", "Fashion-MNIST"]
    references = [layer.geom.data for layer in plot.layers if isinstance(layer.geom.data, pd.DataFrame)
                  and "label" in layer.geom.data]
    assert references and all(set(r["dataset_title"].astype(str)) == {"MNIST"} for r in references)
    assert np.isfinite(plot.draw().get_size_inches()).all()


def test_iterative_figure_draws_small_multiples_past_six_lines_each_on_its_own_y_scale():
    """Five criteria x three trained variants would be fifteen lines in one panel: each criterion
    gets its own panel (its chain, its controls and the dense line); every panel has its own y
    scale (a rewound chain and a continued one differ in range). A few lines stay in one panel."""
    from useless_params.pruning.figures import MAX_LINES_PER_PANEL, iterative_figure

    from workflow_helpers import REPO

    curve = pd.read_csv(REPO / "docs/lenet300/lottery_ticket_seed1_all/curves.csv")
    plot = iterative_figure(curve)
    assert plot.facet.free == {"x": False, "y": True}
    facets = list(plot.data["facet"].cat.categories)
    assert facets[:5] == [f"rewound, layer: {c}" for c in sorted(curve["criterion"].unique())]
    assert len(facets) == 10  # five trained panels, five untrained (supermask) ones
    for _, panel in plot.data[plot.data["kind"] == "trained"].groupby("facet", observed=True):
        assert panel.groupby(["criterion", "variant"], observed=True).ngroups <= MAX_LINES_PER_PANEL
    plot.draw()
    one = iterative_figure(curve[curve["criterion"] == "magnitude"])
    assert list(one.data["facet"].cat.categories) == ["rewound, layer", "rewound, layer, untrained"]
    assert one.facet.free == {"x": False, "y": True}


def test_iterative_figures_of_many_panels_stay_within_plotnines_size_limit(tmp_path):
    """Two datasets x two protocols x two allocations x trained/untrained x every criterion: the
    two-datasets run's grid, which plotnine refused to save at 25.8 inches tall."""
    from useless_params import plots
    from useless_params.pruning.figures import iterative_early_stop_figure, iterative_figure

    from workflow_helpers import REPO

    curve = pd.read_csv(REPO / "docs/lenet300/lottery_ticket_seed1_all/curves.csv")
    grid = pd.concat([curve.assign(dataset=dataset, protocol=protocol, allocation=allocation)
                      for dataset in ("mnist", "fashion_mnist") for protocol in ("imp_rewind", "imp_continue")
                      for allocation in ("layer", "global")])
    for figure in (iterative_figure, iterative_early_stop_figure):
        plot = figure(grid)
        assert plot.data["facet"].nunique() >= 40
        width, height = plot.theme.themeables.property("figure_size")
        assert width <= 25 and height <= 25
        plots.save(plot, tmp_path / "f.png", tmp_path / "f.pdf", 20)
