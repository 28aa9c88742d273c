# Stage 1: MNIST in Keras' mnist.npz layout, from the configured source.


localrules:
    prepare_mnist,


rule prepare_mnist:
    """Fetch MNIST (a local rule: cluster nodes often have no internet) and convert it."""
    output:
        "resources/mnist.npz",
    params:
        data=config["data"],
    log:
        "logs/prepare_mnist.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/training.yaml"
    cache: "omit-software"
    script:
        "../../scripts/prepare_mnist.py"
