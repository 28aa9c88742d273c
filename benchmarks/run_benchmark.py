"""Benchmark: evaluator vs the article's Keras method, the GEMM floor, training and its floor, workflow overhead.

Everything is measured side by side in one run on one machine, so ratios hold on a noisy
machine. Writes ``<out>/benchmark.json`` and ``<out>/benchmark.md``.

    python benchmarks/run_benchmark.py            # after `snakemake all`: the default config's network
    python benchmarks/run_benchmark.py --tiny     # quick check on the tiny test configuration

Evaluations run on one thread (as the workflow's evaluation jobs do).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from useless_params import data  # noqa: E402
from useless_params.change_scale import ChangeScales  # noqa: E402
from useless_params.disturb import reset_selected, select  # noqa: E402
from useless_params.evaluator import Evaluator  # noqa: E402
from useless_params.experiments import EXPERIMENTS  # noqa: E402
from useless_params.seeding import generator  # noqa: E402
from useless_params.store import Network, WeightStore  # noqa: E402

# Change-scale threshold of the weight disturbances timed here (mid-grid).
BENCH_THRESHOLD = 50.0


def best_of(fn, repeats: int) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` runs (the least disturbed by noise)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def load_config(configfile: Path) -> dict:
    """The config with the schema's defaults filled in (as the workflow sees it)."""
    from snakemake.utils import validate

    config = yaml.safe_load(configfile.read_text()) or {}
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    return config


def kinds(n_layers: int) -> list[tuple[str, str, list[int]]]:
    """(name, parameter kind, layers) of every kind of disturbance."""
    out = []
    for kind in ("bias", "kernel"):
        out += [(f"{kind} layer {l}", kind, [l]) for l in range(n_layers)]
        out.append((f"{kind} all layers", kind, list(range(n_layers))))
    return out


def grid_counts(config: dict, n_layers: int) -> dict[str, int]:
    """Evaluations of each kind the article's method needs for the whole grid of ``config``.

    Read from the experiment registry: each experiment adds its evaluations per scope to
    every scope of its parameter kind; a whole-network experiment counts once, as "all layers".
    """
    exp = config["experiments"]
    counts = {name: 0 for name, _, _ in kinds(n_layers)}
    for entry in EXPERIMENTS.values():
        if entry.whole_network:
            counts[f"{entry.kind} all layers"] += entry.evaluations_per_scope(exp)
            continue
        for name, kind, _ in kinds(n_layers):
            if kind == entry.kind:
                counts[name] += entry.evaluations_per_scope(exp)
    return counts


def disturbed_batch(network: Network, scales: ChangeScales, kind: str, layers: list[int], repeats: int):
    """``repeats`` reset-to-Uniform[0, 1) disturbances: all biases, or the weights with c <= 50."""
    base = network.kernels if kind == "kernel" else network.biases
    arrays = [base[l] for l in layers]
    masks = [select(scales.scale(l, "kernel"), BENCH_THRESHOLD) if kind == "kernel" else np.ones(base[l].shape, bool)
             for l in layers]
    stacks = {l: np.empty((repeats, *base[l].shape), np.float32) for l in layers}
    for r in range(repeats):
        for l, new in zip(layers, reset_selected(arrays, masks, 1.0, generator(0, "benchmark", kind, r))):
            stacks[l][r] = new
    return stacks, dict(zip(layers, masks))


