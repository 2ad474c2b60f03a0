"""How every stage script runs: a user error becomes one line on stderr and exit status 2.

Torch-free, so that stages that need no torch (and the training stages of methods that do not train
there) start and finish in a fraction of a second.
"""

import sys
from collections.abc import Callable

from ltr.errors import LtrError
from ltr.layout import is_main_process


def run_stage(main: Callable[[], None]) -> None:
    try:
        main()
    except LtrError as e:
        # an error raised in a DataLoader worker arrives wrapped in its traceback: keep its own line
        message = str(e).strip().splitlines()[-1].removeprefix(f"{LtrError.__module__}.LtrError: ")
        where = "" if is_main_process() else " (another process)"
        print(f"error{where}: {message}", file=sys.stderr)
        sys.exit(2)
