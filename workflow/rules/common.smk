# Shared helpers: config validation, paths and grids (no rules here).
import os
import sys

from snakemake.utils import validate

# The numerical core lives in src/; the scripts import it from there too.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
# (Set here, not required from the user, so no envvars directive.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)

from useless_params.configcheck import check_config, config_error_message
from useless_params.seeding import value_label

# Any config error ends here, before a job starts, as one line naming the key
# ("config error: training.epochs: 0 is less than the minimum of 1"), exit status 1.
try:
    validate(config, "../schemas/config.schema.yaml")  # also fills in the defaults
    check_config(
        config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")
    )
except Exception as exc:
    message = config_error_message(exc)
    if message is None:
        raise
    print(f"config error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)

SEEDS = config["training"]["seeds"]
EXPERIMENTS_CFG = config["experiments"]
FIGURE_FORMATS = ["png", "pdf"]
# Grid experiments: the config key of each one's grid.
GRID_KEYS = {
    "reset_biases": "values",
    "shuffle_weights": "thresholds",
    "reset_weights": "thresholds",
    "final_model": "thresholds",
}


def sorted_items(section, *keys, exclude=()):
    """A config section (or the named keys of it) with sorted keys, for stable params."""
    return {k: section[k] for k in sorted(keys or section) if k not in exclude}


def grid(experiment):
    """The grid values of an experiment, as file-name labels."""
    return [value_label(v) for v in EXPERIMENTS_CFG[experiment][GRID_KEYS[experiment]]]


def experiment_jobs(wildcards):
    """Every per-job CSV of one grid experiment, over all seeds and grid values."""
    return expand(
        "results/networks/seed{seed}/experiments/{experiment}/{value}.csv",
        seed=SEEDS,
        experiment=wildcards.experiment,
        value=grid(wildcards.experiment),
    )


def reset_values(wildcards):
    """Reset levels U of the reset_weights experiment (no other experiment has any)."""
    if wildcards.get("experiment") == "reset_weights":
        return EXPERIMENTS_CFG["reset_weights"]["reset_values"]
    return []


# The evaluator's batch memory plus the cached activations and the interpreter.
EVALUATOR_MEM_MB = int(EXPERIMENTS_CFG["batch_memory_mb"]) + 1000


# The experiment behind each of Figures 4-7.
FIGURE_EXPERIMENT = {
    "4": "reset_biases",
    "5": "shuffle_weights",
    "6": "reset_weights",
    "7": "final_model",
}


def figures(*numbers):
    return expand("results/figures/figure{n}.{ext}", n=numbers, ext=FIGURE_FORMATS)


ALL_TARGETS = (
    expand("results/networks/seed{seed}/change_scale_summary.csv", seed=SEEDS)
    + figures(1, 2, 3, 4, 5, 6, 7)
    + (["results/table1.csv"] if EXPERIMENTS_CFG["shuffle_biases"] else [])
    + expand("results/experiments/{experiment}.csv", experiment=GRID_KEYS)
)
