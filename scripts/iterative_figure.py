"""Rule iterative_figure: accuracy and early-stopping epoch against the remaining weights, per level."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import pandas as pd

    from useless_params import plots
    from useless_params.pruning.figures import iterative_early_stop_figure, iterative_figure

    curve = pd.read_csv(smk.input.curve)
    plots.save(iterative_figure(curve), smk.output.png, smk.output.pdf, smk.params.dpi)
    plots.save(iterative_early_stop_figure(curve, smk.params.validation), smk.output.early_png, smk.output.early_pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
