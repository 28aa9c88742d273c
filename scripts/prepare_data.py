"""Rule prepare_data: one dataset from its configured source to resources/{dataset}.npz."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import tempfile

    from useless_params import data

    name = smk.wildcards.dataset
    with tempfile.TemporaryDirectory() as scratch:
        arrays = data.prepare(name, smk.params.source, scratch)
    data.save_npz(arrays, smk.output.data)
    print(f"wrote {smk.output.data}: {data.dataset(name).title}, {len(arrays['y_train'])} training, "
          f"{len(arrays['y_test'])} test images")


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
