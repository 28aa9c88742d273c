"""What a configuration costs before any job starts: memory, disk, time and the number of jobs.

Every estimate is a lower bound from the network's size and the config's counts, so a value
that cannot finish (hidden layers of 10^8 units, 10^11 epochs, 10^9 repeats, 10^7 random
draws) is a config error quoting the estimate, instead of a job that swaps a shared machine,
fills its disk or runs for years, or a DAG Snakemake spends hours building.
"""

from __future__ import annotations

import os
import shutil

from .errors import InputError

FLOAT_BYTES = 4
# FLOP/s of one job: 25 times what one core of the 2-core test machine reaches on the default
# network (4e10: 100 epochs of 54,000 images in 72 s), so a time estimate is a lower bound.
FLOP_RATE = 1e12
MAX_JOB_SECONDS = 30 * 86400  # one job beyond a month is a mistake, not an experiment
ROW_BYTES = 100  # one row of an experiment table: a few numbers in pandas, then a CSV line
MAX_JOBS = 200_000  # Snakemake builds a DAG of this size in about a minute; 10^6 takes far longer


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def human_seconds(s: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.3g} s"


def machine_memory_bytes() -> int:
    """Physical memory of the machine Snakemake runs on."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def training_memory_bytes(n_parameters: int, epochs: int, n_train: int, n_features: int) -> int:
    """The trainer keeps every epoch's weights (then stacks them once more for the store) and
    the training images as float32: the smallest a training job can need."""
    return FLOAT_BYTES * (2 * (epochs + 1) * n_parameters + n_train * n_features)


def store_bytes(n_parameters: int, epochs: int) -> int:
    """The weight store holds every epoch's float32 parameters (plus change_scale.h5, about two more)."""
    return FLOAT_BYTES * (epochs + 3) * n_parameters


def training_seconds(n_parameters: int, epochs: int, n_fit: int) -> float:
    """Forward and backward pass: about 6 FLOPs per parameter and image."""
    return 6.0 * n_parameters * n_fit * epochs / FLOP_RATE


def evaluation_seconds(n_parameters: int, n_evaluations: int, n_test: int) -> float:
    """A forward pass: 2 FLOPs per parameter and test image."""
    return 2.0 * n_parameters * n_test * n_evaluations / FLOP_RATE


