"""The result tables of the docs, written from the CSVs committed beside them.

Each table is one registry entry (``TABLES``): the name a page marks it with, and the
function that writes its markdown from the committed result files (``docs/results/``,
``docs/lenet300/``: copies of what a workflow run wrote). In a page a table sits between

    <!-- generated-table: NAME -->
    ...
    <!-- end generated-table -->

``python3 -m useless_params.docs_tables`` rewrites every such block in README.md,
config/README.md and docs/*.md (``--collect RUN_DIR --wall SECONDS`` first copies a fresh
default run's files in); ``--check`` changes nothing and exits 1 naming each page
whose tables differ from what it would write (tests/test_docs.py runs it), so a rerun that
changes a number changes the page, or a test fails.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import InputError
from .registry import lookup, registry

BLOCK = re.compile(r"(<!-- generated-table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated-table -->)", re.S)
LENET = Path("docs/lenet300")
ARTICLE_RUN = Path("docs/results/article")


def _read(root: Path, relative: Path):
    import pandas as pd

    frame = pd.read_csv(_existing(root, relative))
    if "status" in frame:  # published points the run could not be compared with
        frame = frame[frame["status"] == "ran"]
    return frame


def _existing(root: Path, relative: Path) -> Path:
    """``root / relative``, or one error naming the missing result file."""
    path = root / relative
    if not path.exists():
        raise InputError(f"{relative}: no such result file (the table that quotes it cannot be written)")
    return path


def _wall_seconds(root: Path, run: Path) -> float:
    """The measured wall time a committed run's ``wall_seconds.txt`` holds."""
    path = root / run / "wall_seconds.txt"
    if not path.exists():
        raise InputError(f"{run / 'wall_seconds.txt'}: no such file (collect the run with --wall SECONDS)")
    return float(path.read_text())


