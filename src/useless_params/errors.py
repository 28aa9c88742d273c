"""The one exception type the workflow reports as a clean one-line error."""


class InputError(Exception):
    """Bad input: a config value, a damaged file or a checksum mismatch.

    The message names the offending key or file; rule scripts print it on one
    line and exit non-zero instead of showing a traceback.
    """


# How to recover from a damaged intermediate file: every reader's message ends with it.
REBUILD = "delete it and rerun snakemake to rebuild it"
