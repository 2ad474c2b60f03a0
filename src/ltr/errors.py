"""User-facing errors: a bad param, a malformed input file, a missing input.

Stage entry points print them as one line and exit with status 2; anything else is a bug and keeps
its traceback.
"""


class LtrError(Exception):
    """An error the user can fix; its message names the bad value and what is allowed."""
