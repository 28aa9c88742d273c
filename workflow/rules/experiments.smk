# Stage 4: disturbance experiments, one job per grid value, then one tidy table each.


localrules:
    aggregate_experiment,
    table1,


rule shuffle_biases:
    """Table 1: shuffle the biases of each scope, `repeats` fresh permutations."""
    input:
        store="results/networks/seed{seed}/weights.h5",
        scales="results/networks/seed{seed}/change_scale.h5",
        data="resources/mnist.npz",
    output:
        "results/networks/seed{seed}/experiments/shuffle_biases.csv",
    log:
        "logs/experiments/seed{seed}/shuffle_biases.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=EVALUATOR_MEM_MB,
        runtime=10,
    params:
        # Only what changes the numbers: editing a grid must not rerun other jobs.
        repeats=EXPERIMENTS_CFG["repeats"],
        seed=EXPERIMENTS_CFG["seed"],
        test_size=config["data"]["test_size"],
    script:
        "../../scripts/disturb.py"


rule disturb:
    """Figures 4-7: one experiment at one grid value (U or T), every scope and repeat."""
    input:
        store="results/networks/seed{seed}/weights.h5",
        scales="results/networks/seed{seed}/change_scale.h5",
        data="resources/mnist.npz",
    output:
        "results/networks/seed{seed}/experiments/{experiment}/{value}.csv",
    log:
        "logs/experiments/seed{seed}/{experiment}/{value}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=EVALUATOR_MEM_MB,
        runtime=10,
    params:
        # Only what changes the numbers: editing a grid must not rerun other jobs.
        repeats=EXPERIMENTS_CFG["repeats"],
        seed=EXPERIMENTS_CFG["seed"],
        test_size=config["data"]["test_size"],
        reset_values=reset_values,
    script:
        "../../scripts/disturb.py"


rule aggregate_experiment:
    """Mean, std and n of accuracy per scope and grid value, over repeats and seeds."""
    input:
        experiment_jobs,
    output:
        "results/experiments/{experiment}.csv",
    log:
        "logs/aggregate/{experiment}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/aggregate_experiment.py"


rule table1:
    """Table 1: accuracy after shuffling biases, with the undisturbed accuracy."""
    input:
        jobs=expand(
            "results/networks/seed{seed}/experiments/shuffle_biases.csv", seed=SEEDS
        ),
        metrics=expand("results/networks/seed{seed}/training.json", seed=SEEDS),
    output:
        "results/table1.csv",
    log:
        "logs/table1.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/table1.py"
