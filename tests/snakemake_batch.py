"""Run many ``snakemake`` command lines fast: import Snakemake once, fork one child per command line.

``python -m snakemake ARGS`` is ``snakemake.cli.main(ARGS)`` in a fresh interpreter; most
of its second goes into importing Snakemake. Here each child is a fork of a process that
has imported Snakemake but run nothing, so it behaves like a fresh ``python -m snakemake``:
its own stdout, stderr and exit status, none of its state shared with the others.

Usage: ``python snakemake_batch.py SPEC.json`` where SPEC is a list of
``{"argv": [...], "stdout": path, "stderr": path}``; prints the exit statuses as a JSON list.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def run_child(argv: list[str], stdout: str, stderr: str) -> int:
    from snakemake.cli import main

    for fd, path in ((1, stdout), (2, stderr)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    try:
        main(argv)  # always ends in sys.exit
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # what the interpreter does with sys.exit("text")
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def main(spec_path: str) -> None:
    import snakemake.cli  # noqa: F401 (the import every child shares)

    with open(spec_path) as handle:
        jobs = json.load(handle)
    statuses = []
    for job in jobs:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = run_child(job["argv"], job["stdout"], job["stderr"])
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        statuses.append(os.waitstatus_to_exitcode(status))
    json.dump(statuses, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
