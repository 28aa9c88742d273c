"""A stand-in for IBM Spectrum LSF on one machine, for testing profiles/lsf.

LSF is proprietary and no distribution packages it, so unlike Slurm and Grid Engine it
cannot be brought up for real here. ``FakeLsf(root).bin`` is a directory of executables
with the names and output formats snakemake-executor-plugin-lsf relies on (``bsub``,
``bjobs``, ``bkill``, ``badmin showconf mbd``, ``lsclusters``, ``bhist``): ``bsub`` really
runs the job in the background, in its own session, and enforces ``-W`` (minutes) as LSF
enforces a run limit; ``bjobs`` reports RUN, then DONE or EXIT from the job's exit status,
as LSF does for jobs it killed (TERM_RUNLIMIT). What this proves is that the profile and the
plugin submit every job, batch the short ones, and report a killed job failed; not how a
real LSF schedules.

Usage as a library: ``lsf = FakeLsf.create(tmp_path)``; put ``lsf.bin`` first on PATH and
``lsf.env`` in the environment. Run as ``python fake_lsf.py <command> ARGS`` by the
generated executables.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = ("bsub", "bjobs", "bkill", "badmin", "lsclusters", "bhist")
CLUSTER = "fakecluster"


class FakeLsf:
    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.env = {"FAKE_LSF_ROOT": str(root), "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}

    @classmethod
    def create(cls, root: Path) -> "FakeLsf":
        lsf = cls(root)
        (root / "jobs").mkdir(parents=True, exist_ok=True)
        lsf.bin.mkdir(parents=True, exist_ok=True)
        params = root / "conf" / "lsbatch" / CLUSTER / "configdir" / "lsb.params"
        params.parent.mkdir(parents=True, exist_ok=True)
        params.write_text("Begin Parameters\nDEFAULT_QUEUE = normal  # the queue without -q\nEnd Parameters\n")
        for name in COMMANDS:
            script = lsf.bin / name
            script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(__file__)} {name} \"$@\"\n")
            script.chmod(0o755)
        return lsf

    def jobs(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.root / "jobs").glob("*.json"))]


def _root() -> Path:
    return Path(os.environ["FAKE_LSF_ROOT"])


def _record(job: dict) -> None:
    path = _root() / "jobs" / f"{job['id']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(job))
    tmp.replace(path)


def _load(jobid: str) -> dict | None:
    path = _root() / "jobs" / f"{jobid}.json"
    return json.loads(path.read_text()) if path.exists() else None


def bsub(args: list[str]) -> int:
    options, command = {}, None
    flags_with_value = {"-J", "-o", "-e", "-W", "-n", "-q", "-P", "-cwd", "-env", "-M"}
    i = 0
    while i < len(args):
        if args[i] in flags_with_value:
            options[args[i]] = args[i + 1]
            i += 2
        elif args[i] == "-R":
            options.setdefault("-R", []).append(args[i + 1])
            i += 2
        else:
            command = args[i]
            i += 1
    if command is None:
        print("bsub: no command given", file=sys.stderr)
        return 255
    counter = _root() / "next_id"
    jobid = int(counter.read_text()) if counter.exists() else 1001
    counter.write_text(str(jobid + 1))
    job = {"id": str(jobid), "name": options.get("-J", "NONAME"), "stat": "RUN", "options": options,
           "command": command, "submitted": time.time()}
    _record(job)
    log = options.get("-o", os.devnull).replace("%J", str(jobid))
    runner = [sys.executable, __file__, "_run", str(jobid), log]
    # Detached: bsub returns at once, the runner outlives it.
    subprocess.Popen(runner, cwd=options.get("-cwd") or os.getcwd(), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    print(f"Job <{jobid}> is submitted to queue <{options.get('-q', 'normal')}>.")
    return 0


def _run(jobid: str, log: str) -> int:
    job = _load(jobid)
    limit = float(job["options"]["-W"]) * 60 if "-W" in job["options"] else None
    with open(log, "a") as out:
        proc = subprocess.Popen(["/bin/sh", "-c", job["command"]], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        job["pgid"] = proc.pid
        _record(job)
        try:
            code = proc.wait(timeout=limit)
            reason = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code, reason = 140, "TERM_RUNLIMIT: job killed after reaching LSF run time limit."
        if reason:
            print(f"\n{reason}\nExited with exit code {code}.", file=out)
    job = _load(jobid)
    if job["stat"] == "RUN":
        job["stat"], job["exit_code"] = ("DONE" if code == 0 else "EXIT"), code
        _record(job)
    return 0


def bjobs(args: list[str]) -> int:
    pattern = args[args.index("-aJ") + 1] if "-aJ" in args else "*"
    ids = [a for a in args if a.isdigit()]
    rows = [j for j in (json.loads(p.read_text()) for p in sorted((_root() / "jobs").glob("*.json")))
            if fnmatch.fnmatchcase(j["name"], pattern) and (not ids or j["id"] in ids)]
    if not rows:
        print("No job found", file=sys.stderr)
        return 255
    for job in rows:
        print(f"{job['id']} {job['stat']}")
    return 0


def bkill(args: list[str]) -> int:
    for jobid in args:
        job = _load(jobid)
        if job and job["stat"] == "RUN":
            job["stat"], job["exit_code"] = "EXIT", 130
            _record(job)
            if "pgid" in job:
                try:
                    os.killpg(job["pgid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
            print(f"Job <{jobid}> is being terminated")
    return 0


def badmin(args: list[str]) -> int:
    root = _root()
    print(f"MBD configuration at {time.ctime()}")
    print(f"    LSB_SHAREDIR = {root / 'work'}")
    print(f"    LSF_CONFDIR = {root / 'conf'}")
    print("    LSF_UNIT_FOR_LIMITS = MB")
    return 0


def lsclusters(args: list[str]) -> int:
    print("CLUSTER_NAME   STATUS   MASTER_HOST   ADMIN   HOSTS  SERVERS")
    print(f"{CLUSTER}    ok       localhost     root    1      1")
    return 0


def bhist(args: list[str]) -> int:
    return 0  # no history: the plugin then submits without a project


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "_run":
        sys.exit(_run(*rest))
    sys.exit(globals()[command](rest))
