"""Running the workflow from tests: the tiny configuration in a temporary directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "small.yaml"


def _training_defaults() -> dict:
    from useless_params.configcheck import load_schema, schema_defaults

    return schema_defaults(load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml"))["training"]


# The training section as the schema fills it in: tests that build a trainer's settings by hand
# start from it, so a new training key reaches them with its default.
TRAINING_DEFAULTS = _training_defaults()


def snakemake(workdir: Path, *args: str, configfile: Path | list[Path] = SMALL, timeout: int = 900,
              check: bool = True) -> subprocess.CompletedProcess:
    """``snakemake`` in ``workdir`` with ``configfile`` (several: later files override earlier ones)."""
    configfiles = configfile if isinstance(configfile, list) else [configfile]
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", *map(str, configfiles), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_jobs(workdir: Path, configfile: Path | list[Path] = SMALL, *targets: str) -> dict[str, int]:
    """Rule -> number of jobs a dry run would execute (empty when nothing is to be done)."""
    proc = snakemake(workdir, "--dry-run", *targets, configfile=configfile)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def variant_config(tmp: Path, name: str, change) -> Path:
    """A copy of the tiny configuration with ``change(config)`` applied."""
    config = yaml.safe_load(SMALL.read_text())
    change(config)
    path = tmp / name
    path.write_text(yaml.safe_dump(config))
    return path


def result_csvs(workdir: Path) -> dict[str, bytes]:
    """Every result CSV of a run, by path relative to its working directory."""
    return {p.relative_to(workdir).as_posix(): p.read_bytes() for p in sorted((workdir / "results").rglob("*.csv"))}


def unexpected_nan(name: str | Path, frame) -> bool:
    """Whether ``frame`` (the CSV ``name``) holds NaN where a number belongs. In literature.csv a
    published point the run could not be compared with has one row saying why (``status``) and
    no numbers, and a paper that gives no accuracy leaves ``published_*`` empty."""
    if str(name).endswith("literature.csv") and "status" in frame:
        ran = frame[frame["status"] == "ran"]
        return bool(ran.drop(columns=[c for c in frame if c.startswith("published_")]).isna().any().any())
    return bool(frame.isna().any().any())
