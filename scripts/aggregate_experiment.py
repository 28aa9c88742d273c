"""Rule aggregate_experiment: one tidy summary table per experiment."""

from useless_params.rule_io import run_rule


def main(smk):
    from useless_params.aggregate import read_jobs, summarise
    from useless_params.fileio import write_csv

    write_csv(summarise(read_jobs(smk.input)), smk.output[0])


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
