"""Rule figure1: parameter densities before and after training (article Figure 1)."""

from useless_params.rule_io import run_rule


def main(smk):
    from useless_params import plots
    from useless_params.store import WeightStore

    plot = plots.figure1(WeightStore(smk.input[0]), smk.params.reference_epoch)
    plots.save(plot, smk.output.png, smk.output.pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
