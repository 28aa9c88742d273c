"""The workflow passes snakemake --lint and snakefmt --check, and the config matches its schema."""

import subprocess
import sys

import yaml

from workflow_helpers import REPO


def run(*cmd):
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_snakefmt_check():
    proc = run(sys.executable, "-m", "snakefmt", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint():
    proc = run(sys.executable, "-m", "snakemake", "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_every_schema_key_has_description_and_default():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            assert "description" in sub, f"{path}{key}: no description"
            assert "default" in sub, f"{path}{key}: no default"
            walk(sub, f"{path}{key}.")

    walk(schema, "")


def test_default_config_equals_schema_defaults():
    """config.yaml spells out the schema's defaults: the article's experiment."""
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())

    def defaults(node):
        if node.get("type") == "object":
            return {k: defaults(v) for k, v in node["properties"].items()}
        return node["default"]

    assert config == defaults(schema)


def test_every_rule_that_runs_a_script_records_a_benchmark():
    """Each rule with a script has `benchmark:` under benchmarks/jobs/ (its job's wall time, CPU
    time and peak memory), except the rules Snakemake may take from --cache (it refuses a
    benchmark there; train_network measures itself) and job_costs, which reads the others."""
    import re

    exempt = {"prepare_data", "train_network", "job_costs"}
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", path.read_text(), re.M | re.S):
            if "script:" not in body or name in exempt:
                continue
            match = re.search(r'benchmark:\n\s+"(benchmarks/jobs/[^"]+\.tsv)"', body)
            assert match, f"{path.name}: rule {name} has no benchmark under benchmarks/jobs/"
