"""Rule pruning_figure: accuracy against compression per criterion and retraining mode."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import pandas as pd

    from useless_params import plots
    from useless_params.pruning.figures import pruning_figure

    curve = pd.read_csv(smk.input.curve)
    plots.save(pruning_figure(curve), smk.output.png, smk.output.pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
