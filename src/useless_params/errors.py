"""The one exception type the workflow reports as a clean one-line error, and how values appear in it."""

import reprlib

# Values inside the one-line messages are shortened: a 100-value grid or a 20,000-character
# name stays one readable line.
class _ShortRepr(reprlib.Repr):
    def repr_int(self, value, level):
        # 10**300 (what 1e300 becomes as an integer key) as 1e+300, not 301 digits cut in half.
        return f"{value:.6g}" if abs(value) >= 10**16 else repr(value)


_REPR = _ShortRepr()
_REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 8, 4, 60, 60


class InputError(Exception):
    """Bad input: a config value, a damaged file or a checksum mismatch.

    The message names the offending key or file; rule scripts print it on one
    line and exit non-zero instead of showing a traceback.
    """


# How to recover from a damaged intermediate file: every reader's message ends with it.
REBUILD = "delete it and rerun snakemake to rebuild it"


def shown(value) -> str:
    """``repr(value)`` shortened for a one-line message ('aaaa...aaaa' past 60 characters)."""
    if value is None:
        return "nothing (an empty YAML value)"
    return _REPR.repr(value)
