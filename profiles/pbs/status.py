#!/usr/bin/env python3
"""Print running, success or failed for one job id.  Usage: status.py JOBID (pbs profile; see pbs.py)."""

import os
import sys

sys.dont_write_bytecode = True  # keep the profile directory clean
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from pbs import main  # noqa: E402

sys.exit(main("status", sys.argv[1:]))