def _acc(mean: float, std: float | None = None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    return f"{mean:.4f}" if std is None or math.isnan(std) else f"{mean:.4f} ({std:.2g})"


def _pct(fraction: float) -> str:
    value = 100 * fraction
    return f"{value:.3g} %" if value < 10 else f"{value:.1f} %"


def _signed(value: float, digits: int) -> str:
    """``value`` with its sign, a typographic minus (as the prose around the tables writes it)."""
    return f"{value:+.{digits}f}".replace("-", "\u2212")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


CRITERION_NAMES = {"change_scale": "change scale (the article's)", "magnitude": "magnitude", "movement": "movement",
                   "magnitude_increase": "magnitude increase", "random": "random"}


def _variant(frame, point: str, criterion: str, variant: str):
    rows = frame[(frame["point"] == point) & (frame["criterion"] == criterion) & (frame["variant"] == variant)]
    return rows.iloc[0] if len(rows) else None


# --- The tables.

def lenet300_published_points(root: Path) -> str:
    """Magnitude on 3 seeds at each published point: ticket, controls and dense (literature.csv)."""
    import pandas as pd

    frame = pd.concat([_read(root, LENET / "lottery_ticket_3seeds_magnitude/literature.csv"),
                       _read(root, LENET / "han_3seeds_magnitude/literature.csv")], ignore_index=True)
    rows = []
    for point in dict.fromkeys(frame["point"]):
        ticket = _variant(frame, point, "magnitude", "pruned")
        controls = [_variant(frame, point, "magnitude", v) for v in ("reinit", "random_mask")]
        published = (f"{ticket['published_accuracy']:.4f}" if not math.isnan(ticket["published_accuracy"])
                     else "—")
        rows.append([f"{ticket['paper']}: {ticket['claim']}", f"{_pct(ticket['published_kept_fraction'])}, {published}",
                     f"{_pct(ticket['kept_fraction'])} (level {int(ticket['level'])})",
                     _acc(ticket["mean_accuracy"], ticket["std_accuracy"]),
                     " / ".join(_acc(c["mean_accuracy"], c["std_accuracy"]) if c is not None else "—" for c in controls),
                     _acc(ticket["dense_accuracy"]), f"{ticket['points_vs_dense']:+.2f}",
                     f"{_acc(ticket['mean_early_stop_accuracy'])} vs {_acc(ticket['dense_early_stop_accuracy'])}"])
    return _table(["published point", "paper: kept, accuracy", "ours: kept", "ticket, 3 seeds: mean (std)",
                   "reinit / random mask", "dense (as many epochs)", "points vs dense",
                   "at early stop: ticket vs dense"], rows)


def lenet300_criteria_lottery_ticket(root: Path) -> str:
    """Every criterion through the lottery-ticket protocol, seed 1 (literature.csv, operating_points.csv)."""
    frame = _read(root, LENET / "lottery_ticket_seed1_all/literature.csv")
    points = _read(root, LENET / "lottery_ticket_seed1_all/operating_points.csv")
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        deep = [_variant(frame, "frankle2019_3.6", criterion, v) for v in ("pruned", "reinit", "random_mask")]
        mid = _variant(frame, "frankle2019_13.5", criterion, "pruned")
        if mid is None or deep[0] is None:
            continue
        reach = points[(points["criterion"] == criterion) & (points["variant"] == "pruned")].iloc[0]
        rows.append([name, _acc(mid["mean_accuracy"]), *(_acc(v["mean_accuracy"]) if v is not None else "—" for v in deep),
                     f"{_pct(reach['min_kept_fraction_within_0.5_points'])} / "
                     f"{_pct(reach['min_kept_fraction_within_1_points'])}"])
    kept_mid = _pct(frame[frame["point"] == "frankle2019_13.5"]["kept_fraction"].iloc[0])
    kept_deep = _pct(frame[frame["point"] == "frankle2019_3.6"]["kept_fraction"].iloc[0])
    return _table(["criterion", f"ticket at {kept_mid}", f"ticket at {kept_deep}", f"reinit at {kept_deep}",
                   f"random mask at {kept_deep}", "ticket within 0.5 / 1 point of dense down to"], rows)


def lenet300_criteria_han(root: Path) -> str:
    """Every criterion through Han et al.'s protocol, seed 1, at the level of their 12x point."""
    frame = _read(root, LENET / "han_seed1_all/literature.csv")
    points = _read(root, LENET / "han_seed1_all/operating_points.csv")
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        row = _variant(frame, "han2015_12x", criterion, "pruned")
        if row is None:
            continue
        reach = points[(points["criterion"] == criterion) & (points["variant"] == "pruned")].iloc[0]
        rows.append([name, f"{_pct(row['kept_fraction'])} (level {int(row['level'])})", _acc(row["mean_accuracy"]),
                     f"{row['points_vs_dense']:+.2f}",
                     f"{_pct(reach['min_kept_fraction_within_0.5_points'])} / "
                     f"{_pct(reach['min_kept_fraction_within_1_points'])}"])
    return _table(["criterion", "kept", "accuracy", "points vs dense", "within 0.5 / 1 point of dense down to"], rows)


# --- The article's network, the default run (docs/results/article/: copies of its small result CSVs).

# The article's numbers, read off its text and figures (../shared/reference/README.md): the
# values our run is set against. "~": read off a plot by eye.
ARTICLE = {
    "test_accuracy": "0.9748",
    "table1": {"0": "0.9721 (0.00052)", "1": "0.9749 (0.00013)", "2": "0.9747 (0.00018)", "all": "0.9720 (0.00060)"},
    "table1_mean": {"0": 0.9721, "1": 0.9749, "2": 0.9747, "all": 0.9720},
    "figure4": {5: "~0.70 / 0.93 / 0.96 / 0.55", 20: "~0.25 / 0.48 / 0.56 / 0.11"},
    "figure7": {20: "~0.86 kept, accuracy ~0.965", 29: "0.7819 kept, accuracy 0.917"},
}
SCOPES = ["0", "1", "2", "all"]
HAN_TARGET = 0.983  # issue 22's target for Han et al.'s 12x point (the paper: 0.9841)


@dataclass(frozen=True)
class CommittedRun:
    """A workflow run whose small result files the docs quote, copied into ``directory``."""

    name: str
    directory: Path
    # file in ``directory`` <- its path in the run; a source with a ``*`` copies every match,
    # keeping its path below the part before the first ``*`` (a directory of per-seed files)
    files: dict[str, str]
    command: str  # how the run was made, in the run's directory


ARTICLE_RUN_FILES = {
    "table1.csv": "results/table1.csv",
    "reset_biases.csv": "results/experiments/reset_biases.csv",
    "final_model.csv": "results/experiments/final_model.csv",
    "change_scale_fractions.csv": "results/networks/mnist/seed1/change_scale_fractions.csv",
    "training.json": "results/networks/mnist/seed1/training.json",
    "pruning_operating_points.csv": "results/pruning/operating_points.csv",
    "pruning_curves.csv": "results/pruning/curves.csv",
    "iterative_operating_points.csv": "results/pruning/iterative/operating_points.csv",
    "job_costs.csv": "benchmarks/job_costs.csv",
}
TRAININGS = "results/networks/*/seed*/training.json"  # -> networks/{dataset}/seed{seed}/training.json
FIVE_SEEDS_RUN = Path("docs/results/five_seeds")
TWO_DATASETS_RUN = Path("docs/results/two_datasets")
LENET5_RUN = Path("docs/results/lenet5")
LENET5_ALL_RUN = Path("docs/results/lenet5_all")
# Made in the run's directory after `snakemake all` (the per-layer columns of Han et al.'s Table 3)
LENET5_LAYERS = "results/layers_magnitude_12x.csv"

RUNS: dict[str, CommittedRun] = registry(
    CommittedRun("article", ARTICLE_RUN, ARTICLE_RUN_FILES, "snakemake all --cores 2"),
    CommittedRun("five_seeds", FIVE_SEEDS_RUN, {
        "table1.csv": "results/table1.csv",
        "reset_biases.csv": "results/experiments/reset_biases.csv",
        "final_model.csv": "results/experiments/final_model.csv",
        "networks": TRAININGS,
        "figure4.png": "results/figures/figure4.png",
        "figure7.png": "results/figures/figure7.png",
    }, "snakemake results/table1.csv results/figures/figure4.png results/figures/figure7.png --cores 2 "
       "--configfile configs/five_seeds.yaml"),
    CommittedRun("two_datasets", TWO_DATASETS_RUN, {
        "table1.csv": "results/table1.csv",
        "reset_biases.csv": "results/experiments/reset_biases.csv",
        "shuffle_weights.csv": "results/experiments/shuffle_weights.csv",
        "final_model.csv": "results/experiments/final_model.csv",
        "pruning_operating_points.csv": "results/pruning/operating_points.csv",
        "pruning_curves.csv": "results/pruning/curves.csv",
        "job_costs.csv": "benchmarks/job_costs.csv",
        "networks": TRAININGS,
        "figure4.png": "results/figures/figure4.png",
        "figure7.png": "results/figures/figure7.png",
        "pruning.png": "results/figures/pruning.png",
    }, "snakemake all --cores 2 --configfile configs/two_datasets.yaml"),
    CommittedRun("lenet5", LENET5_RUN, {
        "training.json": "results/networks/mnist/seed1/training.json",
        "history.csv": "results/networks/mnist/seed1/history.csv",
        "networks": TRAININGS,
    }, "snakemake results/networks/mnist/seed{1,2,3}/training.json --cores 2 --configfile configs/lenet5.yaml "
       "--config 'training={seeds: [1, 2, 3]}'"),
    CommittedRun("lenet5_all", LENET5_ALL_RUN, {
        **ARTICLE_RUN_FILES,  # the default run's files, and these
        "shuffle_weights.csv": "results/experiments/shuffle_weights.csv",
        "iterative_curves.csv": "results/pruning/iterative/curves.csv",
        "layers_magnitude_12x.csv": LENET5_LAYERS,
        "figure1.png": "results/figures/figure1.png",
        "figure4.png": "results/figures/figure4.png",
        "figure7.png": "results/figures/figure7.png",
        "pruning.png": "results/figures/pruning.png",
        "iterative.png": "results/figures/iterative.png",
    }, "snakemake all --cores 2 --configfile configs/lenet5.yaml; python3 -m useless_params.pruning.layer_report "
       "results/networks/mnist/seed1/weights.h5 --criterion magnitude --allocation global layer --compression 12 "
       f"--out {LENET5_LAYERS}"),
)


def _sources(run: Path, source: str) -> list[tuple[Path, Path]]:
    """(file in the run, its path below the copy) for one ``files`` entry."""
    if "*" not in source:
        return [(run / source, Path())]
    base = run / source[:source.index("*")].rsplit("/", 1)[0]
    return [(match, match.relative_to(base)) for match in sorted(run.glob(source))]


def collect(run: Path, root: Path, wall_seconds: float | None, name: str = "article") -> None:
    """Copy a finished run's quoted files into its directory under ``docs/results/``."""
    import shutil

    entry = lookup(RUNS, name, what="committed run")
    copies, missing = [], []
    for target, source in entry.files.items():
        found = _sources(run, source)
        if not found or not all(path.is_file() for path, _ in found):
            missing.append(source)
        copies += [(path, Path(target) / below) for path, below in found]
    if missing:
        raise InputError(f"{run}: no {', '.join(missing)} (run `{entry.command}` there first)")
    directory = root / entry.directory
    directory.mkdir(parents=True, exist_ok=True)
    for path, target in copies:
        (directory / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, directory / target)
    if wall_seconds is not None:
        (directory / "wall_seconds.txt").write_text(f"{wall_seconds:.1f}\n")


def _article_run(root: Path, name: str):
    return _read(root, ARTICLE_RUN / name)


def article_vs_ours(root: Path) -> str:
    """The default run against the article: trained accuracy, Table 1, Figures 4, 5 and 7."""
    import json

    training = json.loads((root / ARTICLE_RUN / "training.json").read_text())
    table1 = _article_run(root, "table1.csv")
    table1 = table1.set_index(table1["scope"].astype(str))
    resets = _article_run(root, "reset_biases.csv")
    fractions = _article_run(root, "change_scale_fractions.csv")
    final = _article_run(root, "final_model.csv").set_index("value")
    ours = training["test_accuracy"]
    rows = [["test accuracy of the trained model", ARTICLE["test_accuracy"], f"{ours:.4f}",
             f"{ours - float(ARTICLE['test_accuracy']):+.4f}"]]
    for scope in SCOPES:
        row = table1.loc[scope]
        label = "Table 1, shuffle biases, " + ("all layers" if scope == "all" else f"layer {scope}")
        rows.append([label, ARTICLE["table1"][scope], _acc(row["mean_accuracy"], row["std_accuracy"]),
                     f"{row['mean_accuracy'] - ARTICLE['table1_mean'][scope]:+.4f}"])
    for u in (5, 20):
        at = resets[resets["value"] == u].set_index(resets[resets["value"] == u]["scope"].astype(str))
        rows.append([f"Figure 4, U = {u}: layer 0 / 1 / 2 / all", ARTICLE["figure4"][u],
                     " / ".join(f"{at.loc[s, 'mean_accuracy']:.3f}" for s in SCOPES), "see below"])
    shares = []
    for scope in SCOPES:
        part = fractions[fractions["scope"].astype(str) == scope].set_index("threshold")["fraction_selected"]
        shares.append(("all" if scope == "all" else f"L{scope}") + " " +
                      " / ".join(f"{100 * part.loc[t]:.1f}" for t in (25, 50, 75)))
    rows.append(["Figure 5, % of weights with c <= 25 / 50 / 75 (reference epoch 0)", "—", "; ".join(shares), ""])
    for t in (20, 29):
        row = final.loc[t]
        rows.append([f"Figure 7, T = {t}", ARTICLE["figure7"][t],
                     f"{row['fraction_kept']:.3f} kept, accuracy {row['mean_accuracy']:.4f}", "see below"])
    return _table(["quantity", "article", "ours", "difference"], rows)


MODES = [("none", "one-shot"), ("finetune", "fine-tune"), ("rewind", "rewind")]


def _ratio(value: float) -> str:
    return f"{value:g}"


def article_pruning_operating_points(root: Path) -> str:
    """Highest compression within 0.5 / 1 point per criterion, mode and allocation (operating_points.csv)."""
    points = _article_run(root, "pruning_operating_points.csv")
    epochs = points.groupby("retraining")["epochs"].first()
    header = ["criterion"]
    for mode, label in MODES:
        for allocation in ("layer", "global"):
            extra = f" {int(epochs[mode])} epochs" if mode != "none" and allocation == "layer" else ""
            header.append(f"{label}{extra}, {allocation}")
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        row = [name]
        for mode, _ in MODES:
            for allocation in ("layer", "global"):
                hit = points[(points["criterion"] == criterion) & (points["retraining"] == mode)
                             & (points["allocation"] == allocation)].iloc[0]
                row.append(f"{_ratio(hit['max_compression_within_0.5_points'])} / "
                           f"{_ratio(hit['max_compression_within_1_points'])}")
        rows.append(row)
    return _table(header, rows)


CURVE_POINTS = [("none", 2), ("none", 4), ("none", 8), ("finetune", 4), ("finetune", 8), ("finetune", 12),
                ("rewind", 8), ("rewind", 12), ("rewind", 32)]


def article_pruning_accuracy(root: Path) -> str:
    """Mean accuracy at a few ratios, global allocation (curves.csv)."""
    curves = _article_run(root, "pruning_curves.csv")
    curves = curves[curves["allocation"] == "global"]
    labels = dict(MODES)
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        row = [name.replace(" (the article's)", "")]
        for mode, ratio in CURVE_POINTS:
            hit = curves[(curves["criterion"] == criterion) & (curves["retraining"] == mode)
                         & (curves["compression"] == ratio)]
            row.append(f"{hit['mean_accuracy'].iloc[0]:.3f}" if len(hit) else "—")
        rows.append(row)
    return _table(["criterion", *(f"{labels[m]} {r}x" for m, r in CURVE_POINTS)], rows)


def article_iterative_operating_points(root: Path) -> str:
    """Smallest remaining fraction within 0.5 / 1 point per criterion and protocol (layer allocation),
    next to the one-shot comparison's best per-layer mode as a remaining fraction (1 / compression)."""
    levels = _article_run(root, "iterative_operating_points.csv")
    levels = levels[(levels["allocation"] == "layer") & (levels["variant"] == "pruned")]
    one_shot = _article_run(root, "pruning_operating_points.csv")
    one_shot = one_shot[one_shot["allocation"] == "layer"]
    labels = dict(MODES)
    header = ["criterion", "one-shot, layer (best mode)"]
    protocols = [p for p in ("imp_continue", "imp_rewind") if p in set(levels["protocol"])]
    for protocol in protocols:
        baseline = levels[levels["protocol"] == protocol]["baseline_accuracy"].iloc[0]
        header.append(f"`{protocol}`, layer (vs {baseline:.4f})")
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        mine = one_shot[one_shot["criterion"] == criterion]
        best = mine.loc[mine["max_compression_within_1_points"].idxmax()]
        row = [name, f"{1 / best['max_compression_within_0.5_points']:.2g} / "
                     f"{1 / best['max_compression_within_1_points']:.2g} ({labels[best['retraining']]})"]
        for protocol in protocols:
            hit = levels[(levels["criterion"] == criterion) & (levels["protocol"] == protocol)].iloc[0]
            row.append(f"{hit['min_kept_fraction_within_0.5_points']:.3g} / {hit['min_kept_fraction_within_1_points']:.3g}")
        rows.append(row)
    return _table(header, rows)


def job_costs_table(costs, wall_seconds: float | None = None) -> str:
    """Per rule: jobs, job time, peak memory, what a profile can ask for (a run's job_costs.csv);
    also what ``benchmarks/timing_table.py RUN_DIR`` prints."""
    import pandas as pd

    rows = []
    for row in costs.itertuples():
        mem = "n/a" if pd.isna(row.max_rss_mb) else f"{row.max_rss_mb:,.0f} MB"
        ask = "n/a" if pd.isna(row.suggested_mem_mb) else f"{int(row.suggested_mem_mb):,} MB"
        rows.append([f"`{row.rule}`", f"{row.jobs}", f"{row.total_seconds:,.0f} s", f"{row.max_seconds:,.1f} s", mem,
                     f"{ask}, {row.suggested_runtime_min} min"])
    rows.append(["all jobs", f"{costs['jobs'].sum()}", f"{costs['total_seconds'].sum():,.0f} s", "", "", ""])
    if wall_seconds is not None:
        rows.append(["wall time of `snakemake all`", "", f"{wall_seconds / 60:.1f} min", "", "", ""])
    table = _table(["rule", "jobs", "job time, total", "longest job", "peak memory (max_rss)", "profile asks for"],
                   rows)
    return table.replace("|---|---|---|---|---|---|", "|---|---:|---:|---:|---:|---|", 1)


def job_costs(root: Path) -> str:
    """The default run's job costs (docs/results/article/job_costs.csv) and its wall time."""
    wall = root / ARTICLE_RUN / "wall_seconds.txt"
    return job_costs_table(_article_run(root, "job_costs.csv"), float(wall.read_text()) if wall.exists() else None)


STAGES = [
    ("training (compiled loop)", ["train_network"], "`results/networks/{dataset}/seed{seed}/weights.h5`"),
    ("disturbance stage: change scale, experiments, tables, Figures 1-7",
     ["change_scale", "change_scale_summary", "disturb", "aggregate_experiment", "table1", "figure1", "figure2_3",
      "experiment_figure"], "Table 1, Figures 1-7"),
    ("pruning comparison: every criterion, allocation and retraining mode", ["prune", "pruning_summary", "pruning_figure"],
     "`results/pruning/`, `results/figures/pruning.png`"),
    ("iterative pruning: levels with their controls", ["prune_level", "iterative_summary", "iterative_figure"],
     "`results/pruning/iterative/`, `results/figures/iterative*.png`"),
]


def stage_times(root: Path) -> str:
    """Job time per stage of the default run (job_costs.csv) and its wall time."""
    costs = _article_run(root, "job_costs.csv").set_index("rule")
    rows = []
    for label, rules, output in STAGES:
        part = costs.loc[[r for r in rules if r in costs.index]]
        longest = part["max_seconds"].idxmax()
        rows.append([label, f"{int(part['jobs'].sum())}", f"{part['total_seconds'].sum():,.0f} s",
                     f"{part['max_seconds'].max():,.1f} s (`{longest}`)", output])
    wall = _wall_seconds(root, ARTICLE_RUN)
    rows.append(["whole workflow, `snakemake all` (stages overlap on the 2 cores)", f"{int(costs['jobs'].sum())}",
                 f"{costs['total_seconds'].sum():,.0f} s", f"wall time **{wall // 60:.0f} min {wall % 60:.0f} s**",
                 "everything above"])
    return _table(["stage", "jobs", "job time", "longest job", "outputs"], rows)


def glance(root: Path) -> str:
    """README: five to eight headline numbers, each linking to its page."""
    import json

    import pandas as pd

    training = json.loads((root / ARTICLE_RUN / "training.json").read_text())
    table1 = _article_run(root, "table1.csv")
    gap = (table1.set_index(table1["scope"].astype(str))["mean_accuracy"] - pd.Series(ARTICLE["table1_mean"])).abs()
    final = _article_run(root, "final_model.csv").set_index("value")
    points = _article_run(root, "pruning_operating_points.csv")

    def best(criterion: str) -> str:
        mine = points[(points["criterion"] == criterion) & (points["retraining"] == "finetune")]
        return _ratio(mine["max_compression_within_1_points"].max())

    lottery = _read(root, LENET / "lottery_ticket_3seeds_magnitude/literature.csv")
    ticket = _variant(lottery, "frankle2019_3.6", "magnitude", "pruned")
    reinit = _variant(lottery, "frankle2019_3.6", "magnitude", "reinit")
    han = _variant(_read(root, LENET / "han_3seeds_magnitude/literature.csv"), "han2015_12x", "magnitude", "pruned")
    seed1 = _read(root, LENET / "lottery_ticket_seed1_all/literature.csv")
    scale = _variant(seed1, "frankle2019_3.6", "change_scale", "pruned")
    magnitude = _variant(seed1, "frankle2019_3.6", "magnitude", "pruned")
    t29 = final.loc[29]
    lenet5 = json.loads(_existing(root, LENET5_RUN / "training.json").read_text())
    conv_points = _read(root, LENET5_ALL_RUN / "pruning_operating_points.csv")
    conv_layers = _read(root, LENET5_ALL_RUN / "layers_magnitude_12x.csv")
    conv_layers = conv_layers[conv_layers["allocation"] == "global"].set_index("layer")

    def conv_best(criterion: str) -> str:
        return _ratio(_best_one_shot_row(conv_points, criterion)["max_compression_within_1_points"])
    rows = [
        ["the article's trained network", f"test accuracy {training['test_accuracy']:.4f} (article {ARTICLE['test_accuracy']}); "
         f"every Table 1 entry within {gap.max():.4f} of the article's", "[results](docs/results.md)"],
        ["Figure 7: drop the weights of small change scale, and every bias",
         f"{100 * t29['fraction_kept']:.1f} % of the parameters kept at accuracy {t29['mean_accuracy']:.4f} (T = 29)",
         "[results](docs/results.md)"],
        ["is change scale a pruning criterion? (article's network, fine-tuned, within 1 point)",
         f"change scale {best('change_scale')}x, magnitude {best('magnitude')}x, random {best('random')}x",
         "[pruning](docs/pruning.md)"],
        ["lottery ticket, LeNet-300-100, 3 seeds", f"{_pct(ticket['kept_fraction'])} of the weights: ticket "
         f"{_acc(ticket['mean_accuracy'])}, dense {_acc(ticket['dense_accuracy'])}, reinitialised {_acc(reinit['mean_accuracy'])}",
         "[literature](docs/literature.md)"],
        ["Han et al. 2015, LeNet-300-100 (0.9841 at 8.3 %)", f"{_acc(han['mean_accuracy'], han['std_accuracy'])} at "
         f"{_pct(han['kept_fraction'])}: {100 * (HAN_TARGET - han['mean_accuracy']):.2f} points below the "
         f"{100 * HAN_TARGET:.1f} % target",
         "[literature](docs/literature.md)"],
        ["change scale under the lottery-ticket protocol (seed 1)", f"{_acc(scale['mean_accuracy'])} at "
         f"{_pct(scale['kept_fraction'])}, magnitude {_acc(magnitude['mean_accuracy'])}",
         "[literature](docs/literature.md)"],
        ["LeNet-5 (Caffe's net and solver, `configs/lenet5.yaml`), dense, seed 1",
         f"test error {100 * (1 - lenet5['test_accuracy']):.2f} % (Han et al.: {100 * HAN_LENET5['error']:.2f} %)",
         "[literature](docs/literature.md#lenet-5-configslenet5yaml-the-dense-network)"],
        ["LeNet-5, one-shot within 1 point (best mode and allocation)",
         f"change scale {conv_best('change_scale')}x, magnitude {conv_best('magnitude')}x; magnitude at 12x removes "
         f"{1 / conv_layers.loc['total', 'multiply_adds_fraction']:.1f}x of the FLOPs (Han et al.: "
         f"{HAN_LENET5_FLOPS_REDUCTION}x)", "[literature](docs/literature.md#lenet-5-through-every-stage-snakemake-all-configslenet5yaml-seed-1)"],
    ]
    return _table(["question", "answer (from the committed runs)", "read on"], rows)


# --- The extensions: five trained networks, two datasets (docs/results/five_seeds/, two_datasets/).

def _trainings(root: Path, run: Path) -> dict[tuple[str, int], dict]:
    """(dataset, seed) -> the run's training.json of that network."""
    import json

    found = {}
    for path in sorted((root / run / "networks").glob("*/seed*/training.json")):
        metrics = json.loads(path.read_text())
        found[(metrics["dataset"], int(metrics["seed"]))] = metrics
    if not found:
        raise InputError(f"{run / 'networks'}: no */seed*/training.json (collect the run first)")
    return found


def _at(frame, value, key: str = "value"):
    """``frame``'s rows at grid value ``value``, indexed by scope."""
    rows = frame[frame[key] == value]
    return rows.set_index(rows["scope"].astype(str))


def _seed_spread(row) -> str:
    return _acc(row["seed_mean_accuracy"], row["seed_std_accuracy"])


def five_seeds(root: Path) -> str:
    """Table 1, Figures 4 and 7 over five trained networks: mean over networks (std over their means),
    beside the article and the default run's one network (seed 1)."""
    import json

    import numpy as np

    accuracies = np.array([m["test_accuracy"] for m in _trainings(root, FIVE_SEEDS_RUN).values()])
    table1 = _read(root, FIVE_SEEDS_RUN / "table1.csv")
    table1 = table1.set_index(table1["scope"].astype(str))
    resets = _read(root, FIVE_SEEDS_RUN / "reset_biases.csv")
    final = _read(root, FIVE_SEEDS_RUN / "final_model.csv").set_index("value")
    one_table1 = _article_run(root, "table1.csv")
    one_table1 = one_table1.set_index(one_table1["scope"].astype(str))
    one_resets = _article_run(root, "reset_biases.csv")
    one_final = _article_run(root, "final_model.csv").set_index("value")
    one = float(json.loads((root / ARTICLE_RUN / "training.json").read_text())["test_accuracy"])
    rows = [["test accuracy of the trained model", ARTICLE["test_accuracy"],
             f"{accuracies.mean():.4f} ({accuracies.std():.2g}; {accuracies.min():.4f}-{accuracies.max():.4f})",
             f"{one:.4f}"]]
    for scope in SCOPES:
        label = "Table 1, shuffle biases, layer 0" if scope == "0" else (
            "Table 1, all layers" if scope == "all" else f"Table 1, layer {scope}")
        rows.append([label, f"{ARTICLE['table1_mean'][scope]:.4f}", _seed_spread(table1.loc[scope]),
                     f"{one_table1.loc[scope, 'mean_accuracy']:.4f}"])
    for u in (5, 20):
        at, one_at = _at(resets, u), _at(one_resets, u)
        rows.append([f"Figure 4, U = {u}: layer 0 / 1 / 2 / all", ARTICLE["figure4"][u],
                     " / ".join(f"{at.loc[s, 'seed_mean_accuracy']:.3f} ({at.loc[s, 'seed_std_accuracy']:.2g})"
                                for s in SCOPES),
                     " / ".join(f"{one_at.loc[s, 'mean_accuracy']:.3f}" for s in SCOPES)])
    for t in (20, 29):
        row, one_row = final.loc[t], one_final.loc[t]
        rows.append([f"Figure 7, T = {t}", ARTICLE["figure7"][t],
                     f"{row['fraction_kept']:.3f} kept, {_seed_spread(row)}",
                     f"{one_row['fraction_kept']:.3f} kept, {one_row['mean_accuracy']:.4f}"])
    return _table(["quantity", "article (one network)", f"{len(accuracies)} networks", "seed 1 alone"], rows)


def two_datasets(root: Path) -> str:
    """Seed 1 on each dataset: trained accuracy, Table 1 drops, Figures 4, 5 and 7, and two pruning
    operating points (drops against each network's own undisturbed accuracy)."""
    from .data import DATASETS

    run = TWO_DATASETS_RUN
    trainings = _trainings(root, run)
    table1 = _read(root, run / "table1.csv")
    datasets = list(dict.fromkeys(table1["dataset"]))
    resets = _read(root, run / "reset_biases.csv")
    shuffles = _read(root, run / "shuffle_weights.csv")
    final = _read(root, run / "final_model.csv")
    points = _read(root, run / "pruning_operating_points.csv")
    seed = min(s for _, s in trainings)

    def per_dataset(write: Callable[[str, float], str]) -> list[str]:
        return [write(d, trainings[(d, seed)]["test_accuracy"]) for d in datasets]

    def of(frame, dataset: str, value):
        """``frame``'s rows of ``dataset`` by scope, at grid value ``value`` (Table 1: give the dataset)."""
        mine = frame[frame["dataset"] == dataset]
        return _at(mine, value, "dataset" if value == dataset else "value")

    def reach(dataset: str, criterion: str) -> str:
        hit = points[(points["dataset"] == dataset) & (points["criterion"] == criterion)
                     & (points["retraining"] == "finetune") & (points["allocation"] == "global")].iloc[0]
        return f"{_ratio(hit['max_compression_within_1_points'])}x"

    rows = [["test accuracy of the trained model", *per_dataset(lambda d, acc: f"{acc:.4f}")],
            ["Table 1, shuffle biases: layer 0 / 1 / 2 / all (drop)", *per_dataset(
                lambda d, acc: " / ".join(_signed(of(table1, d, d).loc[s, "difference"], 4)
                                          for s in SCOPES))]]
    for u in (5, 20):
        rows.append([f"Figure 4, U = {u}: layer 0 / 1 / 2 / all", *per_dataset(
            lambda d, acc: " / ".join(f"{of(resets, d, u).loc[s, 'mean_accuracy']:.3f}" for s in SCOPES))])
    rows.append(["Figure 5, all layers, T = 50: weights selected, drop", *per_dataset(
        lambda d, acc: f"{_pct(of(shuffles, d, 50).loc['all', 'fraction_disturbed'])}, "
                       f"{_signed(of(shuffles, d, 50).loc['all', 'mean_accuracy'] - acc, 3)}")])
    rows.append(["Figure 7, T = 0 / 20 / 29: parameters kept", *per_dataset(
        lambda d, acc: " / ".join(_pct(of(final, d, t).loc["all", "fraction_kept"]) for t in (0, 20, 29)))])
    rows.append(["Figure 7, T = 29: drop", *per_dataset(
        lambda d, acc: _signed(of(final, d, 29).loc["all", "mean_accuracy"] - acc, 4))])
    for criterion in ("magnitude", "change_scale"):
        rows.append([f"pruning, global {criterion.replace('_', ' ')}, fine-tuned: highest ratio within 1 point", *per_dataset(lambda d, acc: reach(d, criterion))])
    return _table(["quantity", *(lookup(DATASETS, d, what="dataset").title for d in datasets)], rows)


def run_wall_time(run: Path) -> Callable[[Path], str]:
    """A one-row table: the committed run's command and measured wall time (wall_seconds.txt)."""
    def write(root: Path) -> str:
        entry = next(e for e in RUNS.values() if e.directory == run)
        wall = _wall_seconds(root, run)
        row = [f"`{entry.command}`", f"{wall // 60:.0f} min {wall % 60:.0f} s"]
        if not (root / run / "job_costs.csv").exists():  # a run of some targets has no job_costs.csv
            return _table(["command, in a directory of its own", "wall time on the 2 cores"], [row])
        jobs = int(_read(root, run / "job_costs.csv")["jobs"].sum())
        return _table(["command, in a directory of its own", "wall time on the 2 cores", "jobs"], [[*row, f"{jobs}"]])
    return write


# Han et al. 2015, Table 3: Caffe's LeNet-5 before pruning (what their 12x is measured against).
HAN_LENET5 = {"error": 0.0080, "weights": 430_500, "flops": 576_000 + 3_200_000 + 800_000 + 10_000}  # FLOPs: 2 per multiply-add


def lenet5_dense(root: Path) -> str:
    """Our dense LeNet-5 (Caffe's net and solver, configs/lenet5.yaml) against Han et al.'s: test
    error, weights and FLOPs (counted by the layers), epochs and time."""
    import json

    import yaml

    from .model import Architecture

    run = json.loads(_existing(root, LENET5_RUN / "training.json").read_text())
    history = _read(root, LENET5_RUN / "history.csv")
    preset = yaml.safe_load((root / "configs" / "lenet5.yaml").read_text())
    stack = Architecture.from_config(preset["network"], (28, 28), 10).stack
    # Han et al. count a multiply and an add per multiply-add, no bias adds
    flops = 2 * sum(stack.multiply_adds())
    ours = [f"ours, seed {run['seed']} (Caffe's net and solver, {len(history)} epochs)",
            f"{100 * (1 - run['test_accuracy']):.2f} %", f"{stack.n_weights:,}", f"{flops / 1e6:.2f}M",
            f"{run['seconds_per_epoch']:.1f} s per epoch, {run['wall_seconds'] / 60:.1f} min"]
    errors = [100 * (1 - t["test_accuracy"]) for t in _trainings(root, LENET5_RUN).values()]
    seeds = [f"ours, mean (std) over {len(errors)} seeds", f"{statistics.mean(errors):.2f} % ({statistics.stdev(errors):.2f})",
             f"{stack.n_weights:,}", f"{flops / 1e6:.2f}M", "target: <= 0.90 %"]
    han = ["Han et al. 2015, Table 3 (Caffe)", f"{100 * HAN_LENET5['error']:.2f} %", f"{HAN_LENET5['weights']:,}",
           f"{HAN_LENET5['flops'] / 1e6:.2f}M", "—"]
    return _table(["dense LeNet-5", "test error", "weights", "FLOPs", "training time (2 cores, 1 thread)"], [ours, seeds, han])


# Han et al. 2015, Table 3: the kept weights per layer of their pruned LeNet-5 (12x fewer weights,
# 6x fewer FLOPs, 0.77 % error), what our per-layer table is set against.
HAN_LENET5_KEPT = {"conv1": 0.66, "conv2": 0.12, "fc1": 0.08, "fc2": 0.19, "total": 0.08}
HAN_LENET5_FLOPS_REDUCTION = 6


def _lenet5_names(root: Path) -> dict[str, str]:
    """Scope -> name (conv1, ...) of the preset's parameterised layers, "all" as is."""
    import yaml

    from .model import Architecture

    preset = yaml.safe_load((root / "configs" / "lenet5.yaml").read_text())
    names = Architecture.from_config(preset["network"], (28, 28), 10).stack.names
    return {**{str(i): name for i, name in enumerate(names)}, "all": "all"}


def lenet5_table1(root: Path) -> str:
    """Table 1 on LeNet-5: shuffled biases per scope (conv layers included), mean (std) over the repeats."""
    table = _read(root, LENET5_ALL_RUN / "table1.csv")
    names = _lenet5_names(root)
    rows = [[names[str(r["scope"])], f"{r['mean_accuracy']:.4f} ({r['std_accuracy']:.5f})", f"{int(r['n'])}",
             f"{r['undisturbed_accuracy']:.4f}", _signed(r["difference"], 4)] for _, r in table.iterrows()]
    return _table(["biases shuffled in", "accuracy (std)", "repeats", "undisturbed", "difference"], rows)


def _best_one_shot_row(points, criterion: str):
    """The operating point (mode, allocation) of ``criterion`` with the highest compression within 1 point."""
    mine = points[points["criterion"] == criterion]
    return mine.loc[mine["max_compression_within_1_points"].idxmax()]


def _best_one_shot(points, criterion: str) -> str:
    best = _best_one_shot_row(points, criterion)
    return (f"{_ratio(best['max_compression_within_1_points'])}x ({dict(MODES)[best['retraining']]}, "
            f"{best['allocation']})")


def _iterative_reach(levels, criterion: str, protocol: str) -> str:
    hit = levels[(levels["criterion"] == criterion) & (levels["protocol"] == protocol)
                 & (levels["allocation"] == "layer") & (levels["variant"] == "pruned")]
    return _pct(hit["min_kept_fraction_within_1_points"].iloc[0]) if len(hit) else "—"


def lenet5_pruning(root: Path) -> str:
    """Per criterion: the highest one-shot compression within 1 point of the dense network (best
    mode and allocation) and the smallest iterative kept fraction within 1 point, LeNet-5 beside
    the article's MLP (each on its own grid: configs/lenet5.yaml's and config.yaml's)."""
    conv_points = _read(root, LENET5_ALL_RUN / "pruning_operating_points.csv")
    mlp_points = _article_run(root, "pruning_operating_points.csv")
    conv_levels = _read(root, LENET5_ALL_RUN / "iterative_operating_points.csv")
    mlp_levels = _article_run(root, "iterative_operating_points.csv")
    rows = [[name, _best_one_shot(conv_points, c), _best_one_shot(mlp_points, c),
             *(_iterative_reach(conv_levels, c, p) for p in ("imp_rewind", "imp_continue")),
             *(_iterative_reach(mlp_levels, c, p) for p in ("imp_rewind", "imp_continue"))]
            for c, name in CRITERION_NAMES.items()]
    return _table(["criterion", "one-shot, LeNet-5", "one-shot, article's MLP", "`imp_rewind`, LeNet-5",
                   "`imp_continue`, LeNet-5", "`imp_rewind`, MLP", "`imp_continue`, MLP"], rows)


def lenet5_layers(root: Path) -> str:
    """Han et al.'s Table 3 columns for our magnitude masks at 12x (global and per-layer ranking):
    kept weights and kept multiply-adds per layer, with the test accuracy after one fine-tune epoch."""
    layers = _read(root, LENET5_ALL_RUN / "layers_magnitude_12x.csv")
    curves = _read(root, LENET5_ALL_RUN / "pruning_curves.csv")
    by = {a: layers[layers["allocation"] == a].set_index("layer") for a in ("global", "layer")}

    def accuracy(allocation: str, mode: str) -> str:
        hit = curves[(curves["criterion"] == "magnitude") & (curves["allocation"] == allocation)
                     & (curves["retraining"] == mode) & (curves["compression"] == 12)]
        return f"{100 * (1 - hit['mean_accuracy'].iloc[0]):.2f} %" if len(hit) else "—"

    rows = []
    for name in by["global"].index:
        g, l = by["global"].loc[name], by["layer"].loc[name]
        rows.append([name, f"{int(g['weights']):,}", _pct(g["kept_fraction"]), _pct(g["multiply_adds_fraction"]),
                     _pct(l["kept_fraction"]), _pct(l["multiply_adds_fraction"]), _pct(HAN_LENET5_KEPT[name])])
    g, l = by["global"].loc["total"], by["layer"].loc["total"]
    rows.append(["FLOPs reduction", "", "", f"{1 / g['multiply_adds_fraction']:.1f}x", "",
                 f"{1 / l['multiply_adds_fraction']:.1f}x", f"{HAN_LENET5_FLOPS_REDUCTION}x"])
    rows.append(["test error, fine-tuned", "", accuracy("global", "finetune"), "", accuracy("layer", "finetune"), "",
                 "0.77 %"])
    return _table(["layer", "weights", "kept, global", "multiply-adds kept, global", "kept, per layer",
                   "multiply-adds kept, per layer", "Han et al. kept"], rows)


def lenet5_benchmark(root: Path) -> str:
    """benchmarks/conv_evaluator.py on the LeNet-5 run (conv_evaluator.json): the evaluator against
    Keras per kind of disturbance and over the grid, and the training loop against its GEMM floor."""
    import json

    result = json.loads(_existing(root, LENET5_ALL_RUN / "conv_evaluator.json").read_text())
    ev, tr = result["evaluator"], result["training"]
    rows = [[r["kind"], f"{r['evaluations_in_grid']:,}", f"{1e3 * r['evaluator_s']:.1f} ms", f"{1e3 * r['keras_s']:.0f} ms",
             f"{r['speedup']:.1f}x"] for r in ev["per_kind"]]
    rows.append(["**the grid**", f"{ev['grid_evaluations']:,}", f"{ev['grid_evaluator_s']:.0f} s",
                 f"{ev['grid_keras_s']:.0f} s", f"**{ev['grid_speedup']:.1f}x** (goal 4x)"])
    rows.append(["training: compiled loop / GEMM floor, s per epoch", "", f"{tr['measured_seconds_per_epoch']:.1f}",
                 f"{tr['floor']['seconds_per_epoch']:.1f}", f"{tr['over_floor']:.2f}x (goal <= 2x)"])
    return _table(["disturbance (layer 0 = conv1)", "evaluations in the grid", "ours", "Keras evaluate", "speedup"], rows)


@dataclass(frozen=True)
class GeneratedTable:
    name: str
    write: Callable[[Path], str]
    description: str


TABLES: dict[str, GeneratedTable] = registry(
    GeneratedTable("lenet300-published-points", lenet300_published_points,
                   "LeNet-300-100 at the published points, magnitude, 3 seeds"),
    GeneratedTable("lenet300-criteria-lottery-ticket", lenet300_criteria_lottery_ticket,
                   "every criterion through the lottery-ticket protocol, seed 1"),
    GeneratedTable("lenet300-criteria-han", lenet300_criteria_han, "every criterion through Han et al.'s protocol"),
    GeneratedTable("article-vs-ours", article_vs_ours, "the default run against the article's numbers"),
    GeneratedTable("article-pruning-operating-points", article_pruning_operating_points,
                   "highest compression within 0.5 / 1 point, article's network"),
    GeneratedTable("article-pruning-accuracy", article_pruning_accuracy, "accuracy at a few ratios, global"),
    GeneratedTable("article-iterative-operating-points", article_iterative_operating_points,
                   "iterative levels against one-shot, article's network"),
    GeneratedTable("job-costs", job_costs, "what each rule's jobs cost in the default run"),
    GeneratedTable("stage-times", stage_times, "job time per stage of the default run"),
    GeneratedTable("five-seeds", five_seeds, "Table 1, Figures 4 and 7 over five trained networks"),
    GeneratedTable("five-seeds-wall-time", run_wall_time(FIVE_SEEDS_RUN), "the five-seeds run's wall time"),
    GeneratedTable("two-datasets", two_datasets, "MNIST against Fashion-MNIST, seed 1"),
    GeneratedTable("two-datasets-wall-time", run_wall_time(TWO_DATASETS_RUN), "the two-datasets run's wall time"),
    GeneratedTable("lenet5-dense", lenet5_dense, "our dense LeNet-5 against Han et al.'s"),
    GeneratedTable("lenet5-table1", lenet5_table1, "Table 1 on LeNet-5, per layer"),
    GeneratedTable("lenet5-pruning", lenet5_pruning, "LeNet-5's operating points per criterion beside the MLP's"),
    GeneratedTable("lenet5-layers", lenet5_layers, "LeNet-5's magnitude masks at 12x beside Han et al.'s Table 3"),
    GeneratedTable("lenet5-benchmark", lenet5_benchmark, "the conv evaluator and training loop against Keras and the floor"),
    GeneratedTable("lenet5-all-wall-time", run_wall_time(LENET5_ALL_RUN), "the LeNet-5 preset's wall time"),
    GeneratedTable("glance", glance, "README: results at a glance"),
)


def pages(root: Path) -> list[Path]:
    return [root / "README.md", root / "config" / "README.md", *sorted((root / "docs").glob("*.md"))]


def rendered(text: str, root: Path) -> str:
    """``text`` with every generated block rewritten from the committed CSVs."""
    def block(match: re.Match) -> str:
        entry = lookup(TABLES, match["name"], what="generated table")
        return match.group(1) + entry.write(root) + match.group(4)

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page differs")
    parser.add_argument("--collect", type=Path, metavar="RUN_DIR",
                        help="first copy a finished run's quoted files into docs/results/RUN/")
    parser.add_argument("--run", default="article", choices=list(RUNS),
                        help="with --collect: which committed run RUN_DIR is (default: article)")
    parser.add_argument("--wall", type=float, help="with --collect: the run's wall time in seconds")
    args = parser.parse_args(argv)
    stale = []
    try:
        if args.collect:
            collect(args.collect, args.root, args.wall, args.run)
        for page in pages(args.root):
            text = page.read_text()
            new = rendered(text, args.root)
            if new != text:
                stale.append(page.relative_to(args.root))
                if not args.check:
                    page.write_text(new)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "differ from their CSVs" if args.check else "rewritten"
    for page in stale:
        print(f"{page}: generated tables {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