def bench_evaluator(network, scales, x, y, counts, repeats, keras_evals, batch_memory_mb):
    """Per-evaluation time, per kind: the evaluator as the jobs call it (delta path where it pays,
    layers above it in sample blocks), the previous dense evaluator (every product in full, on
    full-size arrays; frozen in ``previous_evaluator.py``), and Keras set_weights + evaluate (the
    article's method). Weight disturbances select c <= 50, mid-grid."""
    import keras

    from keras_reference import model_from_network
    from previous_evaluator import PreviousEvaluator

    evaluator = Evaluator(network, x, y, batch_memory_mb)
    previous = PreviousEvaluator(network, x, y)
    model = model_from_network(network)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    y_onehot = keras.utils.to_categorical(y, 10)
    model.evaluate(x, y_onehot, verbose=0)  # build and trace once, outside the timings
    rows = []
    for name, kind, layers in kinds(network.n_layers):
        batch, changed = disturbed_batch(network, scales, kind, layers, repeats)
        if kind == "kernel":
            ours = best_of(lambda: evaluator.accuracy(kernels=batch, changed=changed), 3) / repeats
            dense = best_of(lambda: previous.accuracy(kernels=batch), 3) / repeats
        else:  # biases: no delta path (their products are cached already)
            ours = best_of(lambda: evaluator.accuracy(biases=batch), 3) / repeats
            dense = best_of(lambda: previous.accuracy(biases=batch), 3) / repeats
        keras_times = []
        for i in range(keras_evals):
            r = i % repeats
            kernels = [batch[l][r] if kind == "kernel" and l in batch else k for l, k in enumerate(network.kernels)]
            biases = [batch[l][r] if kind == "bias" and l in batch else b for l, b in enumerate(network.biases)]
            weights = [w for pair in zip(kernels, biases) for w in pair]
            start = time.perf_counter()
            model.set_weights(weights)
            model.evaluate(x, y_onehot, verbose=0)
            keras_times.append(time.perf_counter() - start)
        keras_time = float(np.median(keras_times))
        floor = gemm_floor(evaluator, kind, min(layers))
        rows.append({"kind": name, "evaluations_in_grid": counts[name], "evaluator_s": ours, "dense_s": dense,
                     "over_dense": dense / ours, "keras_s": keras_time, "speedup": keras_time / ours, "floor_s": floor,
                     # No product is unavoidable for the output layer's bias: no ratio there.
                     "evaluator_over_floor": ours / floor if floor else None})
    total_ours = sum(r["evaluator_s"] * r["evaluations_in_grid"] for r in rows)
    total_dense = sum(r["dense_s"] * r["evaluations_in_grid"] for r in rows)
    total_keras = sum(r["keras_s"] * r["evaluations_in_grid"] for r in rows)
    total_floor = sum(r["floor_s"] * r["evaluations_in_grid"] for r in rows)
    return {"per_kind": rows, "grid_evaluations": sum(counts.values()),
            "grid_evaluator_s": total_ours, "grid_keras_s": total_keras, "grid_speedup": total_keras / total_ours,
            "grid_dense_s": total_dense, "grid_over_dense": total_dense / total_ours,
            "grid_floor_s": total_floor, "grid_evaluator_over_floor": total_ours / total_floor}


def bench_job_phases(network_dir: Path, x, y, config: dict) -> dict:
    """Where one evaluation job's time goes (shuffle_weights at T = 50, in process): reading its
    inputs, the evaluator's cache, building the disturbed stacks, evaluating them."""
    from useless_params.disturbance_job import Job

    exp = config["experiments"]
    start = time.perf_counter()
    network = WeightStore(network_dir / "weights.h5").network(-1)
    scales = ChangeScales.load(network_dir / "change_scale.h5")
    read = time.perf_counter() - start
    start = time.perf_counter()
    evaluator = Evaluator(network, x, y, exp["batch_memory_mb"])
    setup = time.perf_counter() - start
    evaluating = []
    accuracy = evaluator.accuracy

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return accuracy(*args, **kwargs)
        finally:
            evaluating.append(time.perf_counter() - started)

    evaluator.accuracy = timed
    job = Job(evaluator, scales, exp["repeats"], exp["seed"], config["training"]["seeds"][0],
              config["data"].get("datasets", ["mnist"])[0])
    start = time.perf_counter()
    job.rows("shuffle_weights", BENCH_THRESHOLD)
    total = time.perf_counter() - start
    return {"job": f"shuffle_weights T={BENCH_THRESHOLD:g}", "read_inputs_s": read, "evaluator_cache_s": setup,
            "build_disturbed_stacks_s": total - sum(evaluating), "evaluate_s": sum(evaluating)}


def count_delta_differences(network_dir: Path, x, y, config: dict, every: int) -> dict:
    """Every ``every``-th grid value of each weight experiment, run as its job runs it, once through
    the evaluator's delta path and once dense: how many predictions' correctness differs (float32
    summation order can flip an arg-max tie). Counted from accuracies, so a flip one way and one
    the other way in the same repeat cancel: a lower bound on flipped images."""
    from useless_params.disturbance_job import Job

    exp = config["experiments"]
    network = WeightStore(network_dir / "weights.h5").network(-1)
    scales = ChangeScales.load(network_dir / "change_scale.h5")
    fast = Evaluator(network, x, y, exp["batch_memory_mb"])
    dense = Evaluator(network, x, y, exp["batch_memory_mb"])
    full = dense.accuracy
    dense.accuracy = lambda *args, **kwargs: full(*args, **{**kwargs, "delta_max_fraction": 0.0})
    seed, network_seed = exp["seed"], config["training"]["seeds"][0]
    predictions = differing = jobs = rows_differing = 0
    for entry in EXPERIMENTS.values():
        if entry.kind != "kernel" or entry.whole_network or not entry.grid(exp):
            continue
        for value in entry.grid(exp)[::every]:
            levels = entry.levels(exp) or None
            dataset = config["data"].get("datasets", ["mnist"])[0]
            a = Job(fast, scales, exp["repeats"], seed, network_seed, dataset).rows(entry.name, value, levels)[1]
            b = Job(dense, scales, exp["repeats"], seed, network_seed, dataset).rows(entry.name, value, levels)[1]
            for row_a, row_b in zip(a, b):
                images = round(abs(row_a["accuracy"] - row_b["accuracy"]) * len(y))
                differing += images
                rows_differing += images > 0
            predictions += len(a) * len(y)
            jobs += 1
    return {"every": every, "jobs": jobs, "predictions": predictions, "differing_predictions": differing,
            "evaluations_differing": rows_differing}


