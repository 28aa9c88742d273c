"""Benchmark: which lockstep layout retrains K pruned conv networks fastest (issue 32).

Two ways to run one training step (forward, loss, gradients) of K LeNet-5s on one shared
batch, side by side in one process on the same data:

* ``one at a time``: K separate steps of one network (what ``make_retrainer`` does for conv nets);
* ``stacked filters``: conv1 as one convolution with K x 20 filters over the shared input, conv2
  as a grouped convolution (K groups of 20 -> 50 channels), the dense layers as batched products
  (K, n_in, n_out), as ``lockstep.LockstepTrainer`` widens an MLP.

    python benchmarks/conv_lockstep.py [--networks 10] [--batch 64] [--steps 30]

Prints seconds per K-network step of each layout and their ratio; nothing is asserted. One
TensorFlow thread, as the workflow's training jobs run.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    k, batch = args.networks, args.batch
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, 28, 28, 1)), tf.float32)
    y = tf.constant(rng.integers(0, 10, batch), tf.int64)

    def variable(*shape):
        return tf.Variable(rng.normal(0, 0.05, shape).astype(np.float32))

    one = [[variable(5, 5, 1, 20), variable(20), variable(5, 5, 20, 50), variable(50),
            variable(800, 500), variable(500), variable(500, 10), variable(10)] for _ in range(k)]

    def logits_one(p, images):
        h = tf.nn.max_pool2d(tf.nn.conv2d(images, p[0], 1, "VALID") + p[1], 2, 2, "VALID")
        h = tf.nn.max_pool2d(tf.nn.conv2d(h, p[2], 1, "VALID") + p[3], 2, 2, "VALID")
        h = tf.nn.relu(tf.reshape(h, (-1, 800)) @ p[4] + p[5])
        return h @ p[6] + p[7]

    @tf.function
    def step_one(p):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits_one(p, x)))
        return tape.gradient(loss, p)

    wide = [variable(5, 5, 1, k * 20), variable(k * 20), variable(5, 5, 20, k * 50), variable(k * 50),
            variable(k, 800, 500), variable(k, 1, 500), variable(k, 500, 10), variable(k, 1, 10)]

    @tf.function
    def step_stacked():
        with tf.GradientTape() as tape:
            h = tf.nn.max_pool2d(tf.nn.conv2d(x, wide[0], 1, "VALID") + wide[1], 2, 2, "VALID")  # (b, 12, 12, 20k)
            # grouped: input depth 20k, filter depth 20 -> k groups
            h = tf.nn.max_pool2d(tf.nn.conv2d(h, wide[2], 1, "VALID") + wide[3], 2, 2, "VALID")  # (b, 4, 4, 50k)
            # (b, 4, 4, k, 50) -> (k, b, 4 * 4 * 50) in each network's own flatten order (h, w, c)
            h = tf.transpose(tf.reshape(h, (batch, 4, 4, k, 50)), (3, 0, 1, 2, 4))
            h = tf.nn.relu(tf.matmul(tf.reshape(h, (k, batch, 800)), wide[4]) + wide[5])
            out = tf.matmul(h, wide[6]) + wide[7]  # (k, b, 10)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.tile(y[None], (k, 1)), logits=out)
            loss = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
        return tape.gradient(loss, wide)

    def timed(run) -> float:
        run()  # trace
        started = time.perf_counter()
        for _ in range(args.steps):
            run()
        return (time.perf_counter() - started) / args.steps

    try:
        stacked = timed(step_stacked)
    except Exception as exc:  # TensorFlow's CPU kernels may lack grouped convolution
        stacked, reason = float("nan"), f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    else:
        reason = ""
    alone = timed(lambda: [step_one(p) for p in one])
    print(f"{k} LeNet-5s, batch {batch}, one thread: seconds per step of all {k} networks")
    print(f"  one at a time    {alone:.4f}")
    print(f"  stacked filters  {stacked:.4f}" + (f"  ({reason})" if reason else f"  ({alone / stacked:.2f}x)"))


if __name__ == "__main__":
    main()
