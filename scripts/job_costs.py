"""Rule job_costs: wall time, CPU time and peak memory per rule, from the jobs' benchmark TSVs."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params.fileio import write_csv
    from useless_params.job_costs import summarise_job_costs

    write_csv(summarise_job_costs(list(smk.input.benchmarks), list(smk.params.rules)), smk.output.table)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