def gemm_floor(evaluator: Evaluator, kind: str, first: int) -> float:
    """numpy GEMM time of the products one evaluation cannot avoid, at the network's full shapes.

    Those are the products of every layer at and above the first disturbed one; a bias-only
    disturbance leaves its own layer's product unchanged, so it starts one layer higher.
    """
    n = evaluator.n_samples
    rng = np.random.default_rng(0)
    start = first if kind == "kernel" else first + 1
    total = 0.0
    for layer in range(start, len(evaluator.kernels)):
        n_in, n_out = evaluator.network.kernels[layer].shape
        a = rng.random((n, n_in), dtype=np.float32)
        w = rng.random((n_in, n_out), dtype=np.float32)
        total += best_of(lambda: a @ w, 5)
    return total


def bench_training(config: dict, arrays: dict, epochs: int) -> dict:
    """Seconds per epoch side by side: plain model.fit, the previous path (model.fit with
    steps_per_execution 256), and the workflow's compiled loop, unmasked and masked (half the
    weights of every kernel masked, as fine-tuning a 2x-pruned network does)."""
    import keras

    import keras_reference
    from useless_params import training
    from useless_params.model import Architecture

    cfg = dict(config["training"], epochs=epochs)
    sizes = config["data"]
    x = data.model_inputs(arrays["x_train"], sizes["train_size"])
    y = data.labels(arrays["y_train"], sizes["train_size"])
    x_test = data.model_inputs(arrays["x_test"], sizes["test_size"])
    y_test = data.labels(arrays["y_test"], sizes["test_size"])
    seed, threads = config["training"]["seeds"][0], cfg["threads"]
    entry = data.dataset(config["data"].get("datasets", ["mnist"])[0])
    architecture = Architecture.from_config(config["network"], entry.image_shape, entry.n_classes)
    args = (x, y, x_test, y_test, architecture, cfg)
    keras_args = (x, y, x_test, y_test, config["network"], cfg)

    def measured(summary, history):
        return {"seconds_per_epoch": summary["seconds_per_epoch"], "test_accuracy": float(history["test_accuracy"][-1]),
                "first_epoch_s": summary.get("first_epoch_seconds"),
                "steady_seconds_per_epoch": summary.get("steady_seconds_per_epoch")}

    _, _, history, summary = training.train(*args, seed=seed, threads=threads)
    ours = measured(summary, history)
    rng = np.random.default_rng(0)
    masks = [rng.random(shape) < 0.5 for shape in architecture.kernel_shapes()]
    _, _, history, summary = training.train(*args, seed=seed, threads=threads, masks=masks)
    masked = measured(summary, history)
    _, _, history, summary = keras_reference.train_keras_fit(*keras_args, seed=seed, threads=threads,
                                                             steps_per_execution=256)
    previous = measured(summary, history)

    # The plain loop: the same model, optimizer and data, model.fit with Keras' defaults.
    training.configure_determinism(seed, threads)
    model = keras_reference.build_model(x.shape[1], config["network"]["hidden_layers"], config["network"]["activation"])
    model.compile(optimizer=keras_reference.make_optimizer(cfg), loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, keras.utils.to_categorical(y, 10), epochs=epochs, batch_size=cfg["batch_size"],
              validation_split=cfg["validation_split"], shuffle=cfg["shuffle"], verbose=0)
    plain_seconds = time.perf_counter() - start
    _, plain_accuracy = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)
    plain = {"seconds_per_epoch": plain_seconds / epochs, "test_accuracy": float(plain_accuracy)}
    return {"epochs": epochs, "workflow": ours, "workflow_masked": masked, "previous_fit_path": previous,
            "plain_fit": plain,
            "speedup": plain["seconds_per_epoch"] / ours["seconds_per_epoch"],
            "speedup_over_previous": previous["seconds_per_epoch"] / ours["seconds_per_epoch"],
            "projected_seconds_for_config_epochs": ours["seconds_per_epoch"] * config["training"]["epochs"],
            "accuracy_difference": ours["test_accuracy"] - plain["test_accuracy"]}


