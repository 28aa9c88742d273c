# Shared helpers: config validation, paths and grids (no rules here).
import math
import os
import sys

from snakemake.utils import update_config, validate

# The numerical core lives in src/; the scripts import it from there too. Paths start at this
# file (workflow/rules/), not at workflow.basedir: imported as a module (`module ...:
# snakefile: ...`), basedir is the importing workflow's directory.
WORKFLOW_ROOT = os.path.normpath(
    os.path.join(str(workflow.current_basedir), "..", "..")
)
SRC = os.path.join(WORKFLOW_ROOT, "src")
sys.path.insert(0, SRC)
# (Set here, not required from the user, so no envvars directive.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)

from useless_params.configcheck import (
    check_config,
    config_error_message,
    load_schema,
    run_checks,
    typed_overrides,
)
from useless_params.configfiles import (
    check_config_file,
    check_layering,
    yaml12_numbers,
)
from useless_params.experiments import (
    EXPERIMENTS,
    check_grids,
    experiment,
    figure_experiments,
)
from useless_params import pruning
from useless_params.data import DATASETS as DATASET_REGISTRY
from useless_params.forward import activation
from useless_params.model import Architecture, initializer
from useless_params.optimizers import optimizer
from useless_params.pruning import ALLOCATIONS, CRITERIA, RETRAINING
from useless_params.pruning.iterative import (
    CONTROLS,
    PROTOCOLS,
    amount as iterative_amount,
)
from useless_params.sizing import (
    JOB_MEMORY,
    MARGIN,
    check_budget,
    epoch_seconds,
    check_job_memory,
    evaluator_chunk_mb,
    job_memory_mb,
    NetworkSizes,
)
from useless_params.training import TRAINER_KEYS

# What a job may ask for: `--resources mem_mb=` or a profile's `resources:` (else this machine's).
MEMORY_LIMIT_MB = getattr(
    workflow.global_resources.get("mem_mb"),
    "value",
    workflow.global_resources.get("mem_mb"),
)
# Any config error ends here, before a job starts, as one line naming the key
# ("config error: training.epochs: 0 is less than the minimum of 1"), exit status 1.
# A local copy also when the module comes from GitHub (Snakemake's source cache).
SCHEMA = load_schema(workflow.source_path("../schemas/config.schema.yaml"))
try:
    # Every config file as its author wrote it: no key twice, no YAML-1.1-only number or boolean.
    # In the order Snakemake merges them: the Snakefile's configfile, then --configfile's.
    given = list(workflow.overwrite_configfiles or [])
    config_files = [p for p in workflow.configfiles if p not in given] + given
    for path in config_files:
        check_config_file(path)
    check_layering([str(path) for path in config_files])
    # Nested --config values arrive as strings ('training={epochs: 3}' -> '3'): type them;
    # 1e-3 in a file is the string '1e-3' to Snakemake's YAML 1.1 loader: make it the number.
    update_config(config, typed_overrides(workflow.config_settings.config, SCHEMA))
    update_config(config, yaml12_numbers(config, SCHEMA))
    validate(config, "../schemas/config.schema.yaml")  # also fills in the defaults
