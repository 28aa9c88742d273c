"""Cluster execution: the slurm, sge and cluster-generic profiles, against a real Slurm and
a real Grid Engine.

Two parts:

* The cluster-generic scripts (profiles/cluster-generic) against fake sbatch/qsub/bsub,
  scontrol/sacct/qstat/qacct/bjobs: what they submit, and that jobs killed by a scheduler
  (time limit, memory, node failure) are reported failed. Fast; run everywhere.
* A real single-node Slurm 22.05 from the Debian packages (tests/cluster/local_slurm.py),
  brought up once for this module: the tiny configuration through each profile gives
  result CSVs byte-identical to a local run, a job the scheduler kills makes Snakemake
  exit non-zero instead of hanging, and the default sacct status works once slurmdbd and
  MariaDB are up. Needs root (the daemons, apt-get where the packages are missing); it is
  skipped, with the reason in the summary, only where the packages cannot be installed.
* A real single-node Grid Engine 8.1.9 from the Debian packages (tests/cluster/local_sge.py):
  the tiny configuration through profiles/sge (snakemake-executor-plugin-sge) gives the
  same CSVs as the local run, and jobs Grid Engine kills for their memory or time limit
  make Snakemake exit non-zero instead of hanging.

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

from workflow_helpers import REPO, SMALL

sys.path.insert(0, str(REPO / "tests" / "cluster"))
import local_sge  # noqa: E402
from useless_params.experiments import EXPERIMENTS  # noqa: E402
import local_slurm  # noqa: E402

pytestmark = pytest.mark.cluster

SLURM_PROFILE = REPO / "profiles" / "slurm"
GENERIC_PROFILE = REPO / "profiles" / "cluster-generic"
SGE_PROFILE = REPO / "profiles" / "sge"
GENERIC_SCRIPTS = {name: GENERIC_PROFILE / f"{name}.py" for name in ("submit", "status", "cancel")}
SEEDS = yaml.safe_load(SMALL.read_text())["training"]["seeds"]
# Every result CSV of the tiny configuration, without the figures (local rules, no CSVs).
CSV_TARGETS = (["results/table1.csv"]
               + [f"results/experiments/{name}.csv" for name in EXPERIMENTS]
               + [f"results/networks/seed{s}/change_scale_summary.csv" for s in SEEDS]
               + ["results/pruning/pruning.csv"])
# Every run here adds tests/cluster/fewer_pruning_jobs.yaml to the tiny configuration: 6 pruning
# jobs (2 modes x (magnitude + 2 random draws)), one batch (ten to a batch in the profiles).
FEWER_PRUNING = REPO / "tests" / "cluster" / "fewer_pruning_jobs.yaml"
PRUNING_BATCHES = 1
# Fast status polling for the tests (the profiles keep gentler defaults).
SLURM_FAST = ["--slurm-init-seconds-before-status-checks", "2"]
SGE_FAST = ["--sge-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "3"]
GENERIC_FAST = ["--seconds-between-status-checks", "2"]
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


def result_csvs(workdir: Path) -> dict[str, bytes]:
    return {p.relative_to(workdir).as_posix(): p.read_bytes() for p in sorted((workdir / "results").rglob("*.csv"))}


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


# -- part 1: the cluster-generic scripts against fake schedulers ---------------------------
FAKE = """#!/bin/sh
# A fake scheduler command: records its arguments, prints $FAKE_<NAME>_OUT (and _ERR), exits $FAKE_<NAME>_RC.
name=$(basename "$0")
echo "$name $*" >> "$FAKE_LOG"
eval "out=\\${FAKE_${name}_OUT:-}"; eval "err=\\${FAKE_${name}_ERR:-}"; eval "rc=\\${FAKE_${name}_RC:-0}"
[ -n "$out" ] && printf '%s\\n' "$out"
[ -n "$err" ] && printf '%s\\n' "$err" >&2
exit "$rc"
"""
FAKE_COMMANDS = ["sbatch", "scontrol", "sacct", "scancel", "qsub", "qstat", "qacct", "qdel", "qconf", "bsub", "bjobs",
                 "bkill"]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Run a profile script with fake scheduler commands first on PATH, in tmp_path."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for name in FAKE_COMMANDS:
        (bindir / name).write_text(FAKE)
        (bindir / name).chmod(0o755)
    log = tmp_path / "calls.log"

    def call(script: str, *args: str, **outputs: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMK_CLUSTER_", "FAKE_"))}
        env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", FAKE_LOG=str(log))
        env.update({k: str(v) for k, v in outputs.items()})
        return subprocess.run([sys.executable, str(GENERIC_SCRIPTS[script]), *args], cwd=tmp_path, env=env,
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


@pytest.mark.parametrize("scheduler, output, job_id, expected", [
    ("slurm", "4711", "4711",
     ["sbatch --parsable --job-name smk.train_network.seed_3", "--ntasks=1 --cpus-per-task=2 --mem=4000 --time=60"]),
    ("slurm", "4711;cluster2", "4711", ["--mem=4000"]),
    ("sge", "815", "815", ["qsub -terse -cwd -V", "-pe smp 2 -l h_vmem=2000M,h_rt=01:00:00"]),
    ("pbs", "923.pbs-server", "923.pbs-server", ["qsub -V", "-l select=1:ncpus=2:mem=4000mb -l walltime=01:00:00"]),
    ("lsf", "Job <42> is submitted to queue <normal>.", "42",
     ["bsub -J smk.train_network.seed_3", "-n 2 -R span[hosts=1] rusage[mem=4000] -M 4000 -W 60"]),
])
def test_generic_submit_builds_the_scheduler_request(fake, scheduler, output, job_id, expected):
    script = jobscript(fake.tmp)
    command = {"slurm": "sbatch", "sge": "qsub", "pbs": "qsub", "lsf": "bsub"}[scheduler]
    proc = fake("submit", str(script), SMK_CLUSTER_SCHEDULER=scheduler, **{f"FAKE_{command}_OUT": output})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == job_id
    (call,) = fake.calls()
    for part in expected:
        assert part in call, call
    assert call.endswith(str(script))
    assert (fake.tmp / ".snakemake" / "cluster_logs" / "train_network").is_dir()


def test_generic_submit_site_settings_and_group_jobs(fake):
    script = jobscript(fake.tmp, type="group", groupid="evaluation", jobid="0f1e2d3c-aaaa", threads=4,
                       resources={"mem_mb": 6000, "runtime": 40})
    proc = fake("submit", str(script), SMK_CLUSTER_SCHEDULER="slurm", SMK_CLUSTER_QUEUE="short",
                SMK_CLUSTER_ACCOUNT="proj1", SMK_CLUSTER_SUBMIT_ARGS="--qos=low --exclusive", FAKE_sbatch_OUT="99")
    assert proc.returncode == 0, proc.stderr
    (call,) = fake.calls()
    for part in ("--job-name smk.group_evaluation.0f1e2d3c", "--cpus-per-task=4 --mem=6000 --time=40",
                 "--partition=short --account=proj1 --qos=low --exclusive"):
        assert part in call, call


def test_generic_submit_failure_is_reported(fake):
    proc = fake("submit", str(jobscript(fake.tmp)), SMK_CLUSTER_SCHEDULER="slurm", FAKE_sbatch_RC="1",
                FAKE_sbatch_ERR="sbatch: error: invalid partition specified: nope")
    assert proc.returncode != 0
    assert "invalid partition" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("state, expected", [
    ("PENDING", "running"), ("RUNNING", "running"), ("COMPLETING", "running"), ("SUSPENDED", "running"),
    ("REQUEUED", "running"), ("COMPLETED", "success"), ("FAILED", "failed"), ("CANCELLED", "failed"),
    ("TIMEOUT", "failed"), ("OUT_OF_MEMORY", "failed"), ("NODE_FAIL", "failed"), ("BOOT_FAIL", "failed"),
    ("DEADLINE", "failed"), ("PREEMPTED", "failed"),
])
def test_generic_status_slurm_states(fake, state, expected):
    proc = fake("status", "123", SMK_CLUSTER_SCHEDULER="slurm",
                FAKE_scontrol_OUT=f"JobId=123 JobName=x UserId=u(1) JobState={state} Reason=None ExitCode=0:0")
    assert (proc.returncode, proc.stdout.strip()) == (0, expected), proc.stderr


@pytest.mark.parametrize("sacct, expected", [
    ("TIMEOUT", "failed"), ("OUT_OF_MEMORY", "failed"), ("CANCELLED by 0", "failed"), ("COMPLETED", "success"),
    ("RUNNING", "running"),
])
def test_generic_status_slurm_falls_back_to_sacct(fake, sacct, expected):
    proc = fake("status", "123", SMK_CLUSTER_SCHEDULER="slurm", FAKE_scontrol_RC="1",
                FAKE_scontrol_ERR="slurm_load_jobs error: Invalid job id specified", FAKE_sacct_OUT=sacct)
    assert proc.stdout.strip() == expected, proc.stderr


def test_generic_status_unknown_job_fails_after_grace_instead_of_hanging(fake):
    unknown = dict(SMK_CLUSTER_SCHEDULER="slurm", FAKE_scontrol_RC="1",
                   FAKE_scontrol_ERR="slurm_load_jobs error: Invalid job id specified",
                   FAKE_sacct_RC="1", FAKE_sacct_ERR="Slurm accounting storage is disabled")
    assert fake("status", "55", **unknown).stdout.strip() == "running"  # maybe just purged: wait a little
    proc = fake("status", "55", SMK_CLUSTER_UNKNOWN_GRACE="0", **unknown)
    assert proc.stdout.strip() == "failed"
    assert "unknown to the scheduler" in proc.stderr


def test_generic_status_controller_hiccup_is_not_a_failure(fake):
    proc = fake("status", "7", SMK_CLUSTER_SCHEDULER="slurm", SMK_CLUSTER_UNKNOWN_GRACE="0", FAKE_scontrol_RC="1",
                FAKE_scontrol_ERR="slurm_load_jobs error: Socket timed out on send/recv operation")
    assert proc.stdout.strip() == "running"


@pytest.mark.parametrize("scheduler, outputs, expected", [
    ("sge", {"FAKE_qstat_OUT": "job_number: 9\njob_state 1: r"}, "running"),
    ("sge", {"FAKE_qstat_OUT": "job_number: 9\nerror reason 1: can't chdir", }, "failed"),
    ("sge", {"FAKE_qstat_RC": "1", "FAKE_qacct_OUT": "jobnumber 9\nfailed 0\nexit_status 0"}, "success"),
    ("sge", {"FAKE_qstat_RC": "1", "FAKE_qacct_OUT": "jobnumber 9\nfailed 100 : assumedly after job\nexit_status 137"},
     "failed"),
    ("sge", {"FAKE_qstat_RC": "1", "FAKE_qacct_OUT": "jobnumber 9\nfailed 0\nexit_status 1"}, "failed"),
    ("pbs", {"FAKE_qstat_OUT": "Job Id: 9.srv\n    job_state = R"}, "running"),
    ("pbs", {"FAKE_qstat_OUT": "Job Id: 9.srv\n    job_state = F\n    Exit_status = 0"}, "success"),
    ("pbs", {"FAKE_qstat_OUT": "Job Id: 9.srv\n    job_state = F\n    Exit_status = -29"}, "failed"),  # walltime
    ("pbs", {"FAKE_qstat_OUT": "Job Id: 9.srv\n    job_state = C\n    exit_status = 271"}, "failed"),  # killed
    ("lsf", {"FAKE_bjobs_OUT": "RUN"}, "running"),
    ("lsf", {"FAKE_bjobs_OUT": "PEND"}, "running"),
    ("lsf", {"FAKE_bjobs_OUT": "DONE"}, "success"),
    ("lsf", {"FAKE_bjobs_OUT": "EXIT"}, "failed"),  # also TERM_RUNLIMIT / TERM_MEMLIMIT kills
])
def test_generic_status_other_schedulers(fake, scheduler, outputs, expected):
    proc = fake("status", "9", SMK_CLUSTER_SCHEDULER=scheduler, **outputs)
    assert proc.stdout.strip() == expected, proc.stderr


@pytest.mark.parametrize("scheduler, command", [("slurm", "scancel"), ("sge", "qdel"), ("pbs", "qdel"),
                                                ("lsf", "bkill")])
def test_generic_cancel(fake, scheduler, command):
    proc = fake("cancel", "11", "12", SMK_CLUSTER_SCHEDULER=scheduler)
    assert proc.returncode == 0, proc.stderr
    assert fake.calls() == [f"{command} 11 12"]


def test_generic_scheduler_detected_from_path(fake):
    proc = fake("submit", str(jobscript(fake.tmp)), FAKE_sbatch_OUT="5")
    assert proc.stdout.strip() == "5"
    assert fake.calls()[0].startswith("sbatch ")


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
def reference(slurm_packages, tmp_path_factory):
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
    assert run.output.count("group_evaluation") >= 1 and run.output.count("group_pruning") >= PRUNING_BATCHES
    assert_same_csvs(tmp_path / "work", reference())
    print(f"slurm profile (squeue): {run.elapsed:.0f} s")


def test_slurm_job_killed_by_the_scheduler_fails_the_run(slurm, reference, tmp_path):
    """Training asks for 100 MB: Slurm kills it; Snakemake retries once, reports, exits non-zero."""
    workdir = seeded_workdir(tmp_path, reference())
    target = f"results/networks/seed{SEEDS[0]}/weights.h5"
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


def test_generic_status_against_real_slurm(slurm, tmp_path):
    """status.py on real jobs: finished, failed, killed for memory, cancelled by cancel.py, running."""
    def sbatch(*args):
        proc = slurm.run("sbatch", "--parsable", "-o", str(tmp_path / "%j.out"), *args)
        return proc.stdout.strip().split(";")[0]

    def status(jobid):
        proc = subprocess.run([sys.executable, str(GENERIC_SCRIPTS["status"]), jobid], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    hog = f"{sys.executable} -c 'x = bytearray(400_000_000); import time; time.sleep(20)'"
    jobs = {"success": sbatch("--mem=100", "--wrap", "true"),
            "exit3": sbatch("--mem=100", "--wrap", "exit 3"),
            "memory": sbatch("--mem=100", "--wrap", hog),
            "running": sbatch("--mem=100", "--wrap", "sleep 300")}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
            status(jobs["running"]) != "running"
            or {status(jobs[k]) for k in ("success", "exit3", "memory")} & {"running"}):
        time.sleep(1)
    assert status(jobs["success"]) == "success"
    assert status(jobs["exit3"]) == "failed"
    assert status(jobs["memory"]) == "failed"
    assert status(jobs["running"]) == "running"
    cancel = subprocess.run([str(GENERIC_SCRIPTS["cancel"]), jobs["running"]], capture_output=True, text=True,
                            timeout=60)
    assert cancel.returncode == 0, cancel.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and status(jobs["running"]) == "running":
        time.sleep(1)
    assert status(jobs["running"]) == "failed"


def test_generic_profile_matches_local_run(slurm, reference, tmp_path):
    """Every result CSV through the generic profile (sbatch / scontrol / scancel scripts)."""
    workdir = seeded_workdir(tmp_path, reference())
    run = snakemake(workdir, "--profile", str(GENERIC_PROFILE), *GENERIC_FAST, targets=CSV_TARGETS)
    assert run.returncode == 0, run.describe() + "\n" + slurm.logs()
    assert_submissions(run.output, "with external jobid", "Submitted group job")
    assert_same_csvs(workdir, reference())
    print(f"cluster-generic profile: {run.elapsed:.0f} s")


def test_generic_job_killed_by_the_scheduler_fails_the_run(slurm, reference, tmp_path):
    workdir = seeded_workdir(tmp_path, reference())
    target = f"results/networks/seed{SEEDS[0]}/weights.h5"
    run = snakemake(workdir, "--profile", str(GENERIC_PROFILE), "--set-resources", "train_network:mem_mb=100",
                    *GENERIC_FAST, targets=[target], timeout=FAIL_TIMEOUT)
    assert run.returncode not in (0, 124, 137), run.describe()
    out = run.output
    assert "Error in rule train_network" in out, out
    assert out.count("with external jobid") == 2, out  # retries: 1
    logs = list((workdir / ".snakemake" / "cluster_logs" / "train_network").glob("*.log"))
    assert logs and any("memory" in p.read_text(errors="replace") for p in logs), logs
    print(f"cluster-generic profile, killed job: failed after {run.elapsed:.0f} s")


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
    assert len(submitted) >= 3 + PRUNING_BATCHES, run.output  # training, change scale, the batches
    assert_same_csvs(workdir, reference())
    print(f"sge profile: {run.elapsed:.0f} s")


@pytest.mark.parametrize("limit", ["memory", "time"])
def test_sge_job_killed_by_the_scheduler_fails_the_run(sge, reference, tmp_path, limit):
    """Training over its h_vmem (100 MB) or its h_rt (1 minute, on 100 epochs of all 60,000
    images): Grid Engine stops it, Snakemake retries once, reports the error and exits non-zero."""
    workdir = seeded_workdir(tmp_path, reference())
    target = f"results/networks/seed{SEEDS[0]}/weights.h5"
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