# The networks whose masked training the throughput section times: the configured one and the
# LeNet-300-100 preset (its network and training sections laid over the configured ones, as
# `--configfile config.yaml configs/lenet300_100.yaml` lays them).
LENET_PRESET = REPO / "configs" / "lenet300_100.yaml"
# Fraction of every kernel's weights the masked measurement keeps (a late lottery-ticket level).
MASKED_KEEP = 0.1
# Networks stepped together in the lockstep measurement (a pruning job retrains 10, one per ratio).
LOCKSTEP_NETWORKS = (4, 10)
# Imports each kind of job pays before its first line of work (Snakemake's script header first).
JOB_START_UPS = {
    "bare python": "pass",
    "script header (snakemake.script)": "import snakemake.script",
    "training jobs (train_network, prune with retraining, prune_level)": "import snakemake.script; import useless_params.training, "
                                                          "useless_params.pruning.iterative; import tensorflow",
    "evaluation jobs (disturb, shuffle_biases)": "import snakemake.script; import useless_params.disturbance_job",
    "figure jobs (plotnine)": "import snakemake.script; import useless_params.plots, plotnine",
}


def throughput_networks(config: dict) -> list[tuple[str, dict]]:
    """(name, config) of each network the throughput section times."""
    preset = yaml.safe_load(LENET_PRESET.read_text())
    lenet = dict(config, network={**config["network"], **preset["network"]},
                 training={**config["training"], **preset["training"]})
    return [("configured network " + "-".join(map(str, network_sizes(config))), config),
            ("LeNet-300-100 preset " + "-".join(map(str, network_sizes(lenet))), lenet)]


def network_sizes(config: dict) -> list[int]:
    entry = data.dataset(config["data"].get("datasets", ["mnist"])[0])
    return [entry.n_features, *config["network"]["hidden_layers"], entry.n_classes]


