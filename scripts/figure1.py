"""Rule figure1: parameter densities before and after training (article Figure 1)."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params import plots
    from useless_params.store import WeightStore

    store = WeightStore(smk.input.store, expected=smk.params.architecture)
    plot = plots.figure1(store, smk.params.reference_epoch, smk.params.layer_names)
    plots.save(plot, smk.output.png, smk.output.pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
