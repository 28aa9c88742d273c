"""A throw-away single-node Slurm (22.05, Debian packages) on loopback, for the cluster tests.

Everything lives in one temporary directory: its own MUNGE key and socket, its own ports,
state, spool, logs and (with accounting) its own MariaDB data directory. The only thing
outside it is ``/etc/slurm/slurm.conf``, a symlink to the generated file: the Slurm
executor plugin's job step clears ``SLURM_CONF`` before its nested ``srun``, so the
configuration must be found at the default place. Every daemon is started in the
foreground by this module and stopped by its pid (recorded in ``pids.json``).

From Python (the tests)::

    cluster = SlurmCluster.create()
    cluster.start(accounting=False)   # munged, slurmctld, slurmd
    cluster.start(accounting=True)    # restarts Slurm with MariaDB + slurmdbd
    cluster.stop()

From a shell (manual checks, as root)::

    python3 tests/cluster/local_slurm.py up [--accounting] [--dir DIR]
    python3 tests/cluster/local_slurm.py down --dir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
ACCOUNTING_PACKAGES = ["slurmdbd", "mariadb-server"]
BINARIES = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "sacct"]
ACCOUNTING_BINARIES = ["slurmdbd", "mariadbd", "mariadb-install-db"]
CLUSTER_NAME = "smktest"
PARTITION = "debug"


class ClusterUnavailable(RuntimeError):
    """The Debian packages are missing and cannot be installed here (a reason to skip)."""


def missing_binaries(accounting: bool = True) -> list[str]:
    names = BINARIES + (ACCOUNTING_BINARIES if accounting else [])
    return [name for name in names if shutil.which(name, path=_sbin_path()) is None]


def _sbin_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def ensure_packages(accounting: bool = True, log=print) -> None:
    """Install the Debian packages with apt-get when a binary is missing.

    Raises ClusterUnavailable (with the reason) where that is not possible: not root,
    no apt-get, or apt-get failing (no network, no such package).
    """
    missing = missing_binaries(accounting)
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable(f"Slurm binaries missing ({', '.join(missing)}) and not root to install them")
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"Slurm binaries missing ({', '.join(missing)}) and no apt-get to install them")
    packages = PACKAGES + (ACCOUNTING_PACKAGES if accounting else [])
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing Debian packages: {' '.join(packages)}")
    # Keep the packages' init scripts from starting system-wide daemons (munged, mariadbd,
    # slurmd) that nobody would stop: this module starts its own.
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\n# Temporary (tests/cluster/local_slurm.py): no service starts.\nexit 101\n")
        policy.chmod(0o755)
    try:
        for cmd in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                raise ClusterUnavailable(f"'{' '.join(cmd)}' failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    missing = missing_binaries(accounting)
    if missing:
        raise ClusterUnavailable(f"still missing after apt-get install: {', '.join(missing)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_memory_mb() -> int:
    """RealMemory as slurmd itself measures it (a larger value marks the node invalid)."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    for field in out.split():
        if field.startswith("RealMemory="):
            return int(field.split("=", 1)[1])
    raise RuntimeError(f"no RealMemory in 'slurmd -C': {out}")


def _wait_for(predicate, timeout: float, what: str, interval: float = 0.5, log_file: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    tail = ""
    if log_file is not None and log_file.exists():
        tail = "\n" + "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")


