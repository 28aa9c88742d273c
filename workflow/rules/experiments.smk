# Stage 4: disturbance experiments (src/useless_params/experiments.py registers them),
# one job per grid value, then one tidy table each, and the article's Table 1.


localrules:
    aggregate_experiment,
    table1,


rule disturb:
    """One experiment at one grid value (T, U, or 0 for Table 1), every scope and repeat."""
    input:
        store=rules.train_network.output.store,
        scales=rules.change_scale.output.scales,
        data=rules.prepare_data.output.data,
    output:
        table="results/networks/{dataset}/seed{seed}/experiments/{experiment}/{value}.csv",
    log:
        "logs/experiments/{dataset}/seed{seed}/{experiment}/{value}.log",
    benchmark:
        "benchmarks/jobs/experiments/{dataset}/seed{seed}/{experiment}/{value}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["disturb"],
        runtime=measured_runtime(7.0),
        evaluator_batch_mb=EVALUATOR_BATCH_MB,
    params:
        # Only what changes the numbers: editing a grid must not rerun other jobs.
        value=grid_value,
        architecture=architecture_record,
        repeats=EXPERIMENTS_CFG["repeats"],
        seed=EXPERIMENTS_CFG["seed"],
        test_size=config["data"]["test_size"],
        levels=reset_levels,
    script:
        "../../scripts/disturb.py"


rule aggregate_experiment:
    """Mean, std and n of accuracy per dataset, scope and grid value, over repeats and seeds."""
    input:
        jobs=experiment_jobs,
    output:
        summary=report(
            "results/experiments/{experiment}.csv",
            caption="../report/experiment_table.rst",
            category="2 Disturbances (the article)",
            subcategory="Tables",
        ),
    log:
        "logs/aggregate/{experiment}.log",
    benchmark:
        "benchmarks/jobs/aggregate/{experiment}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["aggregate_experiment"],
        runtime=measured_runtime(1.6),
    params:
        # What each per-job CSV must hold (checked before anything is averaged).
        specs=experiment_job_specs,
    script:
        "../../scripts/aggregate_experiment.py"


rule table1:
    """Table 1: accuracy after shuffling biases, with the undisturbed accuracy, per dataset."""
    input:
        jobs=experiment_tables(table_entries("table1")),
        metrics=per_network(rules.train_network.output.metrics),
    output:
        table=report(
            "results/table1.csv",
            caption="../report/table1.rst",
            category="2 Disturbances (the article)",
            subcategory="Tables",
        ),
    log:
        "logs/table1.log",
    benchmark:
        "benchmarks/jobs/table1.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["table1"],
        runtime=measured_runtime(0.5),
    params:
        specs=job_specs(table_entries("table1")),
        # (dataset, seed) of each metrics file, in order.
        networks=networks(),
    script:
        "../../scripts/table1.py"
