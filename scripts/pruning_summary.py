"""Rule pruning_summary: every pruning job in one tidy table, the curves, and the operating points."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import json

    from useless_params import pruning
    from useless_params.aggregate import read_tables
    from useless_params.fileio import write_csv

    jobs = read_tables(smk.input.jobs, pruning.COLUMNS, smk.params.rows_per_job)
    undisturbed = {}
    for path in smk.input.metrics:
        with open(path) as handle:
            metrics = json.load(handle)
        undisturbed[int(metrics["seed"])] = float(metrics["test_accuracy"])
    curve, points = pruning.summarise(jobs, undisturbed)
    write_csv(jobs, smk.output.jobs)
    write_csv(curve, smk.output.curve)
    write_csv(points, smk.output.points)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
