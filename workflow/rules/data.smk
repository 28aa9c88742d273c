# Stage 1: each dataset (src/useless_params/data.py registers them) in Keras' mnist.npz layout,
# from its configured source.


localrules:
    prepare_data,


rule prepare_data:
    """Fetch one dataset (a local rule: cluster nodes often have no internet), check and convert it."""
    output:
        data="resources/{dataset}.npz",
    log:
        "logs/prepare_data/{dataset}.log",
    cache: "omit-software"
    conda:
        "../../envs/training.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["prepare_data"],
        runtime=15,
    params:
        # Only this dataset's section: adding a dataset or editing another's source reruns nothing here.
        source=lambda wildcards: sorted_items(config["data"][wildcards.dataset]),
    script:
        "../../scripts/prepare_data.py"
