"""The workflow imported as a Snakemake module, the way `snakedeploy deploy-workflow` sets it up.

snakedeploy needs the repository's URL (it clones from GitHub or GitLab; its local-path mode
writes a Snakefile path relative to the wrong directory), so this test writes what it would
write for `snakedeploy deploy-workflow <repo> <dir> --tag <version>`: `workflow/Snakefile`
with a `module` declaration and `use rule * from`, the repository's `config/` and
`profiles/` copied beside it; only the module's `snakefile:` is a local path here instead of
`github("<owner>/<repo>", path="workflow/Snakefile", tag=...)`. The user's config is partial (the
tiny configuration): the schema fills in the rest, as in a direct run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workflow_helpers import REPO, SMALL, result_csvs

# Each test runs (part of) the workflow or the benchmark for real: over a minute.
pytestmark = pytest.mark.slow

# snakedeploy's template (snakedeploy/templates/use_module.smk.jinja), our min_version.
DEPLOYED_SNAKEFILE = """from snakemake.utils import min_version


min_version("9.0")


configfile: "config/config.yaml"


# declare https://github.com/<owner>/<repo> as a module
module useless_params:
    snakefile:
        "{snakefile}"
    config:
        config


# use all rules from https://github.com/<owner>/<repo>
use rule * from useless_params
"""


def deploy(directory: Path) -> Path:
    (directory / "workflow").mkdir(parents=True)
    module_snakefile = REPO / "workflow" / "Snakefile"  # the catalog's standard place
    (directory / "workflow" / "Snakefile").write_text(DEPLOYED_SNAKEFILE.format(snakefile=module_snakefile))
    shutil.copytree(REPO / "config", directory / "config")  # follows the link to config.yaml
    shutil.copytree(REPO / "profiles", directory / "profiles")
    shutil.copy(SMALL, directory / "config" / "config.yaml")  # the user's own (partial) config
    return directory


def _mtimes(directory: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in directory.rglob("*")} if directory.exists() else {}


def test_deployed_as_a_module_gives_the_direct_runs_results(reference_run, tmp_path):
    project = deploy(tmp_path / "my-project")
    before = {name: _mtimes(REPO / name) for name in ("results", "logs", "benchmarks")}
    # The user's working directory is the project; no --snakefile, no --cores (profiles/default).
    proc = subprocess.run([sys.executable, "-m", "snakemake"], cwd=project, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Using workflow specific profile profiles/default" in proc.stdout + proc.stderr
    expected, got = result_csvs(reference_run), result_csvs(project)
    assert sorted(got) == sorted(expected), sorted(set(got) ^ set(expected))
    assert [name for name in expected if got[name] != expected[name]] == []
    # Outputs, logs and job benchmarks land in the user's directory, none in the repository's.
    assert (project / "benchmarks" / "job_costs.csv").exists() and (project / "logs").is_dir()
    assert not (project / "workflow" / "results").exists()
    assert {name: _mtimes(REPO / name) for name in before} == before