def training_gemm_floor(layer_sizes: list[int], batch: int, n_fit: int, n_networks: int = 1,
                        steps: int = 200) -> dict:
    """numpy's own GEMMs for every product of one masked training step, times the steps per epoch,
    per network.

    One step of an MLP needs, per layer, the forward product (batch x n_in @ n_in x n_out) and the
    weight gradient (n_in x batch @ batch x n_out), and above the first layer the input gradient
    (batch x n_out @ n_out x n_in): nothing else in a step is a product. Elementwise work
    (activations, the loss, the optimizer's update) is not in the floor. With ``n_networks`` K > 1,
    the products in ``lockstep.LockstepTrainer``'s layout (layer 0 one (n_in, K * n_1) product,
    the layers above K stacked ones), divided by K: the floor that stepping K networks together
    could reach.
    """
    rng = np.random.default_rng(0)
    k = int(n_networks)
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    # Layer 0 is one wide product; above it, (K, ...) stacks (np.matmul: one GEMM per network).
    inputs = [rng.random((batch, n_in) if layer == 0 else (k, batch, n_in), dtype=np.float32)
              for layer, (n_in, _) in enumerate(shapes)]
    kernels = [rng.random((n_in, k * n_out) if layer == 0 else (k, n_in, n_out), dtype=np.float32)
               for layer, (n_in, n_out) in enumerate(shapes)]
    deltas = [rng.random((batch, k * n_out) if layer == 0 else (k, batch, n_out), dtype=np.float32)
              for layer, (_, n_out) in enumerate(shapes)]

    def one_step():
        for layer, (h, w, d) in enumerate(zip(inputs, kernels, deltas)):
            h @ w
            np.swapaxes(h, -1, -2) @ d
            if layer:
                d @ np.swapaxes(w, -1, -2)

    per_step = best_of(lambda: [one_step() for _ in range(steps)], 3) / steps / k
    steps_per_epoch = -(-n_fit // batch)
    return {"networks": k, "seconds_per_step": per_step, "steps_per_epoch": steps_per_epoch,
            "seconds_per_epoch": per_step * steps_per_epoch}


def bench_training_throughput(config: dict, arrays: dict, epochs: int, rounds: int = 3) -> dict:
    """Seconds per network-epoch of the compiled loop, unmasked and masked (MASKED_KEEP of every
    kernel kept), and of the lockstep trainer, for each of ``throughput_networks``, beside the GEMM
    floors of the same shapes.

    This machine's speed drifts by 20-30 % within minutes, so the loops are measured in ``rounds``
    interleaved rounds (each trainer traced once before): every figure is the median over the
    rounds, and every speedup the median of the ratios taken within one round.
    """
    from useless_params import training
    from useless_params.lockstep import LockstepTrainer
    from useless_params.model import Architecture

    sizes = config["data"]
    x = data.model_inputs(arrays["x_train"], sizes["train_size"])
    y = data.labels(arrays["y_train"], sizes["train_size"])
    x_test = data.model_inputs(arrays["x_test"], sizes["test_size"])
    y_test = data.labels(arrays["y_test"], sizes["test_size"])
    rows = []
    for name, cfg in throughput_networks(config):
        train_cfg = cfg["training"]
        settings = {key: train_cfg[key] for key in training.TRAINER_KEYS}
        seed, lr = train_cfg["seeds"][0], train_cfg["learning_rate"]
        entry = data.dataset(cfg["data"].get("datasets", ["mnist"])[0])
        architecture = Architecture.from_config(cfg["network"], entry.image_shape, entry.n_classes)
        trainer = training.CompiledTrainer(x, y, x_test, y_test, architecture, settings, train_cfg["threads"])
        rng = np.random.default_rng(0)
        masks = [rng.random(shape) < MASKED_KEEP for shape in architecture.kernel_shapes()]
        start = architecture.initial_network(np.random.default_rng(1))
        together = {k: LockstepTrainer(x, y, x_test, y_test, architecture, settings, k, train_cfg["threads"])
                    for k in LOCKSTEP_NETWORKS}
        # Steady epochs only: the first one of a trainer's first run also traces the loop (reported apart).
        def lockstep_run(k: int, n_epochs: int):
            return together[k].run(seed, n_epochs, lr, starts=[start] * k, masks=[masks] * k, every_epoch=False)[0]

        first_epoch = trainer.run(seed, 1, lr).summary["first_epoch_seconds"]
        for k in LOCKSTEP_NETWORKS:
            lockstep_run(k, 1)
        measured = {"loop": [], "loop_masked": [], **{k: [] for k in LOCKSTEP_NETWORKS}}
        for _ in range(rounds):
            measured["loop"].append(trainer.run(seed, epochs, lr).summary["seconds_per_epoch"])
            measured["loop_masked"].append(trainer.run(seed, epochs, lr, masks=masks).summary["seconds_per_epoch"])
            for k in LOCKSTEP_NETWORKS:
                measured[k].append(lockstep_run(k, epochs).summary["seconds_per_epoch"] / k)
        median = {key: float(np.median(values)) for key, values in measured.items()}
        speedup = {k: float(np.median(np.divide(measured["loop_masked"], measured[k]))) for k in LOCKSTEP_NETWORKS}
        floors = {k: training_gemm_floor(list(architecture.layer_sizes), int(train_cfg["batch_size"]), trainer.n_fit,
                                         n_networks=k) for k in (1, *LOCKSTEP_NETWORKS)}
        floor = floors[1]
        lockstep_floor = {k: floors[k]["seconds_per_epoch"] for k in LOCKSTEP_NETWORKS}
        loop, loop_masked = median["loop"], median["loop_masked"]
        rows.append({"network": name, "batch_size": int(train_cfg["batch_size"]), "optimizer": train_cfg["optimizer"],
                     "activation": cfg["network"]["activation"], "epochs": epochs,
                     "per_round_seconds_per_network_epoch": {str(key): values for key, values in measured.items()},
                     "first_epoch_s": first_epoch,
                     "loop_seconds_per_epoch": loop, "loop_masked_seconds_per_epoch": loop_masked,
                     "floor": floor, "loop_over_floor": loop / floor["seconds_per_epoch"],
                     "loop_masked_over_floor": loop_masked / floor["seconds_per_epoch"],
                     "lockstep_masked_seconds_per_network_epoch": {str(k): median[k] for k in LOCKSTEP_NETWORKS},
                     "lockstep_speedup_over_loop_masked": {str(k): v for k, v in speedup.items()},
                     "lockstep_over_floor": {str(k): median[k] / floor["seconds_per_epoch"] for k in LOCKSTEP_NETWORKS},
                     "lockstep_floor_seconds_per_network_epoch": {str(k): v for k, v in lockstep_floor.items()},
                     "lockstep_over_own_floor": {str(k): median[k] / lockstep_floor[k] for k in LOCKSTEP_NETWORKS}})
    return {"masked_keep": MASKED_KEEP, "rounds": rounds, "per_network": rows}


def bench_job_start_up(repeats: int = 3) -> list[dict]:
    """Wall time of a fresh interpreter importing what each kind of job imports (best of ``repeats``)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    rows = []
    for kind, statement in JOB_START_UPS.items():
        seconds = best_of(lambda: subprocess.run([sys.executable, "-c", statement], check=True, env=env,
                                                 capture_output=True), repeats)
        rows.append({"job_kind": kind, "imports": statement, "seconds": seconds})
    return rows


def snakemake_cmd(workdir: Path, configfile: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), *args]


def bench_workflow(default_config: Path, tiny_config: Path, tiny_dir: Path) -> dict:
    """Dry run of the default DAG; per-job overhead of the evaluation jobs in a tiny run."""
    with tempfile.TemporaryDirectory() as empty:
        start = time.perf_counter()
        subprocess.run(snakemake_cmd(Path(empty), default_config, "--dry-run", "--quiet"), check=True,
                       capture_output=True)
        dry_run = time.perf_counter() - start
    # The disturbance stage only: the pruning jobs would hide the evaluation jobs' overhead.
    config = yaml.safe_load(tiny_config.read_text())
    config["pruning"] = dict(config.get("pruning") or {}, criteria=[], iterative={"protocols": []})
    tiny_dir.mkdir(parents=True, exist_ok=True)
    tiny_config = tiny_dir / "config-no-pruning.yaml"
    tiny_config.write_text(yaml.safe_dump(config))
    start = time.perf_counter()
    subprocess.run(snakemake_cmd(tiny_dir, tiny_config, "--cores", "2"), check=True, capture_output=True)
    tiny_wall = time.perf_counter() - start
    logs = sorted((tiny_dir / "logs" / "experiments").rglob("*.log"))
    evaluator_s = 0.0
    for log in logs:
        match = re.search(r"evaluations in ([0-9.]+) s", log.read_text())
        evaluator_s += float(match.group(1)) if match else 0.0
    job_count = len(logs)
    return {"default_dry_run_s": dry_run, "tiny_run_wall_s": tiny_wall, "tiny_evaluation_jobs": job_count,
            "tiny_evaluator_s": evaluator_s,
            "tiny_overhead_per_evaluation_job_s": (tiny_wall - evaluator_s) / max(job_count, 1),
            "note": "tiny run wall time minus the evaluators' own time, spread over its evaluation jobs "
                    "(includes data preparation, training and figures, so it is an upper bound)"}


def throughput_markdown(tp: dict) -> list[str]:
    lines = [f"Training throughput, seconds per network-epoch, traced before, median of "
             f"{tp['rounds']} interleaved rounds (masked: "
             f"{tp['masked_keep']:.0%} of every kernel kept; lockstep xK: K masked networks stepped together by "
             f"`lockstep.LockstepTrainer`, per network), beside the GEMM floor (numpy's products of one "
             f"step's forward and backward pass, times the steps per epoch):", "",
             "| network | batch | optimizer | compiled loop s | masked s | "
             + " | ".join(f"lockstep x{k} masked s (vs masked loop, / floor)" for k in LOCKSTEP_NETWORKS)
             + " | GEMM floor s | loop / floor | masked / floor | first epoch s |",
             "|---|---|---|---|---|" + "---|" * len(LOCKSTEP_NETWORKS) + "---|---|---|---|"]
    for r in tp["per_network"]:
        lockstep = " | ".join(f"{r['lockstep_masked_seconds_per_network_epoch'][str(k)]:.3f} "
                              f"({r['lockstep_speedup_over_loop_masked'][str(k)]:.2f}x, "
                              f"{r['lockstep_over_floor'][str(k)]:.2f})" for k in LOCKSTEP_NETWORKS)
        lines.append(f"| {r['network']} | {r['batch_size']} | {r['optimizer']} | {r['loop_seconds_per_epoch']:.3f} | "
                     f"{r['loop_masked_seconds_per_epoch']:.3f} | {lockstep} | {r['floor']['seconds_per_epoch']:.3f} | "
                     f"{r['loop_over_floor']:.2f} | {r['loop_masked_over_floor']:.2f} | {r['first_epoch_s']:.2f} |")
    lines += ["", "The floor of the lockstep layout itself (K networks' products side by side, per network):", "",
              "| network | " + " | ".join(f"lockstep x{k} floor s (lockstep / its floor)" for k in LOCKSTEP_NETWORKS)
              + " |", "|---|" + "---|" * len(LOCKSTEP_NETWORKS)]
    for r in tp["per_network"]:
        lines.append(f"| {r['network']} | " + " | ".join(
            f"{r['lockstep_floor_seconds_per_network_epoch'][str(k)]:.3f} ({r['lockstep_over_own_floor'][str(k)]:.2f})"
            for k in LOCKSTEP_NETWORKS) + " |")
    lines += ["", "| job kind | start-up s (interpreter and imports) |", "|---|---|"]
    lines += [f"| {r['job_kind']} | {r['seconds']:.2f} |" for r in tp["start_up"]]
    return lines


def markdown(result: dict) -> str:
    ev, tr, wf = result["evaluator"], result["training"], result["workflow"]
    lines = [f"Benchmark on {result['machine']} ({result['mode']} mode, {result['date']})", "",
             "| kind | grid evals | evaluator ms | previous dense evaluator ms | evaluator vs previous | Keras ms | speedup vs Keras "
             "| GEMM floor ms | evaluator / floor |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in ev["per_kind"]:
        ratio = f"{r['evaluator_over_floor']:.2f}" if r["evaluator_over_floor"] else "n/a (no product)"
        lines.append(f"| {r['kind']} | {r['evaluations_in_grid']} | {r['evaluator_s'] * 1e3:.2f} | "
                     f"{r['dense_s'] * 1e3:.2f} | {r['over_dense']:.2f}x | "
                     f"{r['keras_s'] * 1e3:.0f} | {r['speedup']:.0f}x | {r['floor_s'] * 1e3:.2f} | {ratio} |")
    lines += ["", f"Full grid ({ev['grid_evaluations']} evaluations): evaluator {ev['grid_evaluator_s']:.0f} s, "
              f"previous dense evaluator {ev['grid_dense_s']:.0f} s ({ev['grid_over_dense']:.2f}x), "
              f"Keras {ev['grid_keras_s']:.0f} s ({ev['grid_speedup']:.0f}x); GEMM floor {ev['grid_floor_s']:.0f} s "
              f"(evaluator / floor = {ev['grid_evaluator_over_floor']:.2f}); single core.", "",
              "One evaluation job ({job}), in process: reading inputs {read_inputs_s:.2f} s, evaluator cache "
              "{evaluator_cache_s:.2f} s, building the disturbed stacks {build_disturbed_stacks_s:.2f} s, "
              "evaluating {evaluate_s:.2f} s.".format(**ev["job_phases"]), "",
              *(["Delta path vs dense, every {every}-th weight-experiment job ({jobs} jobs, {predictions} "
                 "predictions): {differing_predictions} predictions differ, in {evaluations_differing} "
                 "evaluations.".format(**ev["delta_vs_dense"]), ""] if "delta_vs_dense" in ev else []),
              f"Training ({tr['epochs']} epochs, seconds per epoch including the first): "
              f"plain model.fit {tr['plain_fit']['seconds_per_epoch']:.2f} "
              f"(test accuracy {tr['plain_fit']['test_accuracy']:.4f}); previous path, model.fit with "
              f"steps_per_execution 256: {tr['previous_fit_path']['seconds_per_epoch']:.2f} "
              f"({tr['previous_fit_path']['test_accuracy']:.4f}); compiled loop "
              f"{tr['workflow']['seconds_per_epoch']:.2f} ({tr['workflow']['test_accuracy']:.4f}; "
              f"{tr['workflow']['steady_seconds_per_epoch'] or 0:.2f} after the first epoch), masked "
              f"{tr['workflow_masked']['seconds_per_epoch']:.2f} "
              f"({tr['workflow_masked']['steady_seconds_per_epoch'] or 0:.2f} after the first). "
              f"Compiled loop vs previous path: {tr['speedup_over_previous']:.1f}x; vs plain fit "
              f"{tr['speedup']:.1f}x; projected {tr['projected_seconds_for_config_epochs']:.0f} s for the "
              f"configured epochs.", "",
              *throughput_markdown(result["training_throughput"]), "",
              f"Workflow: dry run of the default DAG {wf['default_dry_run_s']:.1f} s; tiny run "
              f"{wf['tiny_run_wall_s']:.1f} s, of which evaluators {wf['tiny_evaluator_s']:.1f} s over "
              f"{wf['tiny_evaluation_jobs']} evaluation jobs: overhead <= "
              f"{wf['tiny_overhead_per_evaluation_job_s']:.2f} s per job."]
    return "\n".join(lines) + "\n"


def throughput_only(args) -> int:
    """The training-throughput section alone, on ``--configfile``'s data in ``--workdir``."""
    config = load_config(args.configfile)
    dataset = config["data"].get("datasets", ["mnist"])[0]
    data_file = args.workdir / "resources" / f"{dataset}.npz"
    if not data_file.is_file():
        sys.exit(f"error: {data_file} missing: run `snakemake prepare_data` there first")
    throughput = bench_training_throughput(config, data.load_npz(data_file, data.dataset(dataset)),
                                           max(args.train_epochs, 1), args.throughput_rounds)
    throughput["start_up"] = bench_job_start_up()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}"
    text = "\n".join([f"Benchmark on {machine} ({time.strftime('%Y-%m-%d')})", "",
                      *throughput_markdown(throughput)]) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.json").write_text(json.dumps(throughput, indent=2) + "\n")
    (args.out / "throughput.md").write_text(text)
    print(text)
    return 0


