"""Config errors as one line naming the key: the schema's verdict, then the checks it cannot express.

``workflow/rules/common.smk`` runs ``snakemake.utils.validate`` (which also fills the
defaults) and then ``check_config``; ``config_error_message`` turns either one's
exception into a single line such as

    training.epochs: 0 is less than the minimum of 1

which common.smk prints as ``config error: ...`` before exiting with status 1, so a
typo stops the workflow before any job starts.
"""

from __future__ import annotations

import difflib
import math
import os

from .errors import InputError, shown
# Grid values name files (".../reset_weights/50.csv"): bounded so that a name stays short and
# every integer below it is exact in a float (1e16 and 10000000000000001 would share a name).
GRID_LIMIT = 1e15
_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
               "array": "a list", "object": "a mapping of keys", "null": "nothing"}


def key_path(path) -> str:
    """``['network', 'hidden_layers', 1]`` -> ``network.hidden_layers[1]`` (the whole config: ``config``)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "config"


def _duplicates(values: list) -> list:
    """The values that occur more than once (1 and 1.0 count as equal, as in JSON Schema)."""
    seen, repeated = [], []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.append(value)
    return repeated


def _expected_type(expected) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def validation_message(error) -> str:
    """One line for a ``jsonschema.ValidationError``: the dotted key, then what was expected."""
    path = list(error.absolute_path)
    where = key_path(path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(str(key) for key in instance if key not in allowed)
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(allowed)}"
            more = f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
            return f"{key_path(path + [key])}: unknown key; {hint}{more}"
    if kind == "type":
        return f"{where}: expected {_expected_type(expected)}, got {shown(instance)}"
    if kind == "enum":
        return f"{where}: unknown value {shown(instance)}; expected one of {', '.join(map(str, expected))}"
    if kind == "minItems" and expected == 1:
        return f"{where}: must not be empty"
    if kind == "uniqueItems" and isinstance(instance, list):
        return f"{where}: duplicate value(s) {', '.join(map(str, _duplicates(instance)))}"
    if kind == "pattern":
        return f"{where}: {shown(instance)} does not match the pattern {expected}"
    # minimum, maximum, exclusive bounds and the rest: jsonschema's own wording, shortened.
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{where}: {message}"


def config_error_message(exc: BaseException) -> str | None:
    """One line for a config error from ``snakemake.utils.validate`` or ``check_config``; else None.

    ``validate`` wraps the ``jsonschema.ValidationError`` in a multi-line WorkflowError;
    the validation error itself is that exception's ``__context__``.
    """
    import jsonschema

    if isinstance(exc, InputError):
        return str(exc)
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, jsonschema.ValidationError):
            return validation_message(exc)
        exc = exc.__cause__ or exc.__context__
    return None


def check_grid(key: str, values: list, limit: float = GRID_LIMIT) -> None:
    """A grid whose values name files: each below ``limit`` and no two with the same file name."""
    from .seeding import value_label

    seen = {}
    for index, value in enumerate(values):
        if abs(value) >= limit:
            raise InputError(f"{key}[{index}]: {value:g} is out of range; grid values name files and "
                             f"must be below {limit:g}")
        label = value_label(value)
        if label in seen:
            raise InputError(f"{key}: {values[seen[label]]!r} and {value!r} are the same grid value {label} "
                             f"(one file); list it once")
        seen[label] = index


def load_schema(schema: dict | str | os.PathLike) -> dict:
    """The config schema, given as a mapping or as the path of its YAML file."""
    if isinstance(schema, (str, os.PathLike)):
        import yaml

        with open(schema) as handle:
            return yaml.safe_load(handle)
    return schema


def schema_defaults(schema: dict):
    """The config every schema default makes (what ``validate`` fills in for an empty config)."""
    if schema.get("type") == "object" and "properties" in schema:
        return {key: schema_defaults(sub) for key, sub in schema["properties"].items()
                if "default" in sub or sub.get("type") == "object"}
    return schema.get("default")


def _leaves(node, path: tuple = ()):
    """(key path, value) of every scalar and every list in ``node`` (a list counts as one value)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    else:
        yield path, node


def _lookup_path(node, path):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise KeyError(key)
        node = node[key]
    return node


