"""Rule pruning_summary: every pruning job in one tidy table, the curves, and the operating points."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params import pruning
    from useless_params.aggregate import read_tables, read_test_accuracy_history
    from useless_params.fileio import write_csv

    jobs = read_tables(smk.input.jobs, pruning.COLUMNS, len(smk.params.compression), smk.params.identities,
                       keys=("compression", smk.params.compression))
    # (dataset, seed) -> the dense network's test accuracy after epoch 0 (not needed: NaN), 1, 2, ...
    dense = {(dataset, seed): [float("nan")] + read_test_accuracy_history(path)
             for (dataset, seed), path in zip(smk.params.networks, smk.input.histories)}
    curve, points = pruning.summarise(jobs, dense, smk.params.retraining)
    write_csv(jobs, smk.output.jobs)
    write_csv(curve, smk.output.curve)
    write_csv(points, smk.output.points)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
