# Stage 2: train one network per seed; every epoch's parameters go to one HDF5 store.


rule train_network:
    """Train the MLP; write the weight store, the history and the final test accuracy."""
    input:
        "resources/mnist.npz",
    output:
        store=NETWORK + "/weights.h5",
        history=NETWORK + "/history.csv",
        metrics=NETWORK + "/training.json",
    params:
        data=config["data"],
        network=config["network"],
        training=config["training"],
    log:
        "logs/train_network/seed{seed}.log",
    threads: config["training"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/training.yaml"
    cache: True
    script:
        "../../scripts/train_network.py"