def run_checks(config: dict, checks, schema: dict | str | os.PathLike) -> None:
    """Run every ``check(config)``; one that fails with anything but an ``InputError`` (an overflow
    deep inside an estimate, say) still ends in one line naming the key and its value: the first
    key whose schema default, put in its place, lets that check through."""
    import copy

    for check in checks:
        try:
            check(config)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 (any failure becomes a message naming a key)
            what = f"{type(exc).__name__}: {str(exc)[:120]}"
            defaults = schema_defaults(load_schema(schema))
            # A key whose default lets the check through names itself; failing that, one whose
            # default turns the failure into an ordinary config error (another key's).
            for clean_error_counts in (False, True):
                for path, value in _leaves(config):
                    try:
                        default = _lookup_path(defaults, path)
                    except KeyError:
                        continue
                    if default == value:
                        continue
                    candidate = copy.deepcopy(config)
                    _lookup_path(candidate, path[:-1])[path[-1]] = copy.deepcopy(default)
                    try:
                        check(candidate)
                    except InputError:
                        if not clean_error_counts:
                            continue
                    except Exception:  # noqa: BLE001 (not this key)
                        continue
                    raise InputError(f"{key_path(list(path))}: {shown(value)} cannot be used ({what})") from None
            raise InputError(f"config: the configuration could not be checked ({what})") from None


def typed_overrides(overrides: dict, schema: dict | str | os.PathLike) -> dict:
    """``--config`` values with their nested scalars typed by the schema.

    Snakemake reads a nested override (``--config 'training={epochs: 3}'``) with YAML's
    BaseLoader, so every scalar in it is a string ('3'); a string where the schema wants a
    number, boolean or list is read again as YAML. Top-level values are already typed.
    """
    properties = load_schema(schema).get("properties", {})
    return {key: _typed(value, properties.get(key, {})) for key, value in overrides.items()}


def map_scalars(node, schema: dict, leaf):
    """``node`` with every scalar replaced by ``leaf(scalar, the part of the schema describing it)``,
    the schema walked beside the config (mappings by key, lists by their items' schema)."""
    if isinstance(node, dict):
        properties = schema.get("properties", {})
        return {key: map_scalars(value, properties.get(key, {}), leaf) for key, value in node.items()}
    if isinstance(node, list):
        items = schema.get("items", {})
        return [map_scalars(value, items if isinstance(items, dict) else {}, leaf) for value in node]
    return leaf(node, schema)


def _typed(node, schema: dict):
    return map_scalars(node, schema, _typed_scalar)


def _typed_scalar(node, schema: dict):
    import yaml

    if isinstance(node, str) and schema.get("type") not in (None, "string"):
        for parse in (int, float):
            try:
                return parse(node)
            except ValueError:
                pass
        try:
            value = yaml.safe_load(node)
        except yaml.YAMLError:
            return node
        # YAML 1.1 reads 0x10 as 16, 010 as 8 and 1:30 as 90: a number that is not written in
        # decimal stays a string, for the schema to reject ("expected an integer, got '0x10'").
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        return node if numeric else value
    return node


def _integer_keys(schema: dict, path: tuple = ()) -> list[tuple]:
    """Key paths (with ``None`` for 'every item') whose schema type is integer."""
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}  # [array, 'null']: an optional list
    if "integer" in kinds:
        return [path]
    if "object" in kinds:
        return [p for key, sub in schema.get("properties", {}).items() for p in _integer_keys(sub, path + (key,))]
    if "array" in kinds and isinstance(schema.get("items"), dict):
        return _integer_keys(schema["items"], path + (None,))
    return []


# The largest integer a float holds exactly: beyond it 1e300 "epochs" would be a 301-digit count
# that no job can reach and every message would print in full.
MAX_INTEGER = 2**53


def _normalise_integers(node, path: tuple, where: tuple = ()):
    """JSON Schema accepts 2.0 as an integer; make it the int 2 (file names, ranges and params need
    ints). An integer beyond ``MAX_INTEGER`` is a config error naming its key."""
    if not path:
        if isinstance(node, (int, float)) and not isinstance(node, bool) and abs(node) > MAX_INTEGER:
            raise InputError(f"{key_path(list(where))}: {node:.6g} is too large for a count (at most 2**53 = "
                             f"{MAX_INTEGER:,})")
        return int(node) if isinstance(node, float) and node.is_integer() else node
    head, rest = path[0], path[1:]
    if head is None and isinstance(node, list):
        node[:] = [_normalise_integers(item, rest, where + (index,)) for index, item in enumerate(node)]
    elif isinstance(node, dict) and head in node:
        node[head] = _normalise_integers(node[head], rest, where + (head,))
    return node


