"""Rule change_scale: per-parameter change scale between the reference and the final epoch."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    from useless_params.change_scale import ChangeScales
    from useless_params.store import WeightStore

    weights = WeightStore(smk.input.store, expected=smk.params.architecture)
    reference = weights.resolve_epoch(smk.params.reference_epoch)
    scales = ChangeScales.between(weights.network(reference), weights.network(-1), reference, weights.n_epochs)
    scales.save(smk.output.scales)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
