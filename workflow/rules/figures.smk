# Stage 5: the article's figures (PNG and PDF), one rule and one script each.
# Figures 1-3 show the first network seed; Figures 4-7 pool every seed.


localrules:
    figure1,
    figure2_3,
    figure4_7,


rule figure1:
    """Figure 1: weight and bias densities per layer, before and after training."""
    input:
        f"results/networks/seed{SEEDS[0]}/weights.h5",
    output:
        png="results/figures/figure1.png",
        pdf="results/figures/figure1.pdf",
    log:
        "logs/figures/figure1.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        reference_epoch=config["change_scale"]["reference_epoch"],
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/figure1.py"


rule figure2_3:
    """Figure 2 (change densities) and Figure 3 (relative change box plots)."""
    input:
        f"results/networks/seed{SEEDS[0]}/change_scale.h5",
    output:
        png="results/figures/figure{n}.png",
        pdf="results/figures/figure{n}.pdf",
    log:
        "logs/figures/figure{n}.log",
    wildcard_constraints:
        n="2|3",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/figure2_3.py"


rule figure4_7:
    """Figures 4-7: accuracy under disturbance, from the aggregated experiment tables."""
    input:
        lambda wildcards: "results/experiments/{}.csv".format(
            FIGURE_EXPERIMENT[wildcards.n]
        ),
    output:
        png="results/figures/figure{n}.png",
        pdf="results/figures/figure{n}.pdf",
    log:
        "logs/figures/figure{n}.log",
    wildcard_constraints:
        n="4|5|6|7",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        reset_biases_max=config["figures"]["reset_biases_max"],
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/figure4_7.py"
