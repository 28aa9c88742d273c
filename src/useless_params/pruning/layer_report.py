"""Per-layer kept weights and multiply-adds of one one-shot mask of a trained network (Han et al.
2015, Table 3's columns), from its weight store:

    python3 -m useless_params.pruning.layer_report results/networks/mnist/seed1/weights.h5 \
        --criterion magnitude --allocation global layer --compression 12 --out layers.csv

The mask is the one the `prune` rule draws for a deterministic criterion (same scores, same
allocation; `none` retraining: the mask alone decides the counts, retraining never revives a weight).
A random criterion draws its own mask per job seed and is refused here.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from ..errors import InputError
from ..store import WeightStore
from .criteria import criterion, scores
from .masks import Compression, Mask, check_allocation, prune
from .sizes import layer_costs


def layer_report(store_path: str, criterion_name: str, allocation: str, compression: float,
                 reference_epoch: int = 0) -> pd.DataFrame:
    crit = criterion(criterion_name)
    if crit.random:
        raise InputError(f"--criterion: {criterion_name} draws its mask from the job's seed; name a scored criterion")
    check_allocation(allocation)
    store = WeightStore(store_path)
    trained, reference = store.network(-1), store.network(reference_epoch)
    layer_scores = scores(crit, reference.kernels, trained.kernels)
    dense = Mask.dense([k.shape for k in trained.kernels])
    network = prune(layer_scores, dense, Compression(compression), allocation).apply(trained)
    rows = layer_costs(network)
    total = {"layer": "total", **{key: sum(r[key] for r in rows) for key in
                                  ("weights", "kept_weights", "multiply_adds", "kept_multiply_adds")}}
    total["kept_fraction"] = total["kept_weights"] / total["weights"]
    total["multiply_adds_fraction"] = total["kept_multiply_adds"] / total["multiply_adds"]
    frame = pd.DataFrame(rows + [total])
    frame.insert(1, "criterion", criterion_name)
    frame.insert(2, "allocation", allocation)
    frame.insert(3, "compression", float(compression))
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("--criterion", default="magnitude")
    parser.add_argument("--allocation", nargs="+", default=["global"])
    parser.add_argument("--compression", type=float, nargs="+", default=[12.0])
    parser.add_argument("--reference-epoch", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        frames = [layer_report(args.store, args.criterion, allocation, c, args.reference_epoch)
                  for allocation in args.allocation for c in args.compression]
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    pd.concat(frames).to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
