"""Submit, status and cancel for the cluster-generic profile: Slurm, SGE, PBS and LSF.

Used by submit.py, status.py and cancel.py next to this file (snakemake-executor-plugin-
cluster-generic runs those). Standard library only; Python 3.8+.

Snakemake writes each job's properties (rule, threads, resources) into the first lines
of the job script; submit.py reads them from there, so the profile's commands need no
placeholders. Site settings come from environment variables:

  SMK_CLUSTER_SCHEDULER    slurm, sge, pbs or lsf (default: found from the commands on PATH)
  SMK_CLUSTER_QUEUE        partition / queue (default: the scheduler's default)
  SMK_CLUSTER_ACCOUNT      account / project to charge (default: none)
  SMK_CLUSTER_SUBMIT_ARGS  extra arguments for sbatch / qsub / bsub (split like a shell)
  SMK_CLUSTER_LOG_DIR      scheduler logs (default: .snakemake/cluster_logs in the work dir)
  SMK_CLUSTER_SGE_PE       SGE parallel environment for multi-threaded jobs (default: smp)
  SMK_CLUSTER_SGE_MEMORY   SGE per-slot memory resource (default: h_vmem)
  SMK_CLUSTER_PBS_FLAVOR   pbspro (select=...) or torque (nodes=1:ppn=...) (default: pbspro)
  SMK_CLUSTER_UNKNOWN_GRACE  seconds a job may be unknown to the scheduler (its records
                           purged, accounting lagging) before it counts as failed (default: 120)

The status command prints exactly one of running, success, failed. Jobs the scheduler
killed (time limit, memory limit, node failure, cancelled) are failed; a job that stays
unknown to the scheduler beyond the grace period is failed, so Snakemake never waits
forever.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

SCHEDULERS = ("slurm", "sge", "pbs", "lsf")
RUNNING, SUCCESS, FAILED = "running", "success", "failed"
COMMAND_TIMEOUT = 60


class SchedulerError(RuntimeError):
    pass


# -- helpers -----------------------------------------------------------------------------
def scheduler() -> str:
    name = os.environ.get("SMK_CLUSTER_SCHEDULER", "").strip().lower()
    if name:
        if name not in SCHEDULERS:
            raise SchedulerError(f"SMK_CLUSTER_SCHEDULER={name!r}: expected one of {', '.join(SCHEDULERS)}")
        return name
    if shutil.which("sbatch"):
        return "slurm"
    if shutil.which("bsub"):
        return "lsf"
    if shutil.which("qsub"):
        if shutil.which("qconf") or os.environ.get("SGE_ROOT"):
            return "sge"
        return "pbs"
    raise SchedulerError("no sbatch, qsub or bsub on PATH; set SMK_CLUSTER_SCHEDULER")


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except FileNotFoundError:
        return subprocess.CompletedProcess(cmd, 127, "", f"{cmd[0]}: command not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, "", f"{cmd[0]}: timed out after {COMMAND_TIMEOUT} s")


def read_properties(jobscript: str) -> dict:
    """The job properties Snakemake writes as '# properties = {json}' into the job script."""
    with open(jobscript) as handle:
        for line in handle:
            if line.startswith("# properties ="):
                return json.loads(line.split("=", 1)[1])
    raise SchedulerError(f"{jobscript}: no '# properties =' line (not a Snakemake job script?)")


def safe_name(text: str, limit: int = 60) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "job"
    return name[:limit]


class Job:
    """What the scheduler needs to know about one Snakemake job (or group job)."""

    def __init__(self, properties: dict):
        resources = properties.get("resources") or {}
        self.threads = max(1, int(properties.get("threads") or 1))
        self.mem_mb = _positive_int(resources.get("mem_mb"))
        self.runtime = _positive_int(resources.get("runtime"))  # minutes
        if properties.get("type") == "group":
            self.label = f"group_{properties.get('groupid', 'group')}"
            detail = str(properties.get("jobid", ""))[:8]
        else:
            self.label = properties.get("rule", "job")
            wildcards = properties.get("wildcards") or {}
            detail = "_".join(f"{k}={v}" for k, v in sorted(wildcards.items())) or str(properties.get("jobid", ""))
        self.name = safe_name(f"smk.{self.label}.{detail}")
        self.log_stem = safe_name(detail or "job", 120)


def _positive_int(value) -> int | None:
    try:
        number = int(math.ceil(float(value)))
    except (TypeError, ValueError):  # absent, or '<TBD>'
        return None
    return number if number > 0 else None


def log_path(job: Job, pattern: str) -> Path:
    base = Path(os.environ.get("SMK_CLUSTER_LOG_DIR") or ".snakemake/cluster_logs")
    directory = base / safe_name(job.label, 120)
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve() / f"{job.log_stem}.{pattern}.log"


def hms(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


# -- submit ------------------------------------------------------------------------------
def submit_command(kind: str, job: Job, jobscript: str) -> list[str]:
    queue = os.environ.get("SMK_CLUSTER_QUEUE", "").strip()
    account = os.environ.get("SMK_CLUSTER_ACCOUNT", "").strip()
    extra = shlex.split(os.environ.get("SMK_CLUSTER_SUBMIT_ARGS", ""))
    if kind == "slurm":
        cmd = ["sbatch", "--parsable", "--job-name", job.name, "--output", str(log_path(job, "%j")),
               "--ntasks=1", f"--cpus-per-task={job.threads}"]
        if job.mem_mb:
            cmd.append(f"--mem={job.mem_mb}")
        if job.runtime:
            cmd.append(f"--time={job.runtime}")
        if queue:
            cmd.append(f"--partition={queue}")
        if account:
            cmd.append(f"--account={account}")
    elif kind == "sge":
        cmd = ["qsub", "-terse", "-cwd", "-V", "-S", "/bin/sh", "-N", job.name, "-j", "y",
               "-o", str(log_path(job, "$JOB_ID"))]
        if job.threads > 1:
            cmd += ["-pe", os.environ.get("SMK_CLUSTER_SGE_PE", "smp"), str(job.threads)]
        limits = []
        if job.mem_mb:  # SGE memory limits are per slot
            per_slot = -(-job.mem_mb // job.threads)
            limits.append(f"{os.environ.get('SMK_CLUSTER_SGE_MEMORY', 'h_vmem')}={per_slot}M")
        if job.runtime:
            limits.append(f"h_rt={hms(job.runtime)}")
        if limits:
            cmd += ["-l", ",".join(limits)]
        if queue:
            cmd += ["-q", queue]
        if account:
            cmd += ["-P", account]
    elif kind == "pbs":
        cmd = ["qsub", "-V", "-N", job.name[:15] if os.environ.get("SMK_CLUSTER_PBS_FLAVOR") == "torque" else job.name,
               "-j", "oe", "-o", str(log_path(job, "pbs"))]
        if os.environ.get("SMK_CLUSTER_PBS_FLAVOR", "pbspro") == "torque":
            spec = f"nodes=1:ppn={job.threads}"
            if job.mem_mb:
                spec += f",mem={job.mem_mb}mb"
        else:
            spec = f"select=1:ncpus={job.threads}"
            if job.mem_mb:
                spec += f":mem={job.mem_mb}mb"
        cmd += ["-l", spec]
        if job.runtime:
            cmd += ["-l", f"walltime={hms(job.runtime)}"]
        if queue:
            cmd += ["-q", queue]
        if account:
            cmd += ["-A", account]
    elif kind == "lsf":
        cmd = ["bsub", "-J", job.name, "-o", str(log_path(job, "%J")), "-n", str(job.threads)]
        if job.mem_mb:  # in MB: assumes LSF_UNIT_FOR_LIMITS=MB
            cmd += ["-R", f"span[hosts=1] rusage[mem={job.mem_mb}]", "-M", str(job.mem_mb)]
        else:
            cmd += ["-R", "span[hosts=1]"]
        if job.runtime:
            cmd += ["-W", str(job.runtime)]
        if queue:
            cmd += ["-q", queue]
        if account:
            cmd += ["-P", account]
    else:
        raise SchedulerError(f"unknown scheduler {kind!r}")
    return cmd + extra + [jobscript]


def parse_job_id(kind: str, out: str) -> str:
    text = out.strip()
    if kind == "slurm":
        match = re.search(r"^(\d+)(?:;\S+)?$", text, re.M) or re.search(r"Submitted batch job (\d+)", text)
    elif kind == "sge":
        match = re.search(r"^(\d+)", text, re.M) or re.search(r'Your job (\d+)', text)
    elif kind == "pbs":
        match = re.search(r"^(\d+(?:\.\S+)?)$", text, re.M)
    else:
        match = re.search(r"Job <(\d+)>", text)
    if not match:
        raise SchedulerError(f"cannot find a job id in the {kind} submission output: {text!r}")
    return match.group(1)


def submit(jobscript: str) -> str:
    kind = scheduler()
    job = Job(read_properties(jobscript))
    cmd = submit_command(kind, job, jobscript)
    proc = run(cmd)
    if proc.returncode != 0:
        raise SchedulerError(f"{shlex.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return parse_job_id(kind, proc.stdout)


# -- status ------------------------------------------------------------------------------
SLURM_RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
                 "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "POWER_UP_NODE"}
# Everything else is final: FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL,
# DEADLINE, PREEMPTED, REVOKED, SPECIAL_EXIT.
LSF_RUNNING = {"PEND", "PROV", "RUN", "PSUSP", "USUSP", "SSUSP", "WAIT", "UNKWN"}


def slurm_state(state: str) -> str:
    state = state.split()[0].rstrip("+").upper() if state.strip() else ""
    if state == "COMPLETED":
        return SUCCESS
    if state in SLURM_RUNNING:
        return RUNNING
    return FAILED


def status_slurm(jobid: str) -> str | None:
    proc = run(["scontrol", "show", "job", "--oneliner", jobid])
    if proc.returncode == 0:
        match = re.search(r"\bJobState=(\S+)", proc.stdout)
        if match:
            return slurm_state(match.group(1))
    elif "invalid job id" not in (proc.stderr + proc.stdout).lower():
        note(f"scontrol failed for job {jobid} ({proc.returncode}): {proc.stderr.strip()}; assuming still running")
        return RUNNING
    # Purged from the controller (MinJobAge): ask the accounting database.
    proc = run(["sacct", "--jobs", jobid, "--allocations", "--noheader", "--parsable2", "--format=State"])
    if proc.returncode == 0 and proc.stdout.strip():
        return slurm_state(proc.stdout.strip().splitlines()[0])
    return None


def status_sge(jobid: str) -> str | None:
    proc = run(["qstat", "-j", jobid])
    if proc.returncode == 0 and jobid in proc.stdout:
        if re.search(r"^error reason", proc.stdout, re.M):  # Eqw: it will never run
            return FAILED
        return RUNNING
    proc = run(["qacct", "-j", jobid])
    if proc.returncode != 0:
        return None
    fields = dict(re.findall(r"^(\w+)\s+(.*?)\s*$", proc.stdout, re.M))
    failed = fields.get("failed", "0").split()[0]
    exit_status = fields.get("exit_status", "0").split()[0]
    return SUCCESS if failed == "0" and exit_status == "0" else FAILED


def status_pbs(jobid: str) -> str | None:
    proc = run(["qstat", "-x", "-f", jobid])  # -x: finished jobs too (PBS Pro / OpenPBS)
    if proc.returncode != 0:
        proc = run(["qstat", "-f", jobid])  # Torque keeps finished jobs as state C for a while
    if proc.returncode != 0:
        return None
    fields = {k.lower(): v for k, v in re.findall(r"^\s*(\w+)\s*=\s*(.*?)\s*$", proc.stdout, re.M)}
    state = fields.get("job_state", "").upper()
    if state in {"F", "X", "C"}:
        exit_status = fields.get("exit_status")
        return SUCCESS if exit_status == "0" else FAILED
    return RUNNING if state else None


def status_lsf(jobid: str) -> str | None:
    proc = run(["bjobs", "-noheader", "-o", "stat", jobid])
    state = proc.stdout.strip().split()[0] if proc.returncode == 0 and proc.stdout.strip() else ""
    if not state or "not found" in proc.stdout + proc.stderr:
        return None
    if state == "DONE":
        return SUCCESS
    if state in LSF_RUNNING:
        return RUNNING
    return FAILED  # EXIT, ZOMBI


STATUS = {"slurm": status_slurm, "sge": status_sge, "pbs": status_pbs, "lsf": status_lsf}


def note(message: str) -> None:
    print(f"cluster-generic status: {message}", file=sys.stderr)


def unknown_marker(jobid: str) -> Path:
    return Path(".snakemake") / "cluster_status_unknown" / safe_name(jobid, 120)


def status(jobid: str) -> str:
    kind = scheduler()
    result = STATUS[kind](jobid)
    marker = unknown_marker(jobid)
    if result is not None:
        marker.unlink(missing_ok=True)
        return result
    # Unknown to the scheduler: just purged, or accounting not written yet. Wait a grace
    # period (remembered across calls), then call it failed rather than wait forever.
    grace = float(os.environ.get("SMK_CLUSTER_UNKNOWN_GRACE", "120"))
    marker.parent.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        marker.write_text(str(time.time()))
    first_seen = float(marker.read_text() or time.time())
    if time.time() - first_seen < grace:
        return RUNNING
    note(f"{kind} job {jobid} has been unknown to the scheduler for {grace:.0f} s; reporting it failed")
    marker.unlink(missing_ok=True)
    return FAILED


# -- cancel ------------------------------------------------------------------------------
def cancel(jobids: list[str]) -> int:
    kind = scheduler()
    command = {"slurm": ["scancel"], "sge": ["qdel"], "pbs": ["qdel"], "lsf": ["bkill"]}[kind]
    return run(command + jobids).returncode if jobids else 0


def main(action: str, argv: list[str]) -> int:
    try:
        if action == "submit":
            if not argv:
                raise SchedulerError("usage: submit.py JOBSCRIPT")
            print(submit(argv[-1]))
        elif action == "status":
            if len(argv) != 1:
                raise SchedulerError("usage: status.py JOBID")
            print(status(argv[0]))
        elif action == "cancel":
            return cancel(argv)
        else:
            raise SchedulerError(f"unknown action {action!r}")
    except SchedulerError as exc:
        print(f"cluster-generic {action}: {exc}", file=sys.stderr)
        return 1
    return 0
