"""How every stage script runs: a user error, Ctrl-C, SIGTERM or a full disk becomes one line on
stderr (what happened, what was kept, how to continue) and a non-zero exit status, never a traceback.

Torch-free, so that stages that need no torch (and the training stages of methods that do not train
there) start and finish in a fraction of a second.
"""

import ctypes
import errno
import os
import signal
import sys
from collections.abc import Callable

from ltr.dvc_process import sigterm_when_dvc_ends
from ltr.errors import LtrError
from ltr.layout import is_main_process, what_was_kept

FULL_DISK = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # EFBIG: a file-size limit (`ulimit -f`)


class Terminated(BaseException):
    """SIGTERM, raised where the stage is, so that it unwinds like Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated


def _die_with_dvc() -> None:
    """Under DVC, receive SIGTERM when the `dvc` process that started the stage dies (e.g. it was
    sent SIGTERM itself), rather than go on as an orphan that later writes its outputs beside a new
    run; where a shell sits between them (DVC's /bin/sh), a watch on `dvc` does the same. Linux only;
    elsewhere a no-op."""
    if "DVC_STAGE" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent was gone before prctl took effect
        raise Terminated
    sigterm_when_dvc_ends()


def _stop(line: str, status: int) -> None:
    where = "" if is_main_process() else " (another process)"
    print(f"error{where}: {line}", file=sys.stderr, flush=True)
    sys.exit(status)


def run_stage(main: Callable[[], None]) -> None:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        _die_with_dvc()
        main()
    except LtrError as e:
        # an error raised in a DataLoader worker arrives wrapped in its traceback: keep its own line
        _stop(str(e).strip().splitlines()[-1].removeprefix(f"{LtrError.__module__}.LtrError: "), 2)
    except KeyboardInterrupt:
        _stop(f"interrupted (Ctrl-C); {what_was_kept()}", 130)
    except Terminated:
        _stop(f"stopped by SIGTERM; {what_was_kept()}", 143)
    except OSError as e:
        if e.errno not in FULL_DISK:
            raise
        _stop(f"cannot write {e.filename or 'an output'} ({os.strerror(e.errno)}); {what_was_kept()}", 2)
    finally:
        signal.signal(signal.SIGTERM, previous)
