"""Rule train_network: train one network and store every epoch's parameters in HDF5."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import json
    import time

    import pandas as pd

    from useless_params import data, store, training
    from useless_params.fileio import atomic_path, write_csv
    from useless_params.job_costs import process_cost
    from useless_params.model import Architecture

    seed, entry = int(smk.wildcards.seed), data.dataset(smk.wildcards.dataset)
    cfg_data, cfg_net, cfg_train = smk.params.sizes, smk.params.network, smk.params.training
    arrays = data.load_npz(smk.input.data, entry)
    x_train = data.model_inputs(arrays["x_train"], cfg_data["train_size"])
    y_train = data.labels(arrays["y_train"], cfg_data["train_size"])
    x_test = data.model_inputs(arrays["x_test"], cfg_data["test_size"])
    y_test = data.labels(arrays["y_test"], cfg_data["test_size"])
    architecture = Architecture.from_config(cfg_net, entry.image_shape, entry.n_classes)

    started = time.perf_counter()
    kernels, biases, history, summary = training.train(
        x_train, y_train, x_test, y_test, architecture, cfg_train, seed=seed, threads=smk.threads
    )
    final_accuracy = float(history["test_accuracy"][-1])
    summary.update(dataset=entry.name, seed=seed, test_accuracy=final_accuracy,
                   wall_seconds=time.perf_counter() - started, n_train=len(y_train), n_test=len(y_test))
    attrs = {
        "epochs": cfg_train["epochs"],
        "dataset": entry.name,
        "seed": seed,
        "final_test_accuracy": final_accuracy,
        "config": {"data": cfg_data, "network": cfg_net, "training": cfg_train},
    }
    store.write_store(smk.output.store, architecture, kernels, biases, history, attrs)
    frame = pd.DataFrame({"epoch": range(1, cfg_train["epochs"] + 1),
                          **{k: v for k, v in history.items() if k != "test_accuracy"},
                          "test_accuracy": history["test_accuracy"][1:]})
    write_csv(frame, smk.output.history)
    summary["job_cost"] = process_cost()  # no benchmark: on a rule eligible for --cache
    with atomic_path(smk.output.metrics) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
