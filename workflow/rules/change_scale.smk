# Stage 3: per-parameter change scale between the reference and the final epoch.


rule change_scale:
    """Absolute, relative and change scale of every parameter, with per-layer summaries."""
    input:
        NETWORK + "/weights.h5",
    output:
        values=NETWORK + "/change_scale.h5",
        summary=NETWORK + "/change_scale_summary.csv",
        fractions=NETWORK + "/change_scale_fractions.csv",
    params:
        reference_epoch=config["change_scale"]["reference_epoch"],
        thresholds=config["change_scale"]["summary_thresholds"],
    log:
        "logs/change_scale/seed{seed}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../../scripts/change_scale.py"
