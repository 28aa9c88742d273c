# Stage 6 (beyond the article): prune every trained network (dataset x seed) by each criterion and
# allocation at every compression ratio, retrain or not, and compare
# (the package src/useless_params/pruning/ registers criteria, allocations and retraining modes).


localrules:
    pruning_summary,
    pruning_figure,
    pruning,


rule prune:
    """One criterion, allocation, retraining mode and draw at every compression ratio."""
    input:
        store=rules.train_network.output.store,
        data=rules.prepare_data.output.data,
    output:
        table="results/networks/{dataset}/seed{seed}/pruning/{retraining}/{allocation}/{criterion}/draw{draw}.csv",
    log:
        "logs/pruning/{dataset}/seed{seed}/{retraining}/{allocation}/{criterion}/draw{draw}.log",
    benchmark:
        "benchmarks/jobs/pruning/{dataset}/seed{seed}/{retraining}/{allocation}/{criterion}/draw{draw}.tsv"
    wildcard_constraints:
        retraining="|".join(RETRAINING),
        allocation="|".join(ALLOCATIONS),
        criterion="|".join(CRITERIA),
        draw=r"\d+",
    conda:
        "../../envs/training.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=JOB_MB["prune"],
        runtime=prune_runtime,
    params:
        compression=PRUNING_CFG["compression"],
        reference_epoch=config["change_scale"]["reference_epoch"],
        architecture=architecture_record,
        seed=PRUNING_CFG["seed"],
        # The mode's epochs and learning rate (pruning.<mode>), and what the trainer reads.
        retrain=retrain_settings,
        sizes=sorted_items(config["data"], "train_size", "test_size"),
        trainer=sorted_items(config["training"], *TRAINER_KEYS),
    script:
        "../../scripts/prune.py"


rule pruning_summary:
    """Every pruning job in one tidy table; accuracy per compression; best operating points."""
    input:
        jobs=[path for path, _ in pruning_jobs()],
        histories=per_network(rules.train_network.output.history),
    output:
        jobs=report(
            "results/pruning/pruning.csv",
            caption="../report/pruning_tables.rst",
            category="3 Pruning (beyond the article)",
        ),
        curve=report(
            "results/pruning/curves.csv",
            caption="../report/pruning_tables.rst",
            category="3 Pruning (beyond the article)",
        ),
        points=report(
            "results/pruning/operating_points.csv",
            caption="../report/pruning_tables.rst",
            category="3 Pruning (beyond the article)",
        ),
    log:
        "logs/pruning/summary.log",
    benchmark:
        "benchmarks/jobs/pruning/summary.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["pruning_summary"],
        runtime=measured_runtime(0.9),
    params:
        compression=PRUNING_CFG["compression"],
        # What each job table's rows must say (its path), in order.
        identities=[identity for _, identity in pruning_jobs()],
        # (dataset, seed) of each history, in order.
        networks=networks(),
        # Each retraining mode's epochs and learning rate (the baseline of rewinding).
        retraining={
            name: RETRAINING[name].settings(PRUNING_CFG)
            for name in PRUNING_CFG["retraining"]
        },
    script:
        "../../scripts/pruning_summary.py"


rule pruning_figure:
    """Accuracy against compression, one line per criterion, one panel per retraining mode."""
    input:
        curve=rules.pruning_summary.output.curve,
    output:
        png=report(
            "results/figures/pruning.png",
            caption="../report/pruning_figure.rst",
            category="3 Pruning (beyond the article)",
        ),
        pdf="results/figures/pruning.pdf",
    log:
        "logs/figures/pruning.log",
    benchmark:
        "benchmarks/jobs/figures/pruning.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["pruning_figure"],
        runtime=measured_runtime(5.0),
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/pruning_figure.py"


rule pruning:
    """Named target: `snakemake pruning` builds just the pruning comparison."""
    input:
        rules.pruning_summary.output,
        rules.pruning_figure.output,
