# Stage 5: the article's figures (PNG and PDF). Figures 1-3 show the first dataset's first
# network seed; each experiment figure (the registry's `figure`, `plot`) pools every seed and
# draws one row of panels (Figure 7: one line) per dataset.


localrules:
    figure1,
    figure2_3,
    experiment_figure,


rule figure1:
    """Figure 1: weight and bias densities per layer, before and after training."""
    input:
        store=first_network(rules.train_network.output.store),
    output:
        png=report(
            "results/figures/figure1.png",
            caption="../report/figure1.rst",
            category="1 The trained network",
        ),
        pdf="results/figures/figure1.pdf",
    log:
        "logs/figures/figure1.log",
    benchmark:
        "benchmarks/jobs/figures/figure1.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["figure1"],
        runtime=measured_runtime(23.2),
    params:
        reference_epoch=config["change_scale"]["reference_epoch"],
        dpi=config["figures"]["dpi"],
        architecture=ARCHITECTURES[DATASETS[0]].record(),
        layer_names=LAYER_NAMES,
    script:
        "../../scripts/figure1.py"


rule figure2_3:
    """Figure 2 (change densities) and Figure 3 (relative change box plots)."""
    input:
        scales=first_network(rules.change_scale.output.scales),
    output:
        png=report(
            "results/figures/figure{n}.png",
            caption="../report/figure2_3.rst",
            category="1 The trained network",
        ),
        pdf="results/figures/figure{n}.pdf",
    log:
        "logs/figures/figure{n}.log",
    benchmark:
        "benchmarks/jobs/figures/figure{n}.tsv"
    wildcard_constraints:
        n="2|3",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["figure2_3"],
        runtime=measured_runtime(20.1),
    params:
        dpi=config["figures"]["dpi"],
        layer_names=LAYER_NAMES,
    script:
        "../../scripts/figure2_3.py"


rule experiment_figure:
    """Figures 4-7: accuracy under disturbance, from the aggregated experiment tables."""
    input:
        summary=lambda wildcards: rules.aggregate_experiment.output.summary.format(
            experiment=FIGURE_EXPERIMENTS[wildcards.n].name
        ),
    output:
        png=report(
            "results/figures/figure{n}.png",
            caption="../report/experiment_figure.rst",
            category="2 Disturbances (the article)",
            subcategory="Figures",
        ),
        pdf="results/figures/figure{n}.pdf",
    log:
        "logs/figures/figure{n}.log",
    benchmark:
        "benchmarks/jobs/figures/figure{n}.tsv"
    wildcard_constraints:
        n="|".join(FIGURE_EXPERIMENTS),
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["experiment_figure"],
        runtime=measured_runtime(3.4),
    params:
        experiment=lambda wildcards: FIGURE_EXPERIMENTS[wildcards.n].name,
        description=lambda wildcards: FIGURE_EXPERIMENTS[wildcards.n].description,
        options=figure_options,
        dpi=config["figures"]["dpi"],
        layer_names=LAYER_NAMES,
    script:
        "../../scripts/experiment_figure.py"
