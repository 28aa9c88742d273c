"""Checks of config.yaml that a JSON schema cannot express (run after the schema)."""

from __future__ import annotations

import os

from .errors import InputError


def check_config(config: dict) -> None:
    """Raise ``InputError`` naming the offending key."""
    data, training = config["data"], config["training"]
    if data["source"] == "file":
        if not data["path"]:
            raise InputError("data.path: source 'file' needs a path to an .npz file")
        if not os.path.isfile(data["path"]):
            raise InputError(f"data.path: no such file {data['path']!r}")
    reference = config["change_scale"]["reference_epoch"]
    if reference >= training["epochs"]:
        raise InputError(f"change_scale.reference_epoch: {reference} must be below training.epochs "
                         f"({training['epochs']}), the final epoch it is compared with")