def check_budget(config: dict, free_disk_bytes: int | None = None, memory_bytes: int | None = None) -> None:
    """Raise ``InputError`` naming the key whose value makes a job exceed this machine's memory,
    the free disk space of the working directory, a month of computing, or the workflow
    ``MAX_JOBS`` jobs."""
    from .data import dataset
    from .experiments import EXPERIMENTS
    from .model import Architecture
    from .training import validation_split_at

    memory_bytes = machine_memory_bytes() if memory_bytes is None else memory_bytes
    free_disk_bytes = shutil.disk_usage(os.getcwd()).free if free_disk_bytes is None else free_disk_bytes
    data, training, pruning_cfg = config["data"], config["training"], config["pruning"]
    experiments_cfg, iterative_cfg = config["experiments"], pruning_cfg["iterative"]
    epochs, n_seeds = training["epochs"], len(training["seeds"])
    total_disk = 0
    for name in data["datasets"]:
        entry = dataset(name)
        architecture = Architecture.from_config(config["network"], entry.n_features, entry.n_classes)
        n_params = sum(a * b + b for a, b in architecture.kernel_shapes())
        n_train = data["train_size"] or entry.n_train
        n_test = data["test_size"] or entry.n_test
        n_fit = validation_split_at(n_train, training["validation_split"])
        what = f"the {entry.title} network ({n_params:,} parameters)"
        need = training_memory_bytes(n_params, epochs, n_train, entry.n_features)
        if need > memory_bytes:
            one_epoch = training_memory_bytes(n_params, 1, n_train, entry.n_features)
            images = training_memory_bytes(0, 0, n_train, entry.n_features)
            key = ("data.train_size" if images > memory_bytes else
                   "network.hidden_layers" if one_epoch > memory_bytes else "training.epochs")
            raise InputError(f"{key}: training {what} for {epochs} epochs needs at least {human_bytes(need)} of "
                             f"memory (every epoch's weights are kept for the store); this machine has "
                             f"{human_bytes(memory_bytes)}")
        total_disk += n_seeds * store_bytes(n_params, epochs)
        runs = [("training.epochs", epochs)]
        runs += [(f"pruning.{mode}.epochs", pruning_cfg[mode]["epochs"]) for mode in pruning_cfg["retraining"]
                 if mode in pruning_cfg and "epochs" in pruning_cfg[mode]]
        runs += [(f"pruning.iterative.{p}.epochs", iterative_cfg[p]["epochs"]) for p in iterative_cfg["protocols"]]
        for key, run_epochs in runs:
            seconds = training_seconds(n_params, run_epochs, n_fit)
            if seconds > MAX_JOB_SECONDS:
                raise InputError(f"{key}: {run_epochs} epochs of {what} on {n_fit:,} images take at least "
                                 f"{human_seconds(seconds)} per job; at most {human_seconds(MAX_JOB_SECONDS)}")
        n_scopes = architecture.n_layers + 1
        for experiment in EXPERIMENTS.values():
            if not experiment.grid(experiments_cfg):
                continue
            per_job = experiment.evaluations_per_scope(experiments_cfg) // len(experiment.grid(experiments_cfg))
            per_job *= 1 if experiment.whole_network else n_scopes  # one table row each
            if per_job * ROW_BYTES > memory_bytes:
                raise InputError(f"experiments.repeats: {experiments_cfg['repeats']} repeats make tables of "
                                 f"{per_job:,} rows per {experiment.name} job, at least "
                                 f"{human_bytes(per_job * ROW_BYTES)} of memory; this machine has "
                                 f"{human_bytes(memory_bytes)}")
            seconds = evaluation_seconds(n_params, per_job, n_test)
            if seconds > MAX_JOB_SECONDS:
                raise InputError(f"experiments.repeats: {experiments_cfg['repeats']} repeats of "
                                 f"{experiment.name} on {what} and {n_test:,} test images take at least "
                                 f"{human_seconds(seconds)} per job; at most {human_seconds(MAX_JOB_SECONDS)}")
    if total_disk > free_disk_bytes:
        raise InputError(f"training.epochs: the weight stores of {n_seeds * len(data['datasets'])} network(s) at "
                         f"{epochs} epochs take at least {human_bytes(total_disk)}; the working directory's disk "
                         f"has {human_bytes(free_disk_bytes)} free")
    _check_job_count(config)


def job_count(config: dict) -> dict[str, int]:
    """Jobs per kind (without building the DAG): evaluations, one-shot pruning, iterative levels."""
    from .experiments import EXPERIMENTS
    from .pruning import criterion

    pruning_cfg, iterative_cfg = config["pruning"], config["pruning"]["iterative"]
    networks = len(config["data"]["datasets"]) * len(config["training"]["seeds"])

    def draws(names):
        return sum(len(criterion(name).draws(pruning_cfg)) for name in names)

    return {
        "training.seeds": networks * 3,  # training, change scale, its summary
        "experiments": networks * sum(len(e.grid(config["experiments"])) for e in EXPERIMENTS.values()),
        "pruning": networks * len(pruning_cfg["retraining"]) * len(pruning_cfg["allocations"])
        * draws(pruning_cfg["criteria"]),
        "pruning.iterative": networks * len(iterative_cfg["protocols"]) * len(iterative_cfg["allocations"])
        * draws(iterative_cfg["criteria"]) * iterative_cfg["levels"],
    }


def _check_job_count(config: dict) -> None:
    counts = job_count(config)
    total = sum(counts.values())
    if total > MAX_JOBS:
        largest = max(counts, key=counts.get)
        key = "pruning.random_draws" if largest.startswith("pruning") and config["pruning"]["random_draws"] > 1 \
            else largest
        raise InputError(f"{key}: the configuration makes {total:,} jobs ({counts[largest]:,} of them {largest}); "
                         f"the workflow takes at most {MAX_JOBS:,}")
