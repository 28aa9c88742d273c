"""A throw-away single-node Grid Engine (Debian's gridengine 8.1.9 packages), for the cluster tests.

Everything lives in one temporary directory: its own cell (``$SGE_ROOT/<cell>`` is a
symlink to it, because the Debian binaries look for cells under ``/var/lib/gridengine``),
its own Berkeley DB spool, qmaster and execd spool directories and its own ports, so it
does not touch a Grid Engine already configured on the machine. The qmaster and execd
daemonise themselves; ``stop`` shuts them down through ``qconf`` and by pid.

What it configures, like a small site would: the host as admin, submit and exec host;
queue ``all.q`` with one slot per core; parallel environment ``smp`` ($pe_slots); jobs
as root allowed (``min_uid 0``: the tests run as root); and the requestable complexes
``tmem`` and ``tscratch``, which snakemake-executor-plugin-sge always requests (from
``mem_mb`` and ``disk_mb``; they come from UCL's cluster) and which a stock Grid
Engine rejects as unknown.

From Python (the tests)::

    cluster = SgeCluster.create()
    cluster.start()
    cluster.run("qsub", ...)          # with SGE_ROOT, SGE_CELL and the ports set
    cluster.stop()

From a shell (manual checks, as root)::

    python3 tests/cluster/local_sge.py up      # prints the directory and the environment to export
    python3 tests/cluster/local_sge.py down --dir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SGE_ROOT = Path("/var/lib/gridengine")
PACKAGES = ["gridengine-master", "gridengine-exec", "gridengine-client"]
BINARIES = ["sge_qmaster", "sge_execd", "qsub", "qstat", "qacct", "qconf", "qdel"]
ADMIN_USER = "sgeadmin"  # created by gridengine-common
INIT_CLUSTER = Path("/usr/share/gridengine/scripts/init_cluster")

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The same helpers as the test Slurm (one exception type for "cannot install here").
from local_slurm import ClusterUnavailable, _sbin_path, _wait_for, free_port  # noqa: E402


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name, path=_sbin_path()) is None]


def ensure_packages(log=print) -> None:
    """Install the Debian packages with apt-get when a binary is missing (ClusterUnavailable if impossible)."""
    missing = missing_binaries()
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"Grid Engine binaries missing ({', '.join(missing)}) and "
                                 + ("not root" if os.geteuid() != 0 else "no apt-get") + " to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing Debian packages: {' '.join(PACKAGES)}")
    # No system-wide daemons from the packages' init scripts: this module starts its own.
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\n# Temporary (tests/cluster/local_sge.py): no service starts.\nexit 101\n")
        policy.chmod(0o755)
    try:
        for cmd in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                raise ClusterUnavailable(f"'{' '.join(cmd)}' failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    missing = missing_binaries()
    if missing:
        raise ClusterUnavailable(f"still missing after apt-get install: {', '.join(missing)}")


def _aliases() -> list[str]:
    """Names of this host: Grid Engine refuses a client whose address resolves to another name
    than its own (in containers 127.0.0.1 is often 'localhost' first), unless aliased."""
    names = [socket.gethostname(), "localhost"]
    try:
        with open("/etc/hosts") as handle:
            for line in handle:
                fields = line.split("#", 1)[0].split()
                if fields and fields[0].startswith("127."):
                    names += fields[1:]
    except OSError:
        pass
    return list(dict.fromkeys(names))


class SgeCluster:
    """One single-node Grid Engine cell in ``root`` (a directory this object owns)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        state = self.root / "cluster.json"
        if state.exists():
            saved = json.loads(state.read_text())
            self.cell, self.ports = saved["cell"], saved["ports"]
        else:
            self.cell = f"smktest_{self.root.name.rsplit('-', 1)[-1]}"
            self.ports = {"qmaster": free_port(), "execd": free_port()}
            state.write_text(json.dumps({"cell": self.cell, "ports": self.ports}))
        self.host = socket.gethostname()

    @classmethod
    def create(cls, parent: str | None = None) -> "SgeCluster":
        root = Path(tempfile.mkdtemp(prefix="smk-sge-", dir=parent))
        root.chmod(0o755)
        return cls(root)

    @property
    def env(self) -> dict[str, str]:
        """What a client (qsub, Snakemake's plugin) needs to reach this cell."""
        return {"SGE_ROOT": str(SGE_ROOT), "SGE_CELL": self.cell, "SGE_QMASTER_PORT": str(self.ports["qmaster"]),
                "SGE_EXECD_PORT": str(self.ports["execd"])}

    def run(self, *cmd: str, check: bool = True, timeout: float = 60, input: str | None = None):
        env = dict(os.environ, PATH=_sbin_path(), **self.env)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=check, timeout=timeout,
                              input=input)

    def _conf(self, flag: str, name: str, text: str) -> None:
        """Add (or modify) a configuration object from a file: qconf -A<x> / -M<x>."""
        # -Mconf takes the configuration's name from the file name ("global").
        path = self.root / "qconf" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        proc = self.run("qconf", flag, str(path), check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"qconf {flag} {name}: {proc.stdout}{proc.stderr}")

    def start(self, timeout: float = 90) -> None:
        cell_dir, spool = self.root / "cell", self.root / "spool"
        link = SGE_ROOT / self.cell
        for path in (cell_dir / "common", spool / "qmaster", spool / "execd", spool / "db"):
            path.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(cell_dir)
        common = cell_dir / "common"
        (common / "bootstrap").write_text(
            "admin_user sgeadmin\ndefault_domain none\nignore_fqdn true\nspooling_method berkeleydb\n"
            f"spooling_lib libspoolb\nspooling_params {spool / 'db'}\nbinary_path /usr/sbin\n"
            f"qmaster_spool_dir {spool / 'qmaster'}\nsecurity_mode none\nlistener_threads 2\n"
            "worker_threads 2\nscheduler_threads 1\n")
        (common / "act_qmaster").write_text(self.host + "\n")
        (common / "host_aliases").write_text(" ".join(_aliases()) + "\n")
        shutil.chown(self.root, ADMIN_USER)
        for path in [cell_dir, common, spool, *spool.iterdir(), *common.iterdir()]:
            shutil.chown(path, ADMIN_USER)
        if not (spool / "db" / "sge").exists():
            # Debian's own cluster initialisation (spool, global configuration, complexes, usersets).
            proc = self.run("su", "-s", "/bin/sh", ADMIN_USER, "-c",
                            f"SGE_ROOT={SGE_ROOT} SGE_CELL={self.cell} {INIT_CLUSTER} {SGE_ROOT} {self.cell} "
                            f"{spool / 'db'} {ADMIN_USER}", check=False, timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(f"init_cluster failed: {proc.stdout}{proc.stderr}")
        self.run("sge_qmaster", timeout=60)
        _wait_for(lambda: self.run("qconf", "-sh", check=False).returncode == 0, timeout, "sge_qmaster")
        self._configure()
        self.run("sge_execd", timeout=60)
        _wait_for(self._queue_up, timeout, "sge_execd and queue all.q")

    def _configure(self) -> None:
        if self.run("qconf", "-sq", "all.q", check=False).returncode == 0:
            return  # configured by an earlier start in this directory
        config = self.run("qconf", "-sconf").stdout
        lines = []
        for line in config.splitlines():
            key = line.split()[0] if line.split() else ""
            if key in ("min_uid", "min_gid"):
                line = f"{key} 0"  # the tests submit as root
            elif key == "execd_spool_dir":
                line = f"execd_spool_dir {self.root / 'spool' / 'execd'}"
            elif key == "load_report_time":
                line = "load_report_time 00:00:05"
            lines.append(line)
        self._conf("-Mconf", "global", "\n".join(lines) + "\n")
        self.run("qconf", "-as", self.host)
        complexes = self.run("qconf", "-sc").stdout.rstrip("\n").splitlines()
        complexes += ["tmem tmem MEMORY <= YES NO 0 0", "tscratch tscratch MEMORY <= YES NO 0 0"]
        self._conf("-Mc", "complexes", "\n".join(complexes) + "\n")
        # tmem and tscratch need a value to be compared with (requests are <= it).
        self._conf("-Ae", "exechost", f"hostname {self.host}\nload_scaling NONE\n"
                   "complex_values tmem=1024G,tscratch=1024G\n"
                   "user_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\n"
                   "report_variables NONE\n")
        self._conf("-Ahgrp", "hostgroup", f"group_name @allhosts\nhostlist {self.host}\n")
        self._conf("-Ap", "pe", "pe_name smp\nslots 999\nuser_lists NONE\nxuser_lists NONE\n"
                   "start_proc_args NONE\nstop_proc_args NONE\nallocation_rule $pe_slots\ncontrol_slaves FALSE\n"
                   "job_is_first_task TRUE\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n")
        queue = []
        for line in self.run("qconf", "-sq").stdout.splitlines():  # the template queue
            key = line.split()[0] if line.split() else ""
            # load_thresholds NONE: the template's np_load_avg=1.75 puts the only queue in alarm
            # state ("a", no jobs) whenever the test machine is busy, e.g. a load of 5 on 2 cores.
            values = {"qname": "all.q", "hostlist": "@allhosts", "slots": str(os.cpu_count() or 1),
                      "pe_list": "smp", "shell": "/bin/bash", "shell_start_mode": "unix_behavior",
                      "load_thresholds": "NONE"}
            queue.append(f"{key} {values[key]}" if key in values else line)
        self._conf("-Aq", "queue", "\n".join(queue) + "\n")

    def _queue_up(self) -> bool:
        out = self.run("qstat", "-f", "-q", "all.q", check=False).stdout
        rows = [line for line in out.splitlines() if line.startswith("all.q@")]
        # A queue instance whose state column (after the arch) is empty accepts jobs.
        return bool(rows) and all(len(row.split()) == 5 for row in rows)

    def stop(self, remove: bool = True) -> None:
        """Delete every job, shut down execd and qmaster, remove the cell."""
        if (SGE_ROOT / self.cell).exists():
            self.run("qdel", "-u", "*", check=False)
            self.run("qconf", "-ke", self.host, check=False)
            self.run("qconf", "-km", check=False)
            pid_files = [self.root / "spool" / "qmaster" / "qmaster.pid",
                         *(self.root / "spool" / "execd").glob("*/execd.pid")]
            for pid_file in pid_files:
                try:
                    pid = int(pid_file.read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                    time.sleep(0.5)
                if Path(f"/proc/{pid}").exists():
                    os.kill(pid, 9)
        link = SGE_ROOT / self.cell
        if link.is_symlink():
            link.unlink()
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def logs(self, lines: int = 40) -> str:
        """The tail of the daemons' message files, for assertion messages."""
        parts = []
        for path in sorted((self.root / "spool").rglob("messages")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"== {path.relative_to(self.root)}\n" + "\n".join(text))
        return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="install the packages if missing, start the daemons, print the directory")
    down = sub.add_parser("down", help="stop the cell started in DIR and remove DIR")
    down.add_argument("--dir", required=True)
    down.add_argument("--keep", action="store_true", help="keep the directory (logs)")
    args = parser.parse_args(argv)
    if args.command == "up":
        ensure_packages()
        cluster = SgeCluster.create()
        try:
            cluster.start()
        except Exception:
            print(cluster.logs(), file=sys.stderr)
            cluster.stop(remove=False)
            raise
        print(cluster.root)
        print(" ".join(f"{k}={v}" for k, v in cluster.env.items()))
    else:
        SgeCluster(Path(args.dir)).stop(remove=not args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
