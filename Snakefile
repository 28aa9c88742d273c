# Useless Parameters: how much does each trained parameter matter?
# Stages: data -> training (HDF5 weight store) -> change scale -> figures 1-3,
# and disturbance experiments -> Table 1 and figures 4-7; pruning, iterative pruning, and
# what every job cost (benchmarks/jobs/ -> benchmarks/job_costs.csv). See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


# `snakemake --report report.html`: every figure and table with its caption (workflow/report/).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset="|".join(DATASET_REGISTRY),
    seed=r"\d+",
    value=r"-?[0-9][0-9.e+-]*",
    experiment="|".join(EXPERIMENTS),


include: "workflow/rules/data.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/change_scale.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/pruning.smk"
include: "workflow/rules/iterative.smk"
include: "workflow/rules/job_costs.smk"


rule all:
    default_target: True
    input:
        all_targets(),
