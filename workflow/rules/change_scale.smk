# Stage 3: per-parameter change scale between the reference and the final epoch.


localrules:
    change_scale_summary,


rule change_scale:
    """Absolute change, relative change and change scale of every parameter (HDF5)."""
    input:
        store=rules.train_network.output.store,
    output:
        scales="results/networks/{dataset}/seed{seed}/change_scale.h5",
    log:
        "logs/change_scale/{dataset}/seed{seed}.log",
    benchmark:
        "benchmarks/jobs/change_scale/{dataset}/seed{seed}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["change_scale"],
        runtime=measured_runtime(1),
    params:
        reference_epoch=config["change_scale"]["reference_epoch"],
        architecture=architecture_record,
    script:
        "../../scripts/change_scale.py"


rule change_scale_summary:
    """Per-layer quantiles, and the fraction of weights with c <= T on the summary grid."""
    input:
        scales=rules.change_scale.output.scales,
    output:
        summary=report(
            "results/networks/{dataset}/seed{seed}/change_scale_summary.csv",
            caption="../report/change_scale_summary.rst",
            category="1 The trained network",
        ),
        fractions="results/networks/{dataset}/seed{seed}/change_scale_fractions.csv",
    log:
        "logs/change_scale_summary/{dataset}/seed{seed}.log",
    benchmark:
        "benchmarks/jobs/change_scale_summary/{dataset}/seed{seed}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["change_scale_summary"],
        runtime=measured_runtime(1),
    params:
        thresholds=config["change_scale"]["summary_thresholds"],
    script:
        "../../scripts/change_scale_summary.py"
