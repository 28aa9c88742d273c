"""Rule figure4_7: accuracy under disturbance (article Figures 4, 5, 6 and 7)."""

from useless_params.rule_io import run_rule


def main(smk):
    import pandas as pd

    from useless_params import plots

    summary = pd.read_csv(smk.input[0], dtype={"scope": str})
    n = smk.wildcards.n
    if n == "4":
        plot = plots.figure4(summary, smk.params.reset_biases_max)
    else:
        plot = {"5": plots.figure5, "6": plots.figure6, "7": plots.figure7}[n](summary)
    plots.save(plot, smk.output.png, smk.output.pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
