"""Rule prune: one pruning criterion, allocation, retraining mode and draw, at every compression ratio."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import time

    from useless_params import data, forward, pruning
    from useless_params.fileio import write_rows
    from useless_params.store import WeightStore

    p, w = smk.params, smk.wildcards
    job = pruning.PruningJob(dataset=w.dataset, network_seed=int(w.seed), criterion=pruning.criterion(w.criterion),
                             allocation=w.allocation, draw=int(w.draw), retraining=pruning.retraining(w.retraining),
                             seed=p.seed)
    entry = data.dataset(w.dataset)
    arrays = data.load_npz(smk.input.data, entry)
    x_test = data.model_inputs(arrays["x_test"], p.sizes["test_size"])
    y_test = data.labels(arrays["y_test"], p.sizes["test_size"])
    store = WeightStore(smk.input.store, expected=smk.params.architecture)
    retrain = None
    if job.retraining.start is not None:
        retrain = pruning.make_retrainer(
            data.model_inputs(arrays["x_train"], p.sizes["train_size"]),
            data.labels(arrays["y_train"], p.sizes["train_size"]),
            x_test, y_test, store.architecture, p.trainer, threads=smk.threads)
    started = time.perf_counter()
    rows = pruning.job_rows(
        job, compressions=p.compression, initial=store.network(0),
        reference=store.network(store.resolve_epoch(p.reference_epoch)), trained=store.network(-1),
        accuracy=lambda network: forward.accuracy(network, x_test, y_test), settings=p.retrain, retrain=retrain)
    print(f"{w.dataset}/seed{w.seed}/{w.criterion}/{w.allocation}/{w.retraining}/draw{w.draw}: {len(rows)} networks in "
          f"{time.perf_counter() - started:.1f} s")
    write_rows(list(pruning.COLUMNS), rows, smk.output.table)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
