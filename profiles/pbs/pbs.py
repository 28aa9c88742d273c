"""Submit, status and cancel for PBS Pro / OpenPBS and Torque, for the pbs profile.

Used by submit.py, status.py and cancel.py next to this file through
snakemake-executor-plugin-cluster-generic. Our own code only because no maintained executor
plugin covers PBS (Slurm, Grid Engine, LSF and HTCondor have theirs: see profiles/). Standard
library only.

Snakemake writes each job's properties (rule, threads, resources) into the first lines of
the job script; submit.py reads them from there, so the profile needs no placeholders.
Site settings come from environment variables:

  SMK_PBS_QUEUE        queue (default: the server's default)
  SMK_PBS_ACCOUNT      account to charge (qsub -A; default: none)
  SMK_PBS_SUBMIT_ARGS  extra qsub arguments (split like a shell)
  SMK_PBS_FLAVOR       pbspro (select=1:ncpus=...) or torque (nodes=1:ppn=...); default pbspro
  SMK_PBS_LOG_DIR      job logs (default: .snakemake/pbs_logs in the work dir)
  SMK_PBS_UNKNOWN_GRACE  seconds a job may be unknown to the server (finished jobs purged)
                       before it counts as failed (default: 120)

status prints exactly one of running, success, failed. A job PBS killed (walltime, memory,
qdel) ends with a non-zero Exit_status and is failed; a job unknown to the server beyond the
grace period is failed, so Snakemake never waits forever.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

RUNNING, SUCCESS, FAILED = "running", "success", "failed"
COMMAND_TIMEOUT = 60


class SchedulerError(RuntimeError):
    pass


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except FileNotFoundError:
        return subprocess.CompletedProcess(cmd, 127, "", f"{cmd[0]}: command not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, "", f"{cmd[0]}: timed out after {COMMAND_TIMEOUT} s")


def safe_name(text: str, limit: int = 60) -> str:
    return (re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "job")[:limit]


def _positive_int(value) -> int | None:
    try:
        number = int(math.ceil(float(value)))
    except (TypeError, ValueError):  # absent, or '<TBD>'
        return None
    return number if number > 0 else None


# -- submit ------------------------------------------------------------------------------
def submit_command(jobscript: str) -> list[str]:
    """The qsub call for the job (or group job) whose properties Snakemake wrote into ``jobscript``."""
    with open(jobscript) as handle:
        line = next((line for line in handle if line.startswith("# properties =")), None)
    if line is None:
        raise SchedulerError(f"{jobscript}: no '# properties =' line (not a Snakemake job script?)")
    properties = json.loads(line.split("=", 1)[1])
    resources = properties.get("resources") or {}
    threads = max(1, int(properties.get("threads") or 1))
    mem_mb, runtime = _positive_int(resources.get("mem_mb")), _positive_int(resources.get("runtime"))
    if properties.get("type") == "group":
        label, detail = f"group_{properties.get('groupid', 'group')}", str(properties.get("jobid", ""))[:8]
    else:
        label = properties.get("rule", "job")
        wildcards = properties.get("wildcards") or {}
        detail = "_".join(f"{k}={v}" for k, v in sorted(wildcards.items())) or str(properties.get("jobid", ""))
    torque = os.environ.get("SMK_PBS_FLAVOR", "pbspro") == "torque"
    log_dir = Path(os.environ.get("SMK_PBS_LOG_DIR") or ".snakemake/pbs_logs") / safe_name(label, 120)
    log_dir.mkdir(parents=True, exist_ok=True)
    name = safe_name(f"smk.{label}.{detail}", 15 if torque else 60)  # Torque allows 15 characters
    cmd = ["qsub", "-V", "-N", name, "-j", "oe", "-o", str(log_dir.resolve() / f"{safe_name(detail, 120)}.log")]
    if torque:
        spec = f"nodes=1:ppn={threads}" + (f",mem={mem_mb}mb" if mem_mb else "")
    else:
        spec = f"select=1:ncpus={threads}" + (f":mem={mem_mb}mb" if mem_mb else "")
    cmd += ["-l", spec]
    if runtime:
        cmd += ["-l", f"walltime={runtime // 60:02d}:{runtime % 60:02d}:00"]
    if os.environ.get("SMK_PBS_QUEUE", "").strip():
        cmd += ["-q", os.environ["SMK_PBS_QUEUE"].strip()]
    if os.environ.get("SMK_PBS_ACCOUNT", "").strip():
        cmd += ["-A", os.environ["SMK_PBS_ACCOUNT"].strip()]
    return cmd + shlex.split(os.environ.get("SMK_PBS_SUBMIT_ARGS", "")) + [jobscript]


def submit(jobscript: str) -> str:
    cmd = submit_command(jobscript)
    proc = run(cmd)
    if proc.returncode != 0:
        raise SchedulerError(f"{shlex.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    match = re.search(r"^(\d+(?:\.\S+)?)$", proc.stdout.strip(), re.M)
    if not match:
        raise SchedulerError(f"cannot find a job id in the qsub output: {proc.stdout.strip()!r}")
    return match.group(1)


# -- status ------------------------------------------------------------------------------
def server_state(jobid: str) -> str | None:
    """running, success or failed as the server reports the job; None if it does not know it."""
    proc = run(["qstat", "-x", "-f", jobid])  # -x: finished jobs too (PBS Pro / OpenPBS)
    if proc.returncode != 0:
        proc = run(["qstat", "-f", jobid])  # Torque keeps finished jobs as state C for a while
    if proc.returncode != 0:
        return None
    fields = {k.lower(): v for k, v in re.findall(r"^\s*(\w+)\s*=\s*(.*?)\s*$", proc.stdout, re.M)}
    state = fields.get("job_state", "").upper()
    if state in {"F", "X", "C"}:
        return SUCCESS if fields.get("exit_status") == "0" else FAILED
    return RUNNING if state else None


def status(jobid: str) -> str:
    result = server_state(jobid)
    marker = Path(".snakemake") / "pbs_status_unknown" / safe_name(jobid, 120)
    if result is not None:
        marker.unlink(missing_ok=True)
        return result
    # Unknown to the server: just purged, or not registered yet. Wait a grace period
    # (remembered across calls), then call it failed rather than wait forever.
    grace = float(os.environ.get("SMK_PBS_UNKNOWN_GRACE", "120"))
    marker.parent.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        marker.write_text(str(time.time()))
    if time.time() - float(marker.read_text() or time.time()) < grace:
        return RUNNING
    print(f"pbs status: job {jobid} has been unknown to the server for {grace:.0f} s; reporting it failed",
          file=sys.stderr)
    marker.unlink(missing_ok=True)
    return FAILED


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
            return run(["qdel", *argv]).returncode if argv else 0
        else:
            raise SchedulerError(f"unknown action {action!r}")
    except SchedulerError as exc:
        print(f"pbs {action}: {exc}", file=sys.stderr)
        return 1
    return 0
