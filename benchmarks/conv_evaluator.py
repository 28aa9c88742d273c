"""Benchmark (issue 32): the conv path on a finished LeNet-5 run, side by side in one process.

* Disturbance evaluations: ``evaluator.StackEvaluator`` (the input below the disturbed layer cached,
  the dense tail on the MLP's delta products) against Keras ``set_weights`` + ``evaluate`` (the
  article's method), per kind of disturbance, weighted by the evaluations of the run's grid; the
  accuracies of both compared evaluation by evaluation.
* Training: the compiled loop's seconds per epoch (the run's training.json) against an arithmetic
  floor measured here: numpy's GEMMs for every product of one step (each layer's forward product,
  weight gradient and, above the first layer, input gradient; a conv layer as its unfolded
  (batch x positions, kh x kw x c_in) product), times the steps per epoch.

    python benchmarks/conv_evaluator.py --workdir RUN --configfile configs/lenet5.yaml [--out DIR]

One thread (the jobs' setting). Writes conv_evaluator.json and .md to --out; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from run_benchmark import (REPO, best_of, disturbed_batch, grid_counts, kinds, load_config,  # noqa: E402
                           write_result)

import numpy as np  # noqa: E402

from useless_params import data  # noqa: E402
from useless_params.change_scale import ChangeScales  # noqa: E402
from useless_params.evaluator import StackEvaluator  # noqa: E402
from useless_params.store import WeightStore  # noqa: E402
from useless_params.training import validation_split_at  # noqa: E402


def bench_conv_evaluator(network, scales, x, y, counts, repeats: int, keras_evals: int) -> dict:
    import keras
    import tensorflow as tf

    from keras_reference import model_from_network

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    evaluator = StackEvaluator(network, x, y)
    model = model_from_network(network)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    y_onehot = keras.utils.to_categorical(y, 10)
    model.evaluate(x, y_onehot, verbose=0, batch_size=1000)  # build and trace once, outside the timings
    rows, worst = [], 0.0
    for name, kind, layers in kinds(network.n_layers):
        batch, _ = disturbed_batch(network, scales, kind, layers, repeats)
        arrays = {"kernels": batch} if kind == "kernel" else {"biases": batch}
        ours_acc = evaluator.accuracy(**arrays)
        ours = best_of(lambda: evaluator.accuracy(**arrays), 2) / repeats
        keras_times = []
        for r in range(min(keras_evals, repeats)):
            kernels = [batch[l][r] if kind == "kernel" and l in batch else k for l, k in enumerate(network.kernels)]
            biases = [batch[l][r] if kind == "bias" and l in batch else b for l, b in enumerate(network.biases)]
            start = time.perf_counter()
            model.set_weights([w for pair in zip(kernels, biases) for w in pair])
            theirs = model.evaluate(x, y_onehot, verbose=0, batch_size=1000, return_dict=True)["accuracy"]
            keras_times.append(time.perf_counter() - start)
            worst = max(worst, abs(theirs - ours_acc[r]))
        keras_time = float(np.median(keras_times))
        rows.append({"kind": name, "evaluations_in_grid": counts[name], "evaluator_s": ours, "keras_s": keras_time,
                     "speedup": keras_time / ours})
    total_ours = sum(r["evaluator_s"] * r["evaluations_in_grid"] for r in rows)
    total_keras = sum(r["keras_s"] * r["evaluations_in_grid"] for r in rows)
    return {"per_kind": rows, "grid_evaluations": sum(counts.values()), "grid_evaluator_s": total_ours,
            "grid_keras_s": total_keras, "grid_speedup": total_keras / total_ours,
            "max_accuracy_difference": worst, "path_counts": dict(evaluator.path_counts)}


def conv_training_floor(stack, batch: int, n_fit: int, steps: int = 20) -> dict:
    """numpy GEMM seconds of every product of one training step of ``stack``, times the steps per epoch."""
    rng = np.random.default_rng(0)
    products = []
    for order, (i, shape, macs) in enumerate(zip(stack.parameterised, stack.parameter_shapes(), stack.multiply_adds())):
        n_in, n_out = math.prod(shape["kernel"][:-1]), shape["kernel"][-1]
        rows = batch * (macs // (n_in * n_out))  # output positions per example (1 for a dense layer)
        h, w, d = (rng.random(s, dtype=np.float32) for s in ((rows, n_in), (n_in, n_out), (rows, n_out)))
        products.append((h, w, d, order > 0))

    def one_step():
        for h, w, d, above_first in products:
            h @ w
            h.T @ d
            if above_first:
                d @ w.T

    per_step = best_of(lambda: [one_step() for _ in range(steps)], 3) / steps
    steps_per_epoch = -(-n_fit // batch)
    return {"seconds_per_step": per_step, "steps_per_epoch": steps_per_epoch, "seconds_per_epoch": per_step * steps_per_epoch,
            "multiply_adds_per_example": int(sum(stack.multiply_adds()))}


def markdown(result: dict) -> str:
    ev, tr = result["evaluator"], result["training"]
    lines = ["| disturbance | evaluations in the grid | StackEvaluator | Keras evaluate | speedup |", "|---|---|---|---|---|"]
    lines += [f"| {r['kind']} | {r['evaluations_in_grid']:,} | {1e3 * r['evaluator_s']:.1f} ms | {1e3 * r['keras_s']:.0f} ms | "
              f"{r['speedup']:.1f}x |" for r in ev["per_kind"]]
    lines += [f"| **the grid** | {ev['grid_evaluations']:,} | {ev['grid_evaluator_s']:.0f} s | {ev['grid_keras_s']:.0f} s | "
              f"**{ev['grid_speedup']:.1f}x** |", "",
              f"Largest accuracy difference to Keras over the evaluations compared: {ev['max_accuracy_difference']:.2g}.", "",
              "| training, one thread | seconds per epoch |", "|---|---|",
              f"| compiled loop (the run's training.json) | {tr['measured_seconds_per_epoch']:.1f} |",
              f"| GEMM floor ({tr['floor']['steps_per_epoch']} steps of batch {tr['batch_size']}) | "
              f"{tr['floor']['seconds_per_epoch']:.1f} |",
              f"| ratio | {tr['over_floor']:.2f}x |"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a finished run of configs/lenet5.yaml")
    parser.add_argument("--configfile", type=Path, default=REPO / "configs" / "lenet5.yaml")
    parser.add_argument("--training-json", type=Path, default=None,
                        help="training.json whose seconds_per_epoch is compared with the floor (default: the run's)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats batched per evaluator call")
    parser.add_argument("--keras-evals", type=int, default=3, help="Keras evaluations timed per kind")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = parser.parse_args(argv)
    config = load_config(args.configfile)
    dataset, seed = config["data"]["datasets"][0], config["training"]["seeds"][0]
    network_dir = args.workdir / "results" / "networks" / dataset / f"seed{seed}"
    network = WeightStore(network_dir / "weights.h5").network(-1)
    scales = ChangeScales.load(network_dir / "change_scale.h5")
    arrays = data.load_npz(args.workdir / "resources" / f"{dataset}.npz", data.dataset(dataset), data.TEST_SET)
    x, y = data.model_inputs(arrays["x_test"], 0), data.labels(arrays["y_test"], 0)
    counts = grid_counts(config, network.n_layers)
    evaluator = bench_conv_evaluator(network, scales, x, y, counts, args.repeats, args.keras_evals)
    training = config["training"]
    n_fit = validation_split_at(data.dataset(dataset).n_train, training["validation_split"])
    floor = conv_training_floor(network.architecture.stack, training["batch_size"], n_fit)
    measured = json.loads((args.training_json or network_dir / "training.json").read_text())["seconds_per_epoch"]
    result = {"evaluator": evaluator, "training": {"batch_size": training["batch_size"], "floor": floor,
                                                   "measured_seconds_per_epoch": measured,
                                                   "over_floor": measured / floor["seconds_per_epoch"]}}
    write_result(args.out, "conv_evaluator", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
