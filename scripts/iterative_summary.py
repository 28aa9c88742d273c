"""Rule iterative_summary: every level table in one tidy table, the curves, and the operating points."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params.aggregate import read_tables, read_test_accuracy_history
    from useless_params.fileio import write_csv
    from useless_params.pruning.iterative import COLUMNS
    from useless_params.pruning.iterative_summary import summarise_levels

    levels = read_tables(smk.input.levels, COLUMNS, smk.params.rows_per_level, smk.params.identities)
    dense = {(dataset, seed): [float("nan")] + read_test_accuracy_history(path)
             for (dataset, seed), path in zip(smk.params.networks, smk.input.histories)}
    curve, points = summarise_levels(levels, dense, smk.params.protocols)
    write_csv(levels, smk.output.levels)
    write_csv(curve, smk.output.curve)
    write_csv(points, smk.output.points)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
