"""What a configuration costs before any job starts: memory, disk, time and the number of jobs.

Every estimate is a lower bound from the network's size and the config's counts, so a value
that cannot finish (hidden layers of 10^8 units, 10^11 epochs, 10^9 repeats, 10^7 random
draws) is a config error quoting the estimate, instead of a job that swaps a shared machine,
fills its disk or runs for years, or a DAG Snakemake spends hours building.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from typing import Callable

from .errors import InputError

FLOAT_BYTES = 4
# FLOP/s of one job: 25 times what one core of the 2-core test machine reaches on the default
# network (4e10: 100 epochs of 54,000 images in 72 s), so a time estimate is a lower bound.
FLOP_RATE = 1e12
MAX_JOB_SECONDS = 30 * 86400  # one job beyond a month is a mistake, not an experiment
ROW_BYTES = 100  # one row of an experiment table: a few numbers in pandas, then a CSV line
MAX_JOBS = 100_000  # a dry run of 97,600 jobs: 2 min and 2.7 GB on the 2-core machine (README Troubleshooting)


# The memory terms that grow with the network (its parameters or layer outputs).
NETWORK_TERM = "network"

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
    from .experiments import EXPERIMENTS
    from .training import validation_split_at

    memory_bytes = machine_memory_bytes() if memory_bytes is None else memory_bytes
    free_disk_bytes = shutil.disk_usage(os.getcwd()).free if free_disk_bytes is None else free_disk_bytes
    data, training, pruning_cfg = config["data"], config["training"], config["pruning"]
    experiments_cfg, iterative_cfg = config["experiments"], pruning_cfg["iterative"]
    epochs, n_seeds = training["epochs"], len(training["seeds"])
    total_disk = 0
    for name in data["datasets"]:
        entry = NetworkSizes.of(config, name)  # the counts the job memory model uses too
        n_params, n_train, n_test = entry.n_params, entry.n_train, entry.n_test
        n_fit = validation_split_at(n_train, training["validation_split"])
        what = f"the {entry.title} network ({n_params:,} parameters)"
        need = training_memory_bytes(n_params, epochs, n_train, entry.n_features)
        if need > memory_bytes:
            one_epoch = training_memory_bytes(n_params, 1, n_train, entry.n_features)
            images = training_memory_bytes(0, 0, n_train, entry.n_features)
            key = ("data.train_size" if images > memory_bytes else
                   network_key(config) if one_epoch > memory_bytes else "training.epochs")
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
        n_scopes = entry.n_scopes
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


# --- What each job kind asks for: one memory model, read by the rules' `resources` and by the
# size check, so a job never asks for less than the estimate, nor for more than the machine (or
# the profile's `resources: mem_mb`) has.

MB = 1e6
# Each job asks for its estimate x MARGIN, rounded up to 100 MB, at least FLOOR_MB (jobs under a
# second are sampled too coarsely to trust: change_scale shows 3 MB).
MARGIN, FLOOR_MB = 1.5, 500
# Resident memory no config key changes (interpreter, numpy/pandas/plotnine or TensorFlow), the
# peak measured in the default run (benchmarks/job_costs.csv, 2026-12-04) less what the terms
# below give for the default config.
TENSORFLOW_BASE_MB = 1040  # train_network 1,276, prune 1,285, prune_level 1,279 MB measured
# The virtual memory TensorFlow maps before any array (VmPeak 1,933 MB after the import and one
# product, 2026-12-07): a TensorFlow job that asked for 1,600 MB of h_vmem died in std::bad_alloc
# on the test Grid Engine, so such a job asks for at least this plus its arrays.
TENSORFLOW_ADDRESS_SPACE_MB = 1950
EVALUATOR_BASE_MB = 81  # disturb: 299 MB measured at batch_memory_mb 128, repeats 100
# Figures 1-3: about 285 bytes per weight drawn (two frames of every parameter, their densities
# by FFT: plots.density_curves), the line through the article's network (89,400 weights: 263 MB)
# and a 784-1500-800-10 one (2,384,000: 917 MB), measured on stores of those shapes (2026-12-07).
# (plotnine's own geom_density kept 12.5 KB per weight: 2,082 MB for the article's network.)
FIGURE_BASE_MB, FIGURE_BYTES_PER_WEIGHT = 238, 285
# Small jobs (pandas and the summaries, plotnine on summary tables): their measured peaks;
# prepare_data (pip or apt download, then the conversion) is not measured: 1,300 MB asks for 2,000.
SMALL_JOB_MB = {"prepare_data": 1300, "change_scale": 85, "change_scale_summary": 85, "aggregate_experiment": 88, "table1": 76,
                "experiment_figure": 154, "pruning_summary": 85, "pruning_figure": 163, "iterative_summary": 89,
                "iterative_figure": 173, "job_costs": 100}
TRAINER_COPIES = 8  # weights, start point, mask, gradient, two optimizer slots, update, final


@dataclass(frozen=True)
class NetworkSizes:
    """The counts a job's memory depends on, for one dataset's network under one config."""

    title: str
    n_weights: int
    n_params: int
    layer_outputs: tuple[int, ...]  # values each parameterised layer outputs for one image
    n_train: int
    n_test: int
    n_features: int

    @property
    def n_scopes(self) -> int:
        """Disturbance scopes: every parameterised layer, and all of them."""
        return len(self.layer_outputs) + 1

    @classmethod
    def of(cls, config: dict, name: str) -> "NetworkSizes":
        from .data import dataset
        from .model import Architecture

        entry = dataset(name)
        # every count from the architecture's layers (layers.LayerStack), none from config keys
        stack = Architecture.from_config(config["network"], entry.image_shape, entry.n_classes).stack
        shapes = stack.shapes
        outputs = tuple(math.prod(shapes[i + 1]) for i in stack.parameterised)
        return cls(entry.title, stack.n_weights, stack.n_weights + stack.n_biases, outputs,
                   config["data"]["train_size"] or entry.n_train, config["data"]["test_size"] or entry.n_test,
                   entry.n_features)

    def images_bytes(self) -> float:
        return FLOAT_BYTES * (self.n_train + self.n_test) * self.n_features


def evaluator_chunk_mb(config: dict, sizes: NetworkSizes) -> float:
    """The evaluator's largest array of one chunk of repeats: ``experiments.batch_memory_mb``, or less
    when all the repeats fit in it (the evaluator's own rule, ``Evaluator.accuracy``)."""
    per_repeat_mb = sizes.n_test * max(sizes.layer_outputs) * FLOAT_BYTES / 2**20
    repeats = config["experiments"]["repeats"]
    # Rounded up: Snakemake may hand the resource to the job as a whole number.
    return min(float(config["experiments"]["batch_memory_mb"]), math.ceil((repeats + 1) * per_repeat_mb))


def _disturb_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    from .experiments import EXPERIMENTS

    experiments_cfg = config["experiments"]
    repeats = experiments_cfg["repeats"]
    n_scopes = sizes.n_scopes
    rows = max([(1 if e.whole_network else n_scopes * repeats * max(1, len(e.levels(experiments_cfg))))
                for e in EXPERIMENTS.values() if e.grid(experiments_cfg)] or [0])
    return {
        # Every repeat's disturbed kernels of the largest scope ("all": every layer) at once.
        "experiments.repeats": FLOAT_BYTES * repeats * sizes.n_weights + ROW_BYTES * rows,
        "experiments.batch_memory_mb": evaluator_chunk_mb(config, sizes) * 2**20,
        # Cached activations and products of every layer on the test images.
        NETWORK_TERM: FLOAT_BYTES * sizes.n_test * (sizes.n_features + 2 * sum(sizes.layer_outputs)),
    }


def _training_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    epochs = config["training"]["epochs"]
    return {"training.epochs": FLOAT_BYTES * 2 * (epochs + 1) * sizes.n_params,
            NETWORK_TERM: FLOAT_BYTES * TRAINER_COPIES * sizes.n_params,
            "data.train_size": sizes.images_bytes()}


def _prune_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    # The ratios of a job retrain side by side (LockstepTrainer); the store's epochs it reads.
    ratios = len(config["pruning"]["compression"])
    return {"pruning.compression": FLOAT_BYTES * TRAINER_COPIES * ratios * sizes.n_params,
            NETWORK_TERM: FLOAT_BYTES * 4 * sizes.n_params,
            "data.train_size": sizes.images_bytes()}


def _level_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    # One network trained at a time (the chain, then each control), every epoch's weights kept
    # (early stopping is read from them), level L-1's state file read.
    iterative_cfg = config["pruning"]["iterative"]
    epochs = {f"pruning.iterative.{p}.epochs": iterative_cfg[p]["epochs"] for p in iterative_cfg["protocols"]}
    key = max(epochs, key=epochs.get, default="pruning.iterative.protocols")
    return {NETWORK_TERM: FLOAT_BYTES * (TRAINER_COPIES + 6) * sizes.n_params,
            key: FLOAT_BYTES * 2 * (epochs.get(key, 0) + 1) * sizes.n_params,
            "data.train_size": sizes.images_bytes()}


def _figure_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    return {NETWORK_TERM: FIGURE_BYTES_PER_WEIGHT * sizes.n_weights}


def _change_scale_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    # Two epochs of parameters and the statistics of every parameter (absolute, relative, scale).
    return {NETWORK_TERM: FLOAT_BYTES * 10 * sizes.n_params}


def _aggregate_terms(config: dict, sizes: NetworkSizes) -> dict[str, float]:
    from .experiments import EXPERIMENTS

    networks = len(config["data"]["datasets"]) * len(config["training"]["seeds"])
    rows = max([networks * e.evaluations_per_scope(config["experiments"]) * sizes.n_scopes
                for e in EXPERIMENTS.values() if e.grid(config["experiments"])] or [0])
    return {"experiments.repeats": 3 * ROW_BYTES * rows}  # the job tables, their concatenation, the summary


def epoch_seconds(multiply_adds: int, batch_size: int, n_fit: int) -> float:
    """Seconds per epoch of the compiled training loop on one core: a cost per step plus one per
    multiply-add of the forward pass (``LayerStack.multiply_adds``; the backward pass costs in
    proportion) and sample: the line through two measured MLPs (2026-12-03), whose multiply-adds are
    their weights: the article's (89,610, batch 32, 54,000 images: 0.63 s) and LeNet-300-100
    (266,200, batch 60, 55,000: 1.26 s). Counting multiply-adds, a conv layer's many output
    positions count, not only its few weights."""
    return math.ceil(n_fit / batch_size) * (1.5e-4 + 7.6e-11 * multiply_adds * batch_size)


def network_key(config: dict) -> str:
    """The key a size of the network is blamed on: the layer list, or the MLP shorthand's widths."""
    return "network.layers" if config["network"].get("layers") is not None else "network.hidden_layers"


# rule -> (base MB, terms per config key in bytes); NETWORK_TERM is the network's size, named
# in a message by network_key.
JOB_MEMORY: dict[str, tuple[float, Callable[[dict, NetworkSizes], dict[str, float]]]] = {
    "train_network": (TENSORFLOW_BASE_MB, _training_terms),
    "prune": (TENSORFLOW_BASE_MB, _prune_terms),
    "prune_level": (TENSORFLOW_BASE_MB, _level_terms),
    "disturb": (EVALUATOR_BASE_MB, _disturb_terms),
    "figure1": (FIGURE_BASE_MB, _figure_terms),
    "figure2_3": (FIGURE_BASE_MB, _figure_terms),
    "change_scale": (SMALL_JOB_MB["change_scale"], _change_scale_terms),
    "aggregate_experiment": (SMALL_JOB_MB["aggregate_experiment"], _aggregate_terms),
    **{rule: (mb, lambda config, sizes: {}) for rule, mb in SMALL_JOB_MB.items()
       if rule not in ("change_scale", "aggregate_experiment")},
}


def job_memory_terms(config: dict, rule: str) -> tuple[str, dict[str, float]]:
    """(the dataset whose network needs the most, its terms in MB with "base") for one job of ``rule``."""
    base_mb, terms = JOB_MEMORY[rule]
    best = None
    for name in config["data"]["datasets"]:
        sizes = NetworkSizes.of(config, name)
        parts = {"base": float(base_mb), **{(network_key(config) if key == NETWORK_TERM else key): value / MB
                                            for key, value in terms(config, sizes).items()}}
        if best is None or sum(parts.values()) > sum(best[1].values()):
            best = (sizes.title, parts)
    return best


def job_memory_mb(config: dict, rule: str) -> int:
    """What a job of ``rule`` asks for (``resources: mem_mb``): its estimate x ``MARGIN``, rounded up
    to 100 MB, at least ``FLOOR_MB``; a TensorFlow job at least its address space
    (``TENSORFLOW_ADDRESS_SPACE_MB`` plus its arrays), which Grid Engine's h_vmem limits."""
    _, parts = job_memory_terms(config, rule)
    estimate = MARGIN * sum(parts.values())
    if JOB_MEMORY[rule][0] == TENSORFLOW_BASE_MB:
        estimate = max(estimate, TENSORFLOW_ADDRESS_SPACE_MB + sum(parts.values()) - parts["base"])
    return max(FLOOR_MB, 100 * math.ceil(estimate / 100))


def check_job_memory(config: dict, limit_mb: float | None = None) -> None:
    """Raise ``InputError`` naming the key whose value makes a job of any rule ask for more memory
    than ``limit_mb`` (the profile's or ``--resources mem_mb``; default: this machine's)."""
    where = "this machine has"
    if limit_mb is None:
        limit_mb = machine_memory_bytes() / MB
    else:
        where = "the memory limit (resources: mem_mb) is"
    counts = job_count(config)
    # A stage the config switches off has no job to ask for anything.
    off = ({"prune", "pruning_summary", "pruning_figure"} if not counts["pruning"] else set()) | \
          ({"prune_level", "iterative_summary", "iterative_figure"} if not counts["pruning.iterative"] else set()) | \
          ({"disturb", "aggregate_experiment", "table1", "experiment_figure"} if not counts["experiments"] else set())
    for rule in (rule for rule in JOB_MEMORY if rule not in off):
        request = job_memory_mb(config, rule)
        if request <= limit_mb:
            continue
        title, parts = job_memory_terms(config, rule)
        key = max((k for k in parts if k != "base"), key=parts.get, default=NETWORK_TERM)
        raise InputError(f"{key}: a {rule} job of the {title} network would ask for {request:,} MB of memory "
                         f"(estimate {human_bytes(sum(parts.values()) * MB)}, {human_bytes(parts[key] * MB)} of it "
                         f"from {key}, x{MARGIN:g}); {where} {limit_mb:,.0f} MB")
