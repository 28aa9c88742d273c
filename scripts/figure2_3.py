"""Rule figure2_3: change densities (article Figure 2) and relative-change box plots (Figure 3)."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params import plots
    from useless_params.change_scale import ChangeScales

    draw = {"2": plots.figure2, "3": plots.figure3}[smk.wildcards.n]
    plots.save(draw(ChangeScales.load(smk.input.scales), smk.params.layer_names), smk.output.png, smk.output.pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
