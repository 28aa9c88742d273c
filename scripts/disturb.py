"""Rule disturb: one disturbance experiment (a registry entry) at one grid value."""

from useless_params.rule_io import run_rule


def main(smk):
    # Imports stay inside main(): run_rule sets the thread limits before numpy loads (see rule_io).
    import time

    from useless_params import data
    from useless_params.change_scale import ChangeScales
    from useless_params.evaluator import evaluator_for
    from useless_params.disturbance_job import Job
    from useless_params.experiments import experiment
    from useless_params.fileio import write_rows
    from useless_params.store import WeightStore

    entry = experiment(smk.wildcards.experiment)
    value = smk.params.value
    arrays = data.load_npz(smk.input.data, data.dataset(smk.wildcards.dataset), data.TEST_SET)
    network = WeightStore(smk.input.store, expected=smk.params.architecture).network(-1)
    evaluator = evaluator_for(
        network,
        data.model_inputs(arrays["x_test"], smk.params.test_size),
        data.labels(arrays["y_test"], smk.params.test_size),
        # A resource, not a param: the batch size changes memory use, not the numbers, so it reruns nothing.
        batch_memory_mb=smk.resources.evaluator_batch_mb,
    )
    job = Job(evaluator, ChangeScales.load(smk.input.scales), smk.params.repeats, smk.params.seed,
              int(smk.wildcards.seed), smk.wildcards.dataset)
    started = time.perf_counter()
    columns, rows = job.rows(entry.name, value, smk.params.levels)
    print(f"{entry.name} value={value}: {len(rows)} evaluations in {time.perf_counter() - started:.3f} s")
    write_rows(columns, rows, smk.output.table)


run_rule(snakemake, main)  # noqa: F821 (provided by Snakemake)
