"""The glue every rule script shares: logging, thread limits and clean errors.

Imports nothing heavy, so thread limits are set before numpy or TensorFlow load. That is
why every rule script imports numpy, pandas and the package's numerical modules inside
its ``main()`` and not at the top: moved to the top, they would load OpenBLAS with one
thread per core before ``run_rule`` limits it to the rule's ``threads``, and parallel
jobs would oversubscribe the cores.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# TensorFlow's C++ start-up chatter. TF_CPP_MIN_LOG_LEVEL=1 hides its INFO lines only after
# absl's logging is initialised; the ones before (the oneDNN notice, "Could not find cuda
# drivers", the "All log messages before absl::InitializeLog()" preamble) bypass it (an absl
# limitation: abseil-cpp PR 1957), so the finished log drops absl-format INFO lines and the
# cuInit failure that only says "no GPU here". Warnings and other errors stay.
_ABSL_INFO = re.compile(r"^I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] ")
_NO_GPU = re.compile(r"^E\d{4} [\d:. ]+\d+ cuda_platform\.cc:\d+\] failed call to cuInit: ")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def is_tensorflow_chatter(line: str) -> bool:
    """A start-up line of TensorFlow's C++ runtime that says nothing about the job."""
    return line.rstrip("\n") == _ABSL_PREAMBLE or bool(_ABSL_INFO.match(line)) or bool(_NO_GPU.match(line))


def _drop_tensorflow_chatter(fd: int, path: str) -> None:
    """Rewrite the finished log at ``path`` (open on ``fd``, shared by stdout and stderr) without
    TensorFlow's start-up chatter."""
    with open(path, errors="replace") as handle:
        lines = handle.readlines()
    kept = [line for line in lines if not is_tensorflow_chatter(line)]
    if len(kept) != len(lines):
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)  # the offset stdout and stderr share
        data = memoryview("".join(kept).encode())
        while data:
            data = data[os.write(fd, data):]


def run_rule(smk, main: Callable) -> None:
    """Run ``main(smk)`` with stdout/stderr (also of C libraries) sent to the rule's log.

    Bad input (``InputError``) ends in one line naming the key or file, on the job's
    stderr and in the log, and exit status 1.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(smk.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's INFO lines, before it loads
    terminal = os.fdopen(os.dup(2), "w")
    if smk.log:
        log = open(smk.log[0], "w")
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    from .errors import InputError

    try:
        main(smk)
    except KeyboardInterrupt:
        print(f"interrupted: rule {smk.rule} stopped before finishing", file=sys.stderr, flush=True)
        sys.exit(130)
    except InputError as exc:
        message = f"error: {exc}"
        print(message, file=sys.stderr, flush=True)
        print(message, file=terminal, flush=True)
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        print(f"error: rule {smk.rule} failed; see {smk.log[0] if smk.log else 'the output above'}",
              file=terminal, flush=True)
        sys.exit(1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if smk.log:
            _drop_tensorflow_chatter(log.fileno(), smk.log[0])
