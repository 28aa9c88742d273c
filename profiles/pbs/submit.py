#!/usr/bin/env python3
"""Submit a Snakemake job script; print the scheduler's job id.  Usage: submit.py JOBSCRIPT (pbs profile; see pbs.py)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the profile directory clean
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from pbs import main  # noqa: E402

sys.exit(main("submit", sys.argv[1:]))
