# Stage 2: train one network per seed; every epoch's parameters go to one HDF5 store.


rule train_network:
    """Train the MLP; write the weight store, the history and the final test accuracy."""
    input:
        data=rules.prepare_data.output.data,
    output:
        store="results/networks/{dataset}/seed{seed}/weights.h5",
        history="results/networks/{dataset}/seed{seed}/history.csv",
        metrics="results/networks/{dataset}/seed{seed}/training.json",
    log:
        "logs/train_network/{dataset}/seed{seed}.log",
    cache: True
    conda:
        "../../envs/training.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=JOB_MB["train_network"],
        runtime=measured_runtime(
            91.6, config["training"]["epochs"] / 100 * TRAIN_FRACTION
        ),
    params:
        # Sorted, so that reordering keys in a config file reruns nothing.
        sizes=sorted_items(config["data"], "train_size", "test_size"),
        network=sorted_items(config["network"]),
        training=sorted_items(config["training"], exclude=("seeds",)),
    script:
        "../../scripts/train_network.py"
