"""Rule change_scale_summary: per-layer quantiles and selected fractions of the change scale."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params.change_scale import ChangeScales
    from useless_params.fileio import write_csv

    scales = ChangeScales.load(smk.input.scales)
    write_csv(scales.summary(), smk.output.summary)
    write_csv(scales.selected_fractions(smk.params.thresholds), smk.output.fractions)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
