"""Cluster execution: every profile in profiles/, against a real Slurm, a real Grid Engine,
and stand-ins for the schedulers that cannot be installed here.

* The pbs profile's own scripts (profiles/pbs, PBS Pro and Torque) against fake qsub/qstat/
  qdel: what they submit, and that jobs PBS killed (walltime, memory, qdel) or forgot are
  reported failed. Fast; run everywhere.
* A real single-node Slurm 22.05 from the Debian packages (tests/cluster/local_slurm.py),
  brought up once for this module: the tiny configuration through profiles/slurm gives
  result CSVs byte-identical to a local run, a job the scheduler kills makes Snakemake
  exit non-zero instead of hanging, and the default sacct status works once slurmdbd and
  MariaDB are up. Needs root (the daemons, apt-get where the packages are missing); it is
  skipped, with the reason in the summary, only where the packages cannot be installed.
* A real single-node Grid Engine 8.1.9 from the Debian packages (tests/cluster/local_sge.py):
  the tiny configuration through profiles/sge (snakemake-executor-plugin-sge) gives the
  same CSVs as the local run, and jobs Grid Engine kills for their memory or time limit
  make Snakemake exit non-zero instead of hanging.
* profiles/lsf (snakemake-executor-plugin-lsf) against a stand-in LSF that really runs the
  jobs (tests/cluster/fake_lsf.py; LSF itself is proprietary): the same CSVs as the local
  run, and a job over its run limit fails the run. profiles/htcondor: the profile loads and
  its settings reach the plugin (a dry run); no HTCondor daemons can be installed here.

Every test here is marked ``cluster``: ``pytest -m "not cluster"`` leaves them out.

Every Snakemake call runs under ``timeout -k 30 N``: a hang fails the test, not CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from workflow_helpers import REPO, SMALL, result_csvs

sys.path.insert(0, str(REPO / "tests" / "cluster"))
import fake_lsf as fake_lsf_module  # noqa: E402
import local_sge  # noqa: E402
from useless_params.experiments import EXPERIMENTS  # noqa: E402
import local_slurm  # noqa: E402

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SLURM_PROFILE = REPO / "profiles" / "slurm"
SGE_PROFILE = REPO / "profiles" / "sge"
LSF_PROFILE = REPO / "profiles" / "lsf"
PBS_SCRIPTS = {name: REPO / "profiles" / "pbs" / f"{name}.py" for name in ("submit", "status", "cancel")}
SEEDS = yaml.safe_load(SMALL.read_text())["training"]["seeds"]
# Every result CSV of the tiny configuration, without the figures (local rules, no CSVs).
CSV_TARGETS = (["results/table1.csv"]
               + [f"results/experiments/{name}.csv" for name in EXPERIMENTS]
               + [f"results/networks/mnist/seed{s}/change_scale_summary.csv" for s in SEEDS]
               + ["results/pruning/pruning.csv", "results/pruning/iterative/levels.csv"])
# Every run here adds tests/cluster/fewer_pruning_jobs.yaml to the tiny configuration: 6 pruning
# jobs (2 modes x (magnitude + 2 random draws)), one batch (ten to a batch in the profiles),
# and one two-level iterative chain, one batch of its own (group "levels").
FEWER_PRUNING = REPO / "tests" / "cluster" / "fewer_pruning_jobs.yaml"
PRUNING_BATCHES = 2
# Fast status polling for the tests (the profiles keep gentler defaults).
SLURM_FAST = ["--slurm-init-seconds-before-status-checks", "2"]
SGE_FAST = ["--sge-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "3"]
LSF_FAST = ["--seconds-between-status-checks", "3"]
RUN_TIMEOUT = 600
FAIL_TIMEOUT = 300


def snakemake(workdir: Path, *args: str, targets=(), timeout: int = RUN_TIMEOUT, background: bool = False,
              env: dict | None = None):
    """Snakemake on the tiny configuration under ``timeout -k 30``; output goes to a log file."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir.parent / f"{workdir.name}.snakemake.log"
    cmd = ["timeout", "-k", "30", str(timeout), sys.executable, "-m", "snakemake", *targets,
           "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(SMALL),
           str(FEWER_PRUNING), *args]
    handle = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            env=None if env is None else {**os.environ, **env})
    handle.close()
    run = Run(cmd, proc, log, time.monotonic())
    return run if background else run.wait()


