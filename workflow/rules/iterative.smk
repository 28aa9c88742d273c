# Stage 7 (beyond the article): iterative pruning in levels, with the lottery-ticket controls
# (src/useless_params/pruning/iterative.py registers protocols and controls). Level L of a chain
# reads level L-1's state file (level 1: the trained network), so adding levels runs only the new
# ones and an interrupted chain resumes at its first missing level.


localrules:
    iterative_summary,
    iterative_figure,
    iterative,


rule prune_level:
    """Level L of one chain: prune level L-1's weights, restart them, retrain; and the controls."""
    input:
        store=rules.train_network.output.store,
        data=rules.prepare_data.output.data,
        previous=previous_level,
    output:
        state="results/networks/{dataset}/seed{seed}/iterative/{protocol}/{allocation}/{criterion}/draw{draw}/level{level}.h5",
        table="results/networks/{dataset}/seed{seed}/iterative/{protocol}/{allocation}/{criterion}/draw{draw}/level{level}.csv",
    log:
        "logs/iterative/{dataset}/seed{seed}/{protocol}/{allocation}/{criterion}/draw{draw}/level{level}.log",
    benchmark:
        "benchmarks/jobs/iterative/{dataset}/seed{seed}/{protocol}/{allocation}/{criterion}/draw{draw}/level{level}.tsv"
    wildcard_constraints:
        protocol="|".join(PROTOCOLS),
        allocation="|".join(ALLOCATIONS),
        criterion="|".join(CRITERIA),
        draw=r"\d+",
        level=r"[1-9]\d*",
    conda:
        "../../envs/training.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=JOB_MB["prune_level"],
        runtime=level_runtime,
    params:
        # Not the number of levels: adding levels must not rerun the existing ones.
        protocol=protocol_settings,
        architecture=architecture_record,
        rate=ITERATIVE_AMOUNT.rate,
        output_rate=ITERATIVE_AMOUNT.output_rate,
        conv_rate=ITERATIVE_AMOUNT.conv_rate,
        controls=ITERATIVE_CFG["controls"],
        reference_epoch=config["change_scale"]["reference_epoch"],
        seed=PRUNING_CFG["seed"],
        sizes=sorted_items(config["data"], "train_size", "test_size"),
        trainer=sorted_items(config["training"], *TRAINER_KEYS),
    script:
        "../../scripts/prune_level.py"


rule iterative_summary:
    """Every level in one tidy table; accuracy per level; the smallest remaining fraction within budget."""
    input:
        levels=[path for path, _ in level_tables()],
        histories=per_network(rules.train_network.output.history),
    output:
        levels=report(
            "results/pruning/iterative/levels.csv",
            caption="../report/iterative_tables.rst",
            category="3 Pruning (beyond the article)",
        ),
        curve=report(
            "results/pruning/iterative/curves.csv",
            caption="../report/iterative_tables.rst",
            category="3 Pruning (beyond the article)",
        ),
        points=report(
            "results/pruning/iterative/operating_points.csv",
            caption="../report/iterative_tables.rst",
            category="3 Pruning (beyond the article)",
        ),
        literature=report(
            "results/pruning/iterative/literature.csv",
            caption="../report/iterative_literature.rst",
            category="3 Pruning (beyond the article)",
        ),
    log:
        "logs/iterative/summary.log",
    benchmark:
        "benchmarks/jobs/iterative/summary.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["iterative_summary"],
        runtime=measured_runtime(0.9),
    params:
        rows_per_level=1 + len(ITERATIVE_CFG["controls"]),
        # What each level table's rows must say (its path), in order.
        identities=[identity for _, identity in level_tables()],
        networks=networks(),
        # The published points (pruning/literature.py) apply to the networks of their shape.
        layer_sizes=LAYER_SIZES,
        protocols={
            name: PROTOCOLS[name].settings(ITERATIVE_CFG)
            for name in ITERATIVE_CFG["protocols"]
        },
    script:
        "../../scripts/iterative_summary.py"


rule iterative_figure:
    """Accuracy and early-stopping epoch against the remaining weights, per protocol and allocation."""
    input:
        curve=rules.iterative_summary.output.curve,
    output:
        png=report(
            "results/figures/iterative.png",
            caption="../report/iterative_figure.rst",
            category="3 Pruning (beyond the article)",
        ),
        pdf="results/figures/iterative.pdf",
        early_png=report(
            "results/figures/iterative_early_stop.png",
            caption="../report/iterative_early_stop.rst",
            category="3 Pruning (beyond the article)",
        ),
        early_pdf="results/figures/iterative_early_stop.pdf",
    log:
        "logs/figures/iterative.log",
    benchmark:
        "benchmarks/jobs/figures/iterative.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["iterative_figure"],
        runtime=measured_runtime(6.8),
    params:
        dpi=config["figures"]["dpi"],
        validation=config["training"]["validation_split"] > 0,
    script:
        "../../scripts/iterative_figure.py"


rule iterative:
    """Named target: `snakemake iterative` builds just the iterative pruning comparison."""
    input:
        rules.iterative_summary.output,
        rules.iterative_figure.output,
