"""Rule experiment_figure: accuracy under one disturbance experiment (article Figures 4-7)."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import pandas as pd

    from useless_params import plots
    from useless_params.experiments import experiment

    entry = experiment(smk.params.experiment)
    summary = pd.read_csv(smk.input.summary, dtype={"scope": str})
    plot = getattr(plots, entry.plot)(summary, layer_names=smk.params.layer_names, **smk.params.options)
    plots.save(plot, smk.output.png, smk.output.pdf, smk.params.dpi)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
