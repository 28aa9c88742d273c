"""Rule prune_level: level L of one iterative chain (protocol, allocation, criterion, draw) from level L-1."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import time

    from useless_params import data, pruning
    from useless_params.fileio import write_rows
    from useless_params.pruning import iterative
    from useless_params.pruning.levels import LevelState, dense_state
    from useless_params.pruning.masks import PruneFraction
    from useless_params.pruning.retraining import make_trainer
    from useless_params.store import WeightStore

    p, w = smk.params, smk.wildcards
    level = int(w.level)
    chain = iterative.Chain(dataset=w.dataset, network_seed=int(w.seed), protocol=iterative.protocol(w.protocol),
                            allocation=w.allocation, criterion=pruning.criterion(w.criterion), draw=int(w.draw),
                            seed=p.seed)
    store = WeightStore(smk.input.store, expected=smk.params.architecture)
    previous = dense_state(store.network(-1)) if level == 1 else LevelState.load(smk.input.previous, chain, level - 1)
    settings = p.protocol
    # One stored epoch, read once: imp_rewind's rewind point (its start and its scores' w);
    # imp_continue scores against the change-scale reference epoch and starts from level L-1.
    point = store.network(store.resolve_epoch(settings.get("rewind_epoch", p.reference_epoch)))
    entry = data.dataset(w.dataset)
    arrays = data.load_npz(smk.input.data, entry)
    train = make_trainer(
        data.model_inputs(arrays["x_train"], p.sizes["train_size"]), data.labels(arrays["y_train"], p.sizes["train_size"]),
        data.model_inputs(arrays["x_test"], p.sizes["test_size"]), data.labels(arrays["y_test"], p.sizes["test_size"]),
        store.architecture, p.trainer, threads=smk.threads)
    started = time.perf_counter()
    state, rows = iterative.run_level(
        chain, level, previous, reference=point, rewind_point=point,
        amount=PruneFraction(p.rate, p.output_rate, p.conv_rate, store.architecture.layer_types()),
        settings=settings, controls=p.controls,
        train=train, architecture=store.architecture)
    print(f"{w.dataset}/seed{w.seed}/{w.protocol}/{w.allocation}/{w.criterion}/draw{w.draw} level {level}: "
          f"{rows[0]['kept_fraction']:.4f} of the weights left, accuracy {rows[0]['accuracy']:.4f}, "
          f"{len(rows)} networks in {time.perf_counter() - started:.1f} s")
    state.save(smk.output.state, chain)
    write_rows(list(iterative.COLUMNS), rows, smk.output.table)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
