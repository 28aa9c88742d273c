# Shared helpers: config validation, paths and grids (no rules here).
import os
import sys

from snakemake.utils import update_config, validate

# The numerical core lives in src/; the scripts import it from there too.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
# (Set here, not required from the user, so no envvars directive.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)

from useless_params.configcheck import (
    check_config,
    config_error_message,
    typed_overrides,
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
from useless_params.model import Architecture
from useless_params.optimizers import optimizer
from useless_params.pruning import ALLOCATIONS, CRITERIA, RETRAINING
from useless_params.pruning.iterative import PROTOCOLS, amount as iterative_amount
from useless_params.sizing import check_budget
from useless_params.training import TRAINER_KEYS

# Any config error ends here, before a job starts, as one line naming the key
# ("config error: training.epochs: 0 is less than the minimum of 1"), exit status 1.
SCHEMA = os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")
try:
    # Nested --config values arrive as strings ('training={epochs: 3}' -> '3'): type them.
    update_config(config, typed_overrides(workflow.config_settings.config, SCHEMA))
    validate(config, "../schemas/config.schema.yaml")  # also fills in the defaults
    check_config(config, SCHEMA)
except Exception as exc:
    message = config_error_message(exc)
    if message is None:
        raise
    print(f"config error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)

# Names the registries must know (the schema does not repeat their lists).
try:
    activation(config["network"]["activation"])
    optimizer(config["training"]["optimizer"])
    pruning.check_config(config)
    check_grids(config)
    check_budget(config)  # memory, disk, time and job count: lower bounds with the estimate
except Exception as exc:
    print(f"config error: {config_error_message(exc)}", file=sys.stderr, flush=True)
    sys.exit(1)

DATASETS = config["data"]["datasets"]
# Layers of every trained network (hidden layers and the output layer).
N_LAYERS = Architecture.n_layers_of(config["network"])
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


# The evaluator's batch memory plus the cached activations and the interpreter.
EVALUATOR_MEM_MB = int(EXPERIMENTS_CFG["batch_memory_mb"]) + 1000


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