class Run:
    def __init__(self, cmd, proc, log, started):
        self.cmd, self.proc, self.log, self.started = cmd, proc, log, started
        self.returncode = None
        self.elapsed = None

    def wait(self) -> "Run":
        if self.returncode is None:
            self.returncode = self.proc.wait()
            self.elapsed = time.monotonic() - self.started
        return self

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def describe(self) -> str:
        timed_out = " (TIMED OUT)" if self.returncode in (124, 137) else ""
        return (f"{' '.join(self.cmd)}\nexit {self.returncode}{timed_out} after {self.elapsed:.0f} s; "
                f"output tail:\n{self.output[-6000:]}")


def assert_same_csvs(workdir: Path, reference: Path):
    expected, got = result_csvs(reference), result_csvs(workdir)
    assert expected, "the local reference run wrote no CSV"
    assert sorted(got) == sorted(expected), f"CSV sets differ: {sorted(set(got) ^ set(expected))}"
    differing = [name for name in expected if got[name] != expected[name]]
    assert not differing, f"not byte-identical to the local run: {differing}"


def assert_submissions(out: str, submitted: str, group: str, n_groups: int = 1 + PRUNING_BATCHES):
    """Training and change scale went to the cluster; all evaluation jobs as one group job
    (the tiny configuration has 9: fewer than group-components) and the pruning jobs in
    batches of ten; the rest ran locally."""
    lines = [line for line in out.splitlines() if submitted in line]
    assert sum(group in line for line in lines) == n_groups, out
    assert 2 + n_groups <= len(lines) <= 3 + n_groups, out  # + change_scale_summary, unless it is a local rule
    for rule in ("train_network", "change_scale"):
        assert f"\nrule {rule}:" in out, out
    for rule in ("aggregate_experiment", "table1", "pruning_summary"):
        assert f"\nlocalrule {rule}:" in out, out


