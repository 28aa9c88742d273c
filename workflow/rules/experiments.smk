# Stage 4: disturbance experiments, one job per grid value, then one tidy table each.


localrules:
    aggregate_experiment,
    table1,


rule shuffle_biases:
    """Table 1: shuffle the biases of each scope, `repeats` fresh permutations."""
    input:
        store=NETWORK + "/weights.h5",
        scales=NETWORK + "/change_scale.h5",
        data="resources/mnist.npz",
    output:
        NETWORK + "/experiments/shuffle_biases.csv",
    params:
        # Only what changes the numbers: editing a grid must not rerun other jobs.
        repeats=EXPERIMENTS_CFG["repeats"],
        seed=EXPERIMENTS_CFG["seed"],
        test_size=config["data"]["test_size"],
    log:
        "logs/experiments/seed{seed}/shuffle_biases.log",
    threads: 1
    resources:
        mem_mb=EVALUATOR_MEM_MB,
        runtime=10,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../../scripts/disturb.py"


rule disturb:
    """Figures 4-7: one experiment at one grid value (U or T), every scope and repeat."""
    input:
        store=NETWORK + "/weights.h5",
        scales=NETWORK + "/change_scale.h5",
        data="resources/mnist.npz",
    output:
        NETWORK + "/experiments/{experiment}/{value}.csv",
    params:
        # Only what changes the numbers: editing a grid must not rerun other jobs.
        repeats=EXPERIMENTS_CFG["repeats"],
        seed=EXPERIMENTS_CFG["seed"],
        test_size=config["data"]["test_size"],
        reset_values=reset_values,
    log:
        "logs/experiments/seed{seed}/{experiment}/{value}.log",
    threads: 1
    resources:
        mem_mb=EVALUATOR_MEM_MB,
        runtime=10,
    conda:
        "../../envs/analysis.yaml"
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
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../../scripts/aggregate_experiment.py"


rule table1:
    """Table 1: accuracy after shuffling biases, with the undisturbed accuracy."""
    input:
        jobs=expand(NETWORK + "/experiments/shuffle_biases.csv", seed=SEEDS),
        metrics=expand(NETWORK + "/training.json", seed=SEEDS),
    output:
        "results/table1.csv",
    log:
        "logs/table1.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../../scripts/table1.py"