def _check_finite(node, path: list) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _check_finite(value, path + [key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_finite(value, path + [index])
    elif isinstance(node, float) and not math.isfinite(node):
        raise InputError(f"{key_path(path)}: must be a finite number, got {node}")


def check_config(config: dict, schema: dict | str | os.PathLike | None = None) -> None:
    """Checks the schema cannot express; raise ``InputError`` naming the offending key.

    Run after the schema (so every key is present). With ``schema`` (the schema or its
    YAML file), integer-valued floats of integer keys (``epochs: 2.0``) become ints first.
    """
    if schema is not None:
        schema = load_schema(schema)
        for path in _integer_keys(schema):
            _normalise_integers(config, path)
    # .nan passes every bound of the schema and .inf would name files 'inf.csv'.
    _check_finite(config, [])
    data, training = config["data"], config["training"]
    _check_datasets(data)
    _check_network(config["network"], data["datasets"])
    from .optimizers import check_settings

    check_settings(training)
    if training["validation_split"] > 0:  # the held-out part is ceil(n * split) >= 1 images
        from .data import dataset

        # The smallest training set of the listed datasets (their registry entries know it).
        n_train = data["train_size"] or min(dataset(name).n_train for name in data["datasets"])
        n_fit = math.floor(n_train * (1.0 - training["validation_split"]))  # where Keras cuts
        if n_fit < 1:
            raise InputError(f"training.validation_split: {training['validation_split']} of data.train_size "
                             f"{n_train} leaves {n_fit} training and {n_train - n_fit} validation images; "
                             f"training needs at least one")
    reference = config["change_scale"]["reference_epoch"]
    if reference >= training["epochs"]:
        raise InputError(f"change_scale.reference_epoch: {reference} must be below training.epochs "
                         f"({training['epochs']}), the final epoch it is compared with")


def _check_network(network: dict, datasets: list[str]) -> None:
    """One description of the network (a layer list or the MLP shorthand), buildable on every dataset."""
    from .data import dataset
    from .model import Architecture

    if network.get("layers") is not None:
        shorthand = [key for key in ("hidden_layers", "activation") if network.get(key) is not None]
        if shorthand:
            raise InputError(f"network.{shorthand[0]}: {shown(network[shorthand[0]])} and network.layers both describe "
                             f"the network; set hidden_layers and activation to null when layers gives the layer list")
    else:
        missing = [key for key in ("hidden_layers", "activation") if network.get(key) is None]
        if missing:
            raise InputError(f"network.{missing[0]}: the MLP shorthand needs it (or give network.layers)")
    for name in datasets:  # a bad layer (a kernel larger than its input...) names its entry
        entry = dataset(name)
        Architecture.from_config(network, entry.image_shape, entry.n_classes)


def _check_datasets(data: dict) -> None:
    """Every listed dataset is registered, and a ``file`` source names an existing file or directory."""
    from .data import dataset

    for index, name in enumerate(data["datasets"]):
        try:
            entry = dataset(name)
        except InputError as exc:
            raise InputError(f"data.datasets[{index}]: {exc}") from None
        section = data[name]
        if section["source"] != "file":
            continue
        if entry.file_layout == "idx":
            kind, wanted, exists = "directory", "a directory of the four IDX .gz files", os.path.isdir
        else:
            kind, wanted, exists = ".npz file", "an .npz file", os.path.isfile
        if not section["path"]:
            raise InputError(f"data.{name}.path: source 'file' needs a path to {wanted}")
        if not exists(section["path"]):
            raise InputError(f"data.{name}.path: no such {kind} {section['path']!r} "
                             f"(relative paths start at the working directory {os.getcwd()})")
        _check_data_file(f"data.{name}.path", section["path"], entry.file_layout)


def _check_data_file(key: str, path: str, layout: str) -> None:
    """The cheap part of what ``prepare_data`` reads: the four IDX files are there, or the file is
    a zip archive (what every .npz is); their contents are checked when read."""
    from .dataformats import IDX_FILES

    if layout == "idx":
        missing = [file for file in IDX_FILES.values() if not os.path.isfile(os.path.join(path, file))]
        if missing:
            raise InputError(f"{key}: {path!r} lacks {', '.join(missing)} (expected the four IDX .gz files "
                             f"{', '.join(IDX_FILES.values())})")
        return
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise InputError(f"{key}: cannot read {path!r} ({exc.strerror or exc})") from None
    if magic != b"PK\x03\x04":
        raise InputError(f"{key}: {path!r} is not an .npz file (not a zip archive); expected Keras' mnist.npz "
                         f"layout with x_train, y_train, x_test, y_test")
