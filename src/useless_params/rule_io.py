"""The glue every rule script shares: logging, thread limits and clean errors.

Imports nothing heavy, so thread limits are set before numpy or TensorFlow load. That is
why every rule script imports numpy, pandas and the package's numerical modules inside
its ``main()`` and not at the top: moved to the top, they would load OpenBLAS with one
thread per core before ``run_rule`` limits it to the rule's ``threads``, and parallel
jobs would oversubscribe the cores.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_rule(smk, main: Callable) -> None:
    """Run ``main(smk)`` with stdout/stderr (also of C libraries) sent to the rule's log.

    Bad input (``InputError``) ends in one line naming the key or file, on the job's
    stderr and in the log, and exit status 1.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(smk.threads)
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