# -- part 1: the pbs profile's scripts against fake PBS commands -----------------------------
FAKE = """#!/bin/sh
# A fake scheduler command: records its arguments, prints $FAKE_<NAME>_OUT (and _ERR), exits $FAKE_<NAME>_RC.
name=$(basename "$0")
echo "$name $*" >> "$FAKE_LOG"
eval "out=\\${FAKE_${name}_OUT:-}"; eval "err=\\${FAKE_${name}_ERR:-}"; eval "rc=\\${FAKE_${name}_RC:-0}"
[ -n "$out" ] && printf '%s\\n' "$out"
[ -n "$err" ] && printf '%s\\n' "$err" >&2
exit "$rc"
"""
FAKE_COMMANDS = ["qsub", "qstat", "qdel"]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Run a pbs profile script with fake qsub/qstat/qdel first on PATH, in tmp_path."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for name in FAKE_COMMANDS:
        (bindir / name).write_text(FAKE)
        (bindir / name).chmod(0o755)
    log = tmp_path / "calls.log"

    def call(script: str, *args: str, **outputs: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMK_PBS_", "FAKE_"))}
        env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", FAKE_LOG=str(log))
        env.update({k: str(v) for k, v in outputs.items()})
        return subprocess.run([sys.executable, str(PBS_SCRIPTS[script]), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    call.calls = lambda: log.read_text().splitlines() if log.exists() else []
    call.tmp = tmp_path
    return call


def jobscript(tmp_path: Path, **properties) -> Path:
    props = {"type": "single", "rule": "train_network", "wildcards": {"seed": "3"}, "threads": 2, "jobid": 7,
             "resources": {"mem_mb": 4000, "runtime": 60, "tmpdir": "/tmp"}}
    props.update(properties)
    path = tmp_path / "snakejob.sh"
    path.write_text(f"#!/bin/sh\n# properties = {json.dumps(props)}\necho run\n")
    return path


@pytest.mark.parametrize("flavor, expected", [
    ("pbspro", ["qsub -V -N smk.train_network.seed_3", "-l select=1:ncpus=2:mem=4000mb -l walltime=01:00:00"]),
    ("torque", ["qsub -V -N smk.train_netwo ", "-l nodes=1:ppn=2,mem=4000mb -l walltime=01:00:00"]),
])
def test_pbs_submit_builds_the_request(fake, flavor, expected):
    script = jobscript(fake.tmp)
    proc = fake("submit", str(script), SMK_PBS_FLAVOR=flavor, FAKE_qsub_OUT="923.pbs-server")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "923.pbs-server"
    (call,) = fake.calls()
    for part in expected:
        assert part in call, call
    assert call.endswith(str(script))
    assert (fake.tmp / ".snakemake" / "pbs_logs" / "train_network").is_dir()


def test_pbs_submit_site_settings_and_group_jobs(fake):
    script = jobscript(fake.tmp, type="group", groupid="evaluation", jobid="0f1e2d3c-aaaa", threads=4,
                       resources={"mem_mb": 6000, "runtime": 40})
    proc = fake("submit", str(script), SMK_PBS_QUEUE="short", SMK_PBS_ACCOUNT="proj1",
                SMK_PBS_SUBMIT_ARGS="-W group_list=lab -m n", FAKE_qsub_OUT="99.srv")
    assert proc.returncode == 0, proc.stderr
    (call,) = fake.calls()
    for part in ("-N smk.group_evaluation.0f1e2d3c", "-l select=1:ncpus=4:mem=6000mb -l walltime=00:40:00",
                 "-q short -A proj1 -W group_list=lab -m n"):
        assert part in call, call


def test_pbs_submit_failure_is_reported(fake):
    proc = fake("submit", str(jobscript(fake.tmp)), FAKE_qsub_RC="1",
                FAKE_qsub_ERR="qsub: Unknown queue")
    assert proc.returncode != 0
    assert "Unknown queue" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("qstat, expected", [
    ("Job Id: 9.srv\n    job_state = Q", "running"),
    ("Job Id: 9.srv\n    job_state = R", "running"),
    ("Job Id: 9.srv\n    job_state = F\n    Exit_status = 0", "success"),
    ("Job Id: 9.srv\n    job_state = F\n    Exit_status = 1", "failed"),
    ("Job Id: 9.srv\n    job_state = F\n    Exit_status = -29", "failed"),  # over its walltime
    ("Job Id: 9.srv\n    job_state = F\n    Exit_status = 271", "failed"),  # killed (memory, qdel)
    ("Job Id: 9.srv\n    job_state = C\n    exit_status = 0", "success"),  # Torque
])
def test_pbs_status(fake, qstat, expected):
    proc = fake("status", "9.srv", FAKE_qstat_OUT=qstat)
    assert (proc.returncode, proc.stdout.strip()) == (0, expected), proc.stderr


def test_pbs_status_unknown_job_fails_after_grace_instead_of_hanging(fake):
    unknown = dict(FAKE_qstat_RC="153", FAKE_qstat_ERR="qstat: Unknown Job Id 55.srv")
    assert fake("status", "55.srv", **unknown).stdout.strip() == "running"  # maybe just purged: wait a little
    proc = fake("status", "55.srv", SMK_PBS_UNKNOWN_GRACE="0", **unknown)
    assert proc.stdout.strip() == "failed"
    assert "unknown to the server" in proc.stderr


def test_pbs_cancel(fake):
    proc = fake("cancel", "11.srv", "12.srv")
    assert proc.returncode == 0, proc.stderr
    assert fake.calls() == ["qdel 11.srv 12.srv"]


# -- part 2: a real Slurm ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def slurm_packages():
    """The Debian packages (installed with apt-get where missing), or a skip saying why not."""
    try:
        if local_slurm.missing_binaries() and (os.geteuid() != 0 or shutil.which("apt-get") is None):
            raise local_slurm.ClusterUnavailable(
                f"Slurm binaries missing ({', '.join(local_slurm.missing_binaries())}) and "
                + ("not root" if os.geteuid() != 0 else "no apt-get") + " to install them")
        if os.geteuid() != 0:
            raise local_slurm.ClusterUnavailable("the Slurm daemons need root")
    except local_slurm.ClusterUnavailable as exc:
        pytest.skip(f"real-Slurm tests skipped: {exc}")
    return True


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The local --cores 2 run every cluster run is compared with (started in the background)."""
    run = snakemake(tmp_path_factory.mktemp("local") / "work", "--cores", "2", background=True)

    def wait() -> Path:
        run.wait()
        assert run.returncode == 0, run.describe()
        return Path(run.cmd[run.cmd.index("--directory") + 1])

    yield wait
    if run.returncode is None:  # skipped: stop it (timeout passes SIGTERM on to Snakemake)
        run.proc.terminate()
        try:
            run.proc.wait(60)
        except subprocess.TimeoutExpired:
            run.proc.kill()
        run.wait()


@pytest.fixture(scope="module")
def slurm(slurm_packages, reference):
    try:
        local_slurm.ensure_packages(accounting=True, log=lambda msg: print(msg, file=sys.stderr))
    except local_slurm.ClusterUnavailable as exc:
        pytest.skip(f"real-Slurm tests skipped: the Debian packages cannot be installed: {exc}")
    cluster = local_slurm.SlurmCluster.create()
    try:
        cluster.start(accounting=False)
    except Exception:
        logs = cluster.logs()
        cluster.stop()
        raise AssertionError(f"could not bring the test Slurm up:\n{logs}")
    yield cluster
    cluster.stop()


def seeded_workdir(tmp_path: Path, reference: Path) -> Path:
    """A work dir with the reference's MNIST already there (skips the download)."""
    workdir = tmp_path / "work"
    (workdir / "resources").mkdir(parents=True)
    shutil.copy2(reference / "resources" / "mnist.npz", workdir / "resources" / "mnist.npz")
    return workdir


def test_slurm_profile_matches_local_run(slurm, reference, tmp_path):
    """The whole tiny configuration through sbatch; status by squeue (no slurmdbd here)."""
    run = snakemake(tmp_path / "work", "--profile", str(SLURM_PROFILE), "--slurm-status-command", "squeue",
                    *SLURM_FAST)
    assert run.returncode == 0, run.describe() + "\n" + slurm.logs()
    assert_submissions(run.output, "has been submitted with SLURM jobid", "group_", 1 + PRUNING_BATCHES)
    assert run.output.count("group_evaluation") >= 1 and run.output.count("group_pruning") >= 1
    assert run.output.count("group_levels") >= 1
    assert_same_csvs(tmp_path / "work", reference())
    print(f"slurm profile (squeue): {run.elapsed:.0f} s")


def test_slurm_job_killed_by_the_scheduler_fails_the_run(slurm, reference, tmp_path):
    """Training asks for 100 MB: Slurm kills it; Snakemake retries once, reports, exits non-zero."""
    workdir = seeded_workdir(tmp_path, reference())
    target = f"results/networks/mnist/seed{SEEDS[0]}/weights.h5"
    run = snakemake(workdir, "--profile", str(SLURM_PROFILE), "--slurm-status-command", "squeue",
                    "--set-resources", "train_network:mem_mb=100", *SLURM_FAST, targets=[target],
                    timeout=FAIL_TIMEOUT)
    assert run.returncode not in (0, 124, 137), run.describe()
    out = run.output
    assert "Error in rule train_network" in out, out
    assert "SLURM-job" in out and "failed" in out, out
    assert out.count("has been submitted with SLURM jobid") == 2, out  # retries: 1
    assert not (workdir / target).exists()
    logs = list((workdir / ".snakemake" / "slurm_logs" / "rule_train_network").rglob("*.log"))
    assert logs and any("memory" in p.read_text(errors="replace") for p in logs), logs
    print(f"slurm profile, killed job: failed after {run.elapsed:.0f} s")


def test_slurm_profile_with_accounting_uses_sacct(slurm, reference, tmp_path):
    """With slurmdbd and MariaDB up, the plugin's default status command (sacct) works."""
    slurm.start(accounting=True)
    assert slurm.run("sacct", "--noheader", "-X").returncode == 0
    workdir = seeded_workdir(tmp_path, reference())
    run = snakemake(workdir, "--profile", str(SLURM_PROFILE), *SLURM_FAST, targets=CSV_TARGETS)
    assert run.returncode == 0, run.describe() + "\n" + slurm.logs()
    assert "Falling back to" not in run.output and "'sacct' unavailable" not in run.output
    assert_same_csvs(workdir, reference())
    states = slurm.run("sacct", "--noheader", "-X", "--parsable2", "--starttime=now-2hours",
                       "--format=JobName,State").stdout.split()
    assert sum(s.endswith("|COMPLETED") for s in states) >= 4, states
    print(f"slurm profile (sacct): {run.elapsed:.0f} s")


# -- part 3: a real Grid Engine ------------------------------------------------------------------
@pytest.fixture(scope="module")
def sge(reference):
    try:
        local_sge.ensure_packages(log=lambda msg: print(msg, file=sys.stderr))
    except local_sge.ClusterUnavailable as exc:
        pytest.skip(f"real-Grid-Engine tests skipped: {exc}")
    cluster = local_sge.SgeCluster.create()
    try:
        cluster.start()
    except Exception:
        logs = cluster.logs()
        cluster.stop()
        raise AssertionError(f"could not bring the test Grid Engine up:\n{logs}")
    yield cluster
    cluster.stop()


def test_sge_profile_matches_local_run(sge, reference, tmp_path):
    """The whole tiny configuration through qsub (snakemake-executor-plugin-sge), status by
    qstat and qacct: the same CSVs as the local run."""
    workdir = seeded_workdir(tmp_path, reference())
    run = snakemake(workdir, "--profile", str(SGE_PROFILE), *SGE_FAST, env=sge.env)
    assert run.returncode == 0, run.describe() + "\n" + sge.logs()
    submitted = [line for line in run.output.splitlines() if "submitted" in line.lower() and "sge" in line.lower()]
    # Training, change scale, the evaluation batch and the pruning batches: the plugin submits
    # the jobs ready in one round as one array job, so both pruning batches may be one array.
    assert len(submitted) >= 4, run.output
    assert_same_csvs(workdir, reference())
    print(f"sge profile: {run.elapsed:.0f} s")


@pytest.mark.parametrize("limit", ["memory", "time"])
def test_sge_job_killed_by_the_scheduler_fails_the_run(sge, reference, tmp_path, limit):
    """Training over its h_vmem (100 MB) or its h_rt (1 minute, on 100 epochs of all 60,000
    images): Grid Engine stops it, Snakemake retries once, reports the error and exits non-zero."""
    workdir = seeded_workdir(tmp_path, reference())
    target = f"results/networks/mnist/seed{SEEDS[0]}/weights.h5"
    if limit == "memory":
        extra = ["--set-resources", "train_network:mem_mb=100"]
    else:
        extra = ["--set-resources", "train_network:runtime=1", "--config", "data={train_size: 0}",
                 "training={epochs: 100}"]
    run = snakemake(workdir, "--profile", str(SGE_PROFILE), *SGE_FAST, *extra, targets=[target],
                    timeout=FAIL_TIMEOUT, env=sge.env)
    assert run.returncode not in (0, 124, 137), run.describe()
    assert "Error in rule train_network" in run.output, run.output
    assert not (workdir / target).exists()
    accounting = sge.run("qacct", "-j", check=False).stdout
    if limit == "time":
        assert "h_rt" in sge.run("qacct", "-j", "-o", "root", check=False).stdout or accounting, accounting
    print(f"sge profile, job over its {limit} limit: failed after {run.elapsed:.0f} s")


# -- part 4: LSF (a stand-in that runs the jobs) and HTCondor (no scheduler) -----------------------
@pytest.fixture
def fake_lsf(tmp_path):
    return fake_lsf_module.FakeLsf.create(tmp_path / "lsf")


def test_lsf_profile_matches_local_run(fake_lsf, reference, tmp_path):
    """The tiny configuration through bsub/bjobs (snakemake-executor-plugin-lsf): every job
    submitted, the short ones in batches, the same CSVs as the local run."""
    workdir = seeded_workdir(tmp_path, reference())
    run = snakemake(workdir, "--profile", str(LSF_PROFILE), *LSF_FAST, env=fake_lsf.env)
    assert run.returncode == 0, run.describe()
    jobs = fake_lsf.jobs()
    assert all(job["stat"] == "DONE" for job in jobs), jobs
    names = [job["name"] for job in jobs]
    assert sum("group_evaluation" in n for n in names) == 1 and sum("group_pruning" in n for n in names) == 1, names
    assert sum("group_levels" in n for n in names) == 1, names
    assert any("rule_train_network" in n for n in names), names
    requests = {job["name"].split(":")[0]: job["options"] for job in jobs}
    assert requests["Snakemake_rule_train_network"]["-W"] == "5", requests  # the rule's measured runtime, minutes
    assert_same_csvs(workdir, reference())
    print(f"lsf profile (stand-in LSF): {run.elapsed:.0f} s")


def test_lsf_job_over_its_run_limit_fails_the_run(fake_lsf, reference, tmp_path):
    """Training with a 1-minute run limit on 300 epochs of all 60,000 images (about 2 minutes):
    LSF kills it (EXIT, TERM_RUNLIMIT) and Snakemake reports the error and exits non-zero."""
    workdir = seeded_workdir(tmp_path, reference())
    target = f"results/networks/mnist/seed{SEEDS[0]}/weights.h5"
    run = snakemake(workdir, "--profile", str(LSF_PROFILE), *LSF_FAST, "--retries", "0",
                    "--set-resources", "train_network:runtime=1", "--config", "data={train_size: 0}",
                    "training={epochs: 300}", targets=[target], timeout=FAIL_TIMEOUT, env=fake_lsf.env)
    assert run.returncode not in (0, 124, 137), run.describe()
    assert "Error in rule train_network" in run.output, run.output
    assert "LSF status is: 'EXIT'" in run.output, run.output
    assert not (workdir / target).exists()
    (job,) = fake_lsf.jobs()
    assert job["stat"] == "EXIT"
    print(f"lsf profile, job over its run limit: failed after {run.elapsed:.0f} s")


def test_htcondor_profile_loads(tmp_path):
    """No HTCondor daemons here: the profile parses, its plugin settings are accepted, and the
    DAG is the same as locally (a dry run)."""
    run = snakemake(tmp_path / "work", "--profile", str(REPO / "profiles" / "htcondor"), "--dry-run",
                    timeout=300)
    assert run.returncode == 0, run.describe()
    assert "train_network" in run.output and "disturb" in run.output, run.output
