"""Config files read as their author wrote them: what YAML 1.1 would silently reinterpret is refused.

Snakemake reads ``configfile:`` and ``--configfile`` with PyYAML, a YAML 1.1 loader, so in a
file a key given twice keeps only its last value (a second ``pruning:`` drops every key of the
first), ``010`` is the octal 8, ``0x10`` is 16, ``1:30`` is the sexagesimal 90, ``1_000`` is 1000,
``on``/``off``/``yes``/``no`` are booleans, and ``1e-3`` is the *string* "1e-3" (YAML 1.1 floats
need a dot and a signed exponent). ``check_config_file`` reads each file again, node by node
(PyYAML's composer, no values built), and raises ``InputError`` naming the file, the line and
the key for the first of these it finds; ``yaml12_numbers`` then reads plain ``1e-3`` as the
number YAML 1.2 (and the user) means, where the schema asks for a number.

Written here because no maintained checker fits: yamllint flags duplicate keys but not the
YAML 1.1 number and boolean forms (its ``truthy`` rule is advisory and skips keys), and
ruamel.yaml's YAML 1.2 reading would replace Snakemake's loader rather than check it.
"""

from __future__ import annotations

import json
import re

from .errors import InputError

# Plain scalars that YAML 1.1 (PyYAML) reads as numbers or booleans where YAML 1.2 reads
# something else: (pattern, what YAML 1.1 makes of it, what to write instead).
_YAML11_ONLY = [
    (re.compile(r"[-+]?0b[01_]+"), "a binary integer", "write the number in decimal"),
    (re.compile(r"[-+]?0x[0-9a-fA-F_]+"), "a hexadecimal integer", "write the number in decimal"),
    (re.compile(r"[-+]?0[0-7_]+"), "an octal integer (010 is 8)", "write it without the leading 0"),
    (re.compile(r"[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"), "a base-60 number (1:30 is 90)",
     "quote it if a string is meant, or write the number in decimal"),
    (re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]*\.[0-9_]*_[0-9_]*"),
     "a number with its underscores dropped (1_000 is 1000)", "write it without underscores"),
    (re.compile(r"yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"), "a boolean", "write true or false, or quote it"),
]
# YAML 1.2's decimal number forms (core schema); PyYAML reads some of them (1e-3, 1E5, 5e+3) as strings.
YAML12_NUMBER = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def _display(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (Snakemake makes them absolute)."""
    import os

    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _where(path: list) -> str:
    from .configcheck import key_path

    return key_path(path)


def check_config_file(path: str) -> None:
    """Raise ``InputError`` for a key given twice or a YAML-1.1-only number or boolean in ``path``.

    JSON files (Snakemake tries JSON first) are checked for repeated keys only. A file that is
    not YAML at all is left to Snakemake, which reports it.
    """
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        json.loads(text, object_pairs_hook=lambda pairs: _json_object(_display(path), pairs))
        return
    except ValueError:
        pass
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # Snakemake's own message ("Config file is not valid JSON or YAML") follows
    if root is not None:
        _check_node(_display(path), root, [])


def _json_object(path: str, pairs: list) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise InputError(f"{key}: given twice in one JSON object in {path}; only the last would count: "
                             f"give it once")
        seen.add(key)
    return dict(pairs)


def _check_node(path: str, node, keys: list) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        first_line: dict = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in first_line:
                raise InputError(f"{_where(keys + [key])}: given twice in {path} (lines {first_line[key]} and "
                                 f"{key_node.start_mark.line + 1}); YAML keeps only the last, dropping the "
                                 f"first's keys: give it once")
            if key is not None:
                first_line[key] = key_node.start_mark.line + 1
            _check_node(path, value_node, keys + [key if key is not None else "?"])
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_node(path, item, keys + [index])
    elif isinstance(node, yaml.ScalarNode) and node.style is None:  # plain (unquoted) scalars only
        for pattern, reading, advice in _YAML11_ONLY:
            if pattern.fullmatch(node.value):
                raise InputError(f"{_where(keys)}: {node.value} in {path} (line {node.start_mark.line + 1}) is "
                                 f"{reading} in YAML 1.1, which Snakemake reads config files with; {advice}")


def yaml12_numbers(node, schema: dict):
    """``node`` with every string in YAML 1.2's decimal number form (``1e-3``) a number, where
    ``schema`` (the config schema, or the part of it at ``node``) asks for a number or integer."""
    from .configcheck import map_scalars

    return map_scalars(node, schema, _yaml12_number)


def _yaml12_number(node, schema: dict):
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if isinstance(node, str) and ({"number", "integer"} & set(kinds)) and YAML12_NUMBER.fullmatch(node):
        value = float(node)
        return int(value) if "integer" in kinds and value.is_integer() and "number" not in kinds else value
    return node


def check_layering(paths: list[str]) -> None:
    """Every file named in a config file's ``builds_on`` (relative to that file) is among the
    config files given before it; else ``InputError`` naming both and the command line that works."""
    import os

    import yaml

    for index, path in enumerate(paths):
        with open(path, encoding="utf-8") as handle:
            content = yaml.safe_load(handle) or {}
        wanted = content.get("builds_on") if isinstance(content, dict) else None
        if not isinstance(wanted, list):
            continue  # the schema reports a builds_on that is not a list
        earlier = [os.path.realpath(p) for p in paths[:index]]
        for base in wanted:
            if not isinstance(base, str):
                continue
            required = os.path.normpath(os.path.join(os.path.dirname(path), base))
            if os.path.realpath(required) not in earlier:
                this, base_file = _display(path), _display(required)
                raise InputError(f"builds_on: {this} builds on {base_file}, which is not given before it; "
                                 f"run with --configfile {base_file} {this}")
