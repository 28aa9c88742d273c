"""One lookup for every registry (datasets, experiments, criteria, optimizers, ...).

A registry is a plain dict from config name to entry; ``lookup`` turns an unknown name into
the one-line ``InputError`` the workflow prints, listing the known names.
"""

from __future__ import annotations

from typing import Mapping, TypeVar

from .errors import InputError, shown

Entry = TypeVar("Entry")


def lookup(registry: Mapping[str, Entry], name: str, *, what: str = "", key: str = "") -> Entry:
    """``registry[name]``; an unknown name raises ``InputError``.

    ``key`` (a config key) gives "training.optimizer: unknown value 'x'; expected one of ...";
    ``what`` (a noun) gives "unknown pruning criterion 'x'; expected one of ...".
    """
    try:
        return registry[name]
    except (KeyError, TypeError):
        known = ", ".join(registry)
        if key:
            raise InputError(f"{key}: unknown value {shown(name)}; expected one of {known}") from None
        raise InputError(f"unknown {what} {shown(name)}; expected one of {known}") from None


def registry(*entries: Entry) -> dict[str, Entry]:
    """A registry of ``entries`` by their ``name``, in the order given (a name twice is a bug)."""
    table = {entry.name: entry for entry in entries}
    if len(table) != len(entries):
        raise ValueError(f"duplicate names in a registry: {[entry.name for entry in entries]}")
    return table
