"""Rule iterative_summary: every level table in one tidy table, the curves, the operating points, and the
published points next to ours."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params.aggregate import read_history, read_tables
    from useless_params.fileio import write_csv
    from useless_params.pruning.iterative import COLUMNS
    from useless_params.pruning.iterative_summary import summarise_levels
    from useless_params.pruning.literature import against_the_literature

    levels = read_tables(smk.input.levels, COLUMNS, smk.params.rows_per_level, smk.params.identities)
    histories = {(dataset, seed): read_history(path)
                 for (dataset, seed), path in zip(smk.params.networks, smk.input.histories)}
    dense = {key: [float("nan")] + history["test_accuracy"] for key, history in histories.items()}
    curve, points = summarise_levels(levels, dense, smk.params.protocols)
    literature = against_the_literature(levels, histories, smk.params.layer_sizes, smk.params.protocols)
    write_csv(levels, smk.output.levels)
    write_csv(curve, smk.output.curve)
    write_csv(points, smk.output.points)
    write_csv(literature, smk.output.literature)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