def write_result(out: Path, stem: str, result: dict, text: str) -> None:
    """``stem``.json and ``stem``.md in ``out``, and the markdown on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(text)
    print(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="benchmark the tiny test configuration (quick)")
    parser.add_argument("--workdir", type=Path, default=REPO, help="directory of a finished `snakemake all` run")
    parser.add_argument("--configfile", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--train-epochs", type=int, default=5, help="epochs of each training measurement")
    parser.add_argument("--throughput-rounds", type=int, default=3,
                        help="interleaved rounds of the training-throughput loops (medians over them)")
    parser.add_argument("--keras-evals", type=int, default=5, help="Keras evaluations timed per kind")
    parser.add_argument("--repeats", type=int, default=100, help="repeats batched per evaluator call")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--delta-check-every", type=int, default=0, metavar="K",
                        help="also run every K-th weight-experiment job through the delta and the dense path and "
                             "count differing predictions (1: the whole grid; slow)")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only the training-throughput section (needs only <workdir>/resources/<dataset>.npz, "
                             "e.g. after `snakemake prepare_data`); writes throughput.json and throughput.md")
    args = parser.parse_args(argv)
    tiny_config = REPO / "tests" / "small.yaml"
    if args.throughput_only:
        return throughput_only(args)

    with tempfile.TemporaryDirectory() as tiny_dir:
        workflow = bench_workflow(REPO / "config.yaml", tiny_config, Path(tiny_dir))
        if args.tiny:
            workdir, configfile, train_epochs, repeats = Path(tiny_dir), tiny_config, 2, 4
        else:
            workdir, configfile, train_epochs, repeats = args.workdir, args.configfile, args.train_epochs, args.repeats
        config = load_config(configfile)
        seed = config["training"]["seeds"][0]
        dataset = config.get("data", {}).get("datasets", ["mnist"])[0]  # the first network, as Figures 1-3
        network_dir = workdir / "results" / "networks" / dataset / f"seed{seed}"
        data_file = workdir / "resources" / f"{dataset}.npz"
        for needed in (network_dir / "weights.h5", network_dir / "change_scale.h5", data_file):
            if not needed.is_file():
                sys.exit(f"error: {needed} missing: run `snakemake all` first (or use --tiny)")
        arrays = data.load_npz(data_file, data.dataset(dataset))
        network = WeightStore(network_dir / "weights.h5").network(-1)
        scales = ChangeScales.load(network_dir / "change_scale.h5")
        x = data.model_inputs(arrays["x_test"], config["data"]["test_size"])
        y = data.labels(arrays["y_test"], config["data"]["test_size"])
        # Training first: TensorFlow's thread pools are fixed when it starts.
        training = bench_training(config, arrays, train_epochs)
        throughput = bench_training_throughput(config, arrays, max(train_epochs, 1), 1 if args.tiny else args.throughput_rounds)
        throughput["start_up"] = bench_job_start_up()
        evaluator = bench_evaluator(network, scales, x, y, grid_counts(config, network.n_layers), repeats,
                                    args.keras_evals, config["experiments"]["batch_memory_mb"])
        evaluator["job_phases"] = bench_job_phases(network_dir, x, y, config)
        if args.delta_check_every:
            evaluator["delta_vs_dense"] = count_delta_differences(network_dir, x, y, config, args.delta_check_every)

    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
              "date": time.strftime("%Y-%m-%d"), "mode": "tiny" if args.tiny else "default",
              "evaluator": evaluator, "training": training, "training_throughput": throughput,
              "workflow": workflow}
    write_result(args.out, "benchmark", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