except Exception as exc:
    message = config_error_message(exc)
    if message is None:
        raise
    print(f"config error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)

try:
    # The checks the schema cannot express, then the names the registries must know (the
    # schema does not repeat their lists), then memory, disk, time and the job count (lower
    # bounds, the estimate in the message). Any failure names a key (run_checks).
    run_checks(
        config,
        [
            lambda c: check_config(c, SCHEMA),
            lambda c: c["network"]["activation"] is None
            or activation(c["network"]["activation"]),
            lambda c: initializer(c["network"]["initializer"]),
            lambda c: optimizer(c["training"]["optimizer"]),
            pruning.check_config,
            check_grids,
            check_budget,
            lambda c: check_job_memory(c, MEMORY_LIMIT_MB),
        ],
        SCHEMA,
    )
except Exception as exc:
    print(f"config error: {config_error_message(exc)}", file=sys.stderr, flush=True)
    sys.exit(1)

DATASETS = config["data"]["datasets"]
SEEDS = config["training"]["seeds"]
EXPERIMENTS_CFG = config["experiments"]
FIGURE_FORMATS = ["png", "pdf"]
# Only the switched-on experiments (a grid of at least one value) get jobs and targets.
ENABLED_EXPERIMENTS = [e for e in EXPERIMENTS.values() if e.grid(EXPERIMENTS_CFG)]
FIGURE_EXPERIMENTS = figure_experiments()


def sorted_items(section, *keys, exclude=()):
    """A config section (or the named keys of it) with sorted keys, for stable params."""
    return {k: section[k] for k in sorted(keys or section) if k not in exclude}


def experiment_jobs(wildcards):
    """Every per-job CSV of one experiment, over all datasets, seeds and grid values."""
    return experiment_tables([experiment(wildcards.experiment)])


def experiment_job_specs(wildcards):
    return job_specs([experiment(wildcards.experiment)])


def grid_value(wildcards):
    """The configured grid value whose file-name label is ``wildcards.value`` (5 and 5.0 are both '5')."""
    entry = experiment(wildcards.experiment)
    labels = dict(zip(entry.labels(EXPERIMENTS_CFG), entry.grid(EXPERIMENTS_CFG)))
    if wildcards.value not in labels:
        raise ValueError(
            f"{wildcards.value} is not a value of experiments.{entry.name}; expected one of {', '.join(labels)}"
        )
    return labels[wildcards.value]


def reset_levels(wildcards):
    """Reset levels U evaluated inside every job of the experiment (most have none)."""
    return experiment(wildcards.experiment).levels(EXPERIMENTS_CFG)


def figure_options(wildcards):
    """The keys of the figures section that this figure's plot function takes."""
    entry = FIGURE_EXPERIMENTS[wildcards.n]
    return {key: config["figures"][key] for key in entry.figure_options}


# Memory: each rule asks for what the one memory model of src/useless_params/sizing.py
# estimates for the config (x1.5, at least 500 MB; the size check refuses a request beyond
# the machine or the profile's limit). Runtimes: measured in a default run
# (benchmarks/job_costs.csv, README "Job costs"): the longest job times MARGIN, rounded up, at
# least FLOOR_MIN minutes, scaled by the training work the config asks for; a retry asks for
# twice as long.
FLOOR_MIN = 5
JOB_MB = {rule: job_memory_mb(config, rule) for rule in JOB_MEMORY}


def measured_runtime(seconds, work=1.0):
    """Minutes for a job measured at ``seconds``, with ``work`` times the measured work."""
    minutes = max(FLOOR_MIN, math.ceil(MARGIN * seconds * work / 60))
    return lambda wildcards, attempt: attempt * minutes


# Every dataset's network (image shape and class count from the dataset registry).
ARCHITECTURES = {
    name: Architecture.from_config(
        config["network"],
        DATASET_REGISTRY[name].image_shape,
        DATASET_REGISTRY[name].n_classes,
    )
    for name in DATASETS
}
# An MLP's widths, which the published points name their networks by (none for a conv net yet).
LAYER_SIZES = {
    name: list(a.layer_sizes) if a.is_mlp else [] for name, a in ARCHITECTURES.items()
}


def architecture_record(wildcards):
    """The layers the config gives the network of this dataset (a store of others is refused)."""
    return ARCHITECTURES[wildcards.dataset].record()


# Parameterised layers of every trained network (the same on every dataset), from its layers,
# and their names in the figures' panels (conv1, fc1, ...: LayerStack.names).
N_LAYERS = len(ARCHITECTURES[DATASETS[0]].stack.parameterised)
LAYER_NAMES = ARCHITECTURES[DATASETS[0]].stack.names


# Training work per epoch relative to the measured default (images, network size, batch size):
# the runtimes measured on the default run scale by it.
TRAIN_FRACTION = max(
    epoch_seconds(
        sum(architecture.stack.multiply_adds()),
        config["training"]["batch_size"],
        (config["data"]["train_size"] or DATASET_REGISTRY[name].n_train)
        * (1 - config["training"]["validation_split"]),
    )
    for name, architecture in ARCHITECTURES.items()
) / epoch_seconds(89610, 32, 54000)
# The evaluator's batch (experiments.batch_memory_mb), a resource so that changing it reruns
# nothing; capped at what all the repeats of one job fill (Evaluator.accuracy's chunks are then
# the same), so a huge value stays a number Snakemake can handle.
EVALUATOR_BATCH_MB = max(
    evaluator_chunk_mb(config, NetworkSizes.of(config, name)) for name in DATASETS
)


def first_network(pattern):
    """``pattern`` (a rule's output) for the first dataset and network seed: Figures 1-3 show that network."""
    return expand(pattern, dataset=DATASETS[0], seed=SEEDS[0])[0]


def per_network(*patterns):
    """Each of ``patterns`` (outputs of rules) for every trained network (datasets x seeds)."""
    return [
        path
        for pattern in patterns
        for path in expand(pattern, dataset=DATASETS, seed=SEEDS)
    ]


def networks():
    """(dataset, seed) of every trained network, in the order of ``per_network``."""
    return [[dataset, seed] for dataset in DATASETS for seed in SEEDS]


def experiment_jobs_of(entries):
    """(per-job CSV, what it must hold) of the given experiments, every network and grid value."""
    return [
        (
            rules.disturb.output.table.format(
                dataset=dataset, seed=seed, experiment=entry.name, value=label
            ),
            dict(
                experiment=entry.name,
                dataset=dataset,
                seed=seed,
                value=value,
                repeats=EXPERIMENTS_CFG["repeats"],
                n_layers=N_LAYERS,
                levels=entry.levels(EXPERIMENTS_CFG),
            ),
        )
        for entry in entries
        for dataset in DATASETS
        for seed in SEEDS
        for value, label in zip(
            entry.grid(EXPERIMENTS_CFG), entry.labels(EXPERIMENTS_CFG)
        )
    ]


def experiment_tables(entries):
    """The per-job CSVs of the given experiments, over every network and grid value."""
    return [path for path, _ in experiment_jobs_of(entries)]


def job_specs(entries):
    """What each of ``experiment_tables(entries)`` must hold, in the same order (checked when read)."""
    return [spec for _, spec in experiment_jobs_of(entries)]


def table_entries(table):
    """The experiments behind one of the article's tables (e.g. "table1")."""
    return [e for e in ENABLED_EXPERIMENTS if e.table == table]


PRUNING_CFG = config["pruning"]


def pruning_jobs():
    """(job table, the identity its rows must hold) of every pruning job: networks x retraining
    modes x allocations x criteria x draws."""
    return [
        (
            rules.prune.output.table.format(
                dataset=dataset,
                seed=seed,
                retraining=mode,
                allocation=allocation,
                criterion=name,
                draw=draw,
            ),
            dict(
                dataset=dataset,
                network_seed=seed,
                retraining=mode,
                allocation=allocation,
                criterion=name,
                draw=draw,
                epochs=RETRAINING[mode].settings(PRUNING_CFG)["epochs"],
            ),
        )
        for dataset in DATASETS
        for seed in SEEDS
        for mode in PRUNING_CFG["retraining"]
        for allocation in PRUNING_CFG["allocations"]
        for name in PRUNING_CFG["criteria"]
        for draw in pruning.criterion(name).draws(PRUNING_CFG)
    ]


def retrain_settings(wildcards):
    """Epochs and learning rate of a retraining mode (none: no training)."""
    return RETRAINING[wildcards.retraining].settings(PRUNING_CFG)


def figures():
    """Every figure file: the article's Figures 1-3 and one per registered experiment figure."""
    per_format = lambda rule, **wildcards: [
        path for ext in FIGURE_FORMATS for path in expand(rule.output[ext], **wildcards)
    ]
    return (
        per_format(rules.figure1)
        + per_format(rules.figure2_3, n=["2", "3"])
        + per_format(rules.experiment_figure, n=list(FIGURE_EXPERIMENTS))
    )


def all_targets():
    """What `snakemake all` builds: every product the README documents, intermediates
    included, so that a deleted file is rebuilt by the next run."""
    tables = [
        getattr(rules, e.table).output.table for e in ENABLED_EXPERIMENTS if e.table
    ]
    return (
        expand(rules.prepare_data.output.data, dataset=DATASETS)
        + per_network(*rules.train_network.output, *rules.change_scale.output)
        + per_network(*rules.change_scale_summary.output)
        + experiment_tables(ENABLED_EXPERIMENTS)
        + expand(
            rules.aggregate_experiment.output.summary,
            experiment=[e.name for e in ENABLED_EXPERIMENTS],
        )
        + tables
        + figures()
        + (pruning_products() if PRUNING_CFG["criteria"] else [])
        + (
            iterative_products()
            if ITERATIVE_CFG["protocols"] and ITERATIVE_CFG["criteria"]
            else []
        )
        + list(rules.job_costs.output)
    )


ITERATIVE_CFG = PRUNING_CFG["iterative"]
ITERATIVE_AMOUNT = iterative_amount(ITERATIVE_CFG)


def level_tables():
    """(level table, the identity its rows must hold) of every level of every chain:
    networks x protocols x allocations x criteria x draws x levels."""
    pattern = "results/networks/{dataset}/seed{seed}/iterative/{protocol}/{allocation}/{criterion}/draw{draw}/level{level}.csv"
    return [
        (
            pattern.format(
                dataset=dataset,
                seed=seed,
                protocol=name,
                allocation=allocation,
                criterion=criterion,
                draw=draw,
                level=level,
            ),
            dict(
                dataset=dataset,
                network_seed=seed,
                protocol=name,
                allocation=allocation,
                criterion=criterion,
                draw=draw,
                level=level,
            ),
        )
        for dataset in DATASETS
        for seed in SEEDS
        for name in ITERATIVE_CFG["protocols"]
        for allocation in ITERATIVE_CFG["allocations"]
        for criterion in ITERATIVE_CFG["criteria"]
        for draw in pruning.criterion(criterion).draws(PRUNING_CFG)
        for level in range(1, ITERATIVE_CFG["levels"] + 1)
    ]


def previous_level(wildcards):
    """Level L-1's state file of the same chain (level 1 starts from the trained network: none)."""
    level = int(wildcards.level)
    if level == 1:
        return []
    return rules.prune_level.output.state.format(**{**wildcards, "level": level - 1})


def protocol_settings(wildcards):
    """Epochs, learning rate (and rewind epoch) of an iterative protocol."""
    return PROTOCOLS[wildcards.protocol].settings(ITERATIVE_CFG)


def iterative_products():
    return (
        [path for path, _ in level_tables()]
        + list(rules.iterative_summary.output)
        + list(rules.iterative_figure.output)
    )


def pruning_products():
    return (
        [path for path, _ in pruning_jobs()]
        + list(rules.pruning_summary.output)
        + list(rules.pruning_figure.output)
    )


def job_benchmarks():
    """(benchmark TSV, name of its rule) of every job `snakemake all` runs: the benchmark
    directive of each rule; not prepare_data, a download (Snakemake refuses a benchmark on a
    rule eligible for --cache)."""
    pruning_on = bool(PRUNING_CFG["criteria"])
    iterative_on = bool(ITERATIVE_CFG["protocols"] and ITERATIVE_CFG["criteria"])
    jobs = {
        # Measured in the job itself (training.json's job_cost): Snakemake refuses a
        # benchmark on a rule eligible for --cache.
        "train_network": per_network(rules.train_network.output.metrics),
        "change_scale": per_network(rules.change_scale.benchmark),
        "change_scale_summary": per_network(rules.change_scale_summary.benchmark),
        "disturb": [
            rules.disturb.benchmark.format(
                dataset=dataset, seed=seed, experiment=entry.name, value=label
            )
            for entry in ENABLED_EXPERIMENTS
            for dataset in DATASETS
            for seed in SEEDS
            for label in entry.labels(EXPERIMENTS_CFG)
        ],
        "aggregate_experiment": [
            rules.aggregate_experiment.benchmark.format(experiment=entry.name)
            for entry in ENABLED_EXPERIMENTS
        ],
        "table1": [rules.table1.benchmark] if table_entries("table1") else [],
        "figure1": [rules.figure1.benchmark],
        "figure2_3": [rules.figure2_3.benchmark.format(n=n) for n in ("2", "3")],
        "experiment_figure": [
            rules.experiment_figure.benchmark.format(n=n) for n in FIGURE_EXPERIMENTS
        ],
        "prune": [
            rules.prune.benchmark.format(
                seed=identity["network_seed"],
                **{
                    k: identity[k]
                    for k in (
                        "dataset",
                        "retraining",
                        "allocation",
                        "criterion",
                        "draw",
                    )
                },
            )
            for _, identity in (pruning_jobs() if pruning_on else [])
        ],
        "pruning_summary": [rules.pruning_summary.benchmark] if pruning_on else [],
        "pruning_figure": [rules.pruning_figure.benchmark] if pruning_on else [],
        "prune_level": [
            rules.prune_level.benchmark.format(
                seed=identity["network_seed"],
                **{k: v for k, v in identity.items() if k != "network_seed"},
            )
            for _, identity in (level_tables() if iterative_on else [])
        ],
        "iterative_summary": (
            [rules.iterative_summary.benchmark] if iterative_on else []
        ),
        "iterative_figure": [rules.iterative_figure.benchmark] if iterative_on else [],
    }
    return [(path, name) for name, paths in jobs.items() for path in paths]


def prune_runtime(wildcards, attempt):
    """A pruning job retrains one network per ratio: measured 82 s for 10 ratios of 6 epochs."""
    epochs = RETRAINING[wildcards.retraining].settings(PRUNING_CFG)["epochs"]
    work = epochs * len(PRUNING_CFG["compression"]) / 60 * TRAIN_FRACTION
    return measured_runtime(82.2, work)(wildcards, attempt)


def level_runtime(wildcards, attempt):
    """A level trains the pruned network and each training control: measured 21 s for three
    trainings of 2 epochs."""
    trainings = 1 + sum(CONTROLS[name].trains for name in ITERATIVE_CFG["controls"])
    epochs = PROTOCOLS[wildcards.protocol].settings(ITERATIVE_CFG)["epochs"]
    return measured_runtime(20.6, trainings * epochs / 6 * TRAIN_FRACTION)(
        wildcards, attempt
    )