class SlurmCluster:
    """One single-node Slurm in ``root`` (a directory this object owns)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.log_dir = self.root / "log"
        self.conf = self.root / "etc" / "slurm.conf"
        self.dbd_conf = self.root / "etc" / "slurmdbd.conf"
        self.munge_dir = self.root / "munge"
        self.munge_socket = self.munge_dir / "munge.socket"
        self.pid_file = self.root / "pids.json"
        self.accounting = False
        self.procs: dict[str, int] = json.loads(self.pid_file.read_text()) if self.pid_file.exists() else {}
        ports_file = self.root / "ports.json"
        if ports_file.exists():
            self.ports = json.loads(ports_file.read_text())
        else:
            self.ports = {name: free_port() for name in ("slurmctld", "slurmd", "slurmdbd", "mysql")}

    @classmethod
    def create(cls, parent: str | None = None) -> "SlurmCluster":
        # Not under pytest's 0700 temporary directory: munged runs as the munge user and
        # MariaDB as mysql, and both must reach their directories.
        root = Path(tempfile.mkdtemp(prefix="smk-slurm-", dir=parent))
        root.chmod(0o755)
        cluster = cls(root)
        (root / "ports.json").write_text(json.dumps(cluster.ports))
        return cluster

    # -- environment ---------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Environment for Slurm client commands (the symlink makes SLURM_CONF optional)."""
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=_sbin_path())

    def run(self, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=check, timeout=timeout)

    # -- daemons -------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], user: str | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_dir / f"{name}.out", "ab")
        kwargs = {}
        if user is not None:
            entry = pwd.getpwnam(user)
            kwargs = dict(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=self.env, start_new_session=True, **kwargs)
        out.close()
        self.procs[name] = proc.pid
        self.pid_file.write_text(json.dumps(self.procs))

    def _alive(self, name: str) -> bool:
        pid = self.procs.get(name)
        if pid is None:
            return False
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
            if waited == pid:
                return False
        except ChildProcessError:  # not our child (the CLI's 'down'): probe it
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _check_alive(self, name: str) -> bool:
        if not self._alive(name):
            log = self.log_dir / f"{name}.out"
            text = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{name} exited during start-up:\n{text}")
        return True

    def _stop_daemon(self, name: str, timeout: float = 20) -> None:
        pid = self.procs.pop(name, None)
        self.pid_file.write_text(json.dumps(self.procs))
        if pid is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            gone = False
            while time.monotonic() < deadline:
                try:
                    waited, _ = os.waitpid(pid, os.WNOHANG)
                    if waited == pid:
                        gone = True
                        break
                except ChildProcessError:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        gone = True
                        break
                time.sleep(0.2)
            if gone:
                break

    # -- configuration -------------------------------------------------------------------
    def _write_munge(self) -> None:
        if self.munge_dir.exists():
            return
        munge = pwd.getpwnam("munge")
        self.munge_dir.mkdir(mode=0o700)
        key = self.munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        for path in (self.munge_dir, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)

    def _write_slurm_conf(self, accounting: bool) -> None:
        for sub in ("etc", "state", "spool", "log"):
            (self.root / sub).mkdir(exist_ok=True)
        root = self.root
        cpus = len(os.sched_getaffinity(0))  # what nproc says
        lines = [
            f"ClusterName={CLUSTER_NAME}",
            "SlurmctldHost=localhost(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={self.ports['slurmctld']}",
            f"SlurmdPort={self.ports['slurmd']}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            "MpiDefault=none",
            "ReturnToService=2",
            # Long enough for 'squeue' to still see finished jobs (the plugin needs
            # MinJobAge >= 3 x slurm-init-seconds-before-status-checks).
            "MinJobAge=300",
            "DefMemPerCPU=500",
            "KillWait=5",
            # Memory limits enforced by polling, without cgroups: a job using more than
            # it asked for is killed (what the failure tests rely on).
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=task=1",
            "JobAcctGatherParams=OverMemoryKill",
            "JobCompType=jobcomp/none",
        ]
        if accounting:
            lines += [
                "AccountingStorageType=accounting_storage/slurmdbd",
                "AccountingStorageHost=localhost",
                f"AccountingStoragePort={self.ports['slurmdbd']}",
                # The MUNGE socket for talking to slurmdbd (AuthInfo does not cover it).
                f"AccountingStoragePass={self.munge_socket}",
            ]
        else:
            lines.append("AccountingStorageType=accounting_storage/none")
        lines += [
            f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={node_memory_mb()} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def _write_dbd_conf(self) -> None:
        self.dbd_conf.write_text("\n".join([
            "AuthType=auth/munge",
            f"AuthInfo=socket={self.munge_socket}",
            "DbdHost=localhost",
            "DbdAddr=127.0.0.1",
            f"DbdPort={self.ports['slurmdbd']}",
            "SlurmUser=root",
            f"PidFile={self.root / 'slurmdbd.pid'}",
            f"LogFile={self.root / 'log' / 'slurmdbd.log'}",
            "StorageType=accounting_storage/mysql",
            "StorageHost=127.0.0.1",
            f"StoragePort={self.ports['mysql']}",
            "StorageUser=root",
            "StorageLoc=slurm_acct_db",
        ]) + "\n")
        self.dbd_conf.chmod(0o600)

    def _link_system_conf(self) -> None:
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        if SYSTEM_CONF.is_symlink():
            target = os.readlink(SYSTEM_CONF)
            if target != str(self.conf) and Path(target).exists():
                raise ClusterUnavailable(f"{SYSTEM_CONF} already points to {target} (another test cluster is up?)")
            SYSTEM_CONF.unlink()
        elif SYSTEM_CONF.exists():
            raise ClusterUnavailable(f"{SYSTEM_CONF} is a real file: a Slurm is configured here; not touching it")
        SYSTEM_CONF.symlink_to(self.conf)

    def _unlink_system_conf(self) -> None:
        if SYSTEM_CONF.is_symlink() and os.readlink(SYSTEM_CONF) == str(self.conf):
            SYSTEM_CONF.unlink()

    # -- start and stop ------------------------------------------------------------------
    def start(self, accounting: bool = False, timeout: float = 120) -> None:
        """Bring the cluster up (or restart Slurm with the other accounting setting)."""
        if self._alive("slurmctld") or self._alive("slurmd"):
            self._stop_slurm()
        self.accounting = accounting
        self._write_munge()
        self._link_system_conf()
        if not self._alive("munged"):
            self._spawn("munged", [
                "munged", "--foreground", "--force",
                f"--key-file={self.munge_dir / 'munge.key'}",
                f"--socket={self.munge_socket}",
                f"--pid-file={self.munge_dir / 'munged.pid'}",
                f"--log-file={self.munge_dir / 'munged.log'}",
                f"--seed-file={self.munge_dir / 'munged.seed'}",
            ], user="munge")
            _wait_for(lambda: self._check_alive("munged") and self.munge_socket.exists(), 30, "munged")
        self._write_slurm_conf(accounting)
        if accounting:
            self._start_accounting(timeout)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        _wait_for(lambda: self._check_alive("slurmctld") and self.run("scontrol", "ping", check=False).returncode == 0,
                  timeout, "slurmctld", log_file=self.log_dir / "slurmctld.log")
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
        _wait_for(lambda: self._check_alive("slurmd") and self.node_state() == "idle", timeout,
                  "the node to become idle in sinfo", log_file=self.log_dir / "slurmd.log")

    def _start_accounting(self, timeout: float) -> None:
        mysql_dir = self.root / "mysql"
        if not self._alive("mariadbd"):
            if not mysql_dir.exists():
                mysql_dir.mkdir()
                shutil.chown(mysql_dir, "mysql", "mysql")
                proc = subprocess.run(["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={mysql_dir / 'data'}",
                                       "--skip-test-db", "--auth-root-authentication-method=normal"],
                                      capture_output=True, text=True, timeout=300)
                if proc.returncode != 0:
                    raise RuntimeError(f"mariadb-install-db failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            # Loopback only, and no grant tables: nothing but this test reaches it.
            self._spawn("mariadbd", [
                "mariadbd", "--no-defaults", "--user=mysql", f"--datadir={mysql_dir / 'data'}",
                f"--socket={mysql_dir / 'mysqld.sock'}", f"--pid-file={mysql_dir / 'mysqld.pid'}",
                f"--port={self.ports['mysql']}", "--bind-address=127.0.0.1", "--skip-grant-tables",
                "--skip-name-resolve", f"--log-error={self.log_dir / 'mariadbd.log'}",
                "--innodb-buffer-pool-size=64M", "--innodb-lock-wait-timeout=900",
            ])

            def mysql_up():
                self._check_alive("mariadbd")
                with socket.socket() as sock:
                    return sock.connect_ex(("127.0.0.1", self.ports["mysql"])) == 0

            _wait_for(mysql_up, timeout, "mariadbd", log_file=self.log_dir / "mariadbd.log")
        if not self._alive("slurmdbd"):
            self._write_dbd_conf()
            self._spawn("slurmdbd", ["slurmdbd", "-D"])

            def dbd_up():
                self._check_alive("slurmdbd")
                return self.run("sacctmgr", "-n", "list", "cluster", check=False).returncode == 0

            _wait_for(dbd_up, timeout, "slurmdbd", log_file=self.log_dir / "slurmdbd.log")
            listed = self.run("sacctmgr", "-n", "-P", "list", "cluster", "format=cluster").stdout.split()
            if CLUSTER_NAME not in listed:
                self.run("sacctmgr", "-i", "add", "cluster", CLUSTER_NAME)

    def node_state(self) -> str:
        proc = self.run("sinfo", "-h", "-N", "-o", "%t", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def _cancel_all_jobs(self, timeout: float = 30) -> None:
        if not self._alive("slurmctld"):
            return
        self.run("scancel", "--user", pwd.getpwuid(os.geteuid()).pw_name, check=False)

        def no_jobs():
            proc = self.run("squeue", "-h", "-t", "PD,R,CG,CF,S", "-o", "%i", check=False)
            return proc.returncode != 0 or not proc.stdout.strip()

        try:
            _wait_for(no_jobs, timeout, "cancelled jobs to end")
        except RuntimeError as exc:
            print(f"warning: {exc}", file=sys.stderr)

    def _stop_slurm(self) -> None:
        self._cancel_all_jobs()
        self._stop_daemon("slurmd")
        self._stop_daemon("slurmctld")

    def stop(self, remove: bool = True) -> None:
        """Cancel every job, stop every daemon this cluster started (by pid), clean up."""
        self._stop_slurm()
        for name in ("slurmdbd", "mariadbd", "munged"):
            self._stop_daemon(name)
        for name, pid in list(self.procs.items()):  # anything else we started
            self._stop_daemon(name)
        self._unlink_system_conf()
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def logs(self, lines: int = 40) -> str:
        """The tail of every daemon log, for assertion messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"== {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install the packages if missing, start the daemons, print the directory")
    up.add_argument("--accounting", action="store_true", help="also MariaDB and slurmdbd (sacct works)")
    up.add_argument("--dir", help="an existing directory from an earlier 'up' (restart Slurm in it)")
    down = sub.add_parser("down", help="stop every daemon started in DIR (by pid) and remove DIR")
    down.add_argument("--dir", required=True)
    down.add_argument("--keep", action="store_true", help="keep the directory (logs)")
    args = parser.parse_args(argv)
    if args.command == "up":
        ensure_packages(args.accounting)
        cluster = SlurmCluster(Path(args.dir)) if args.dir else SlurmCluster.create()
        try:
            cluster.start(accounting=args.accounting)
        except Exception:
            print(cluster.logs(), file=sys.stderr)
            cluster.stop(remove=False)
            raise
        print(cluster.root)
    else:
        SlurmCluster(Path(args.dir)).stop(remove=not args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
