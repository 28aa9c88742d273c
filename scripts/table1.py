"""Rule table1: the article's Table 1 (accuracy after shuffling biases)."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params.aggregate import JobTableSpec, read_jobs, table1
    from useless_params.fileio import write_csv

    specs = [JobTableSpec(**spec) for spec in smk.params.specs]
    write_csv(table1(read_jobs(smk.input.jobs, specs), smk.input.metrics, smk.params.networks),
              smk.output.table)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
