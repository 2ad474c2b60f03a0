"""How every stage script runs: a user error, Ctrl-C, SIGTERM or a full disk becomes one line on
stderr (what happened, what was kept, how to continue) and a non-zero exit status, never a traceback.

Torch-free, so that stages that need no torch (and the training stages of methods that do not train
there) start and finish in a fraction of a second.
"""

import ctypes
import errno
import os
import platform
import signal
import sys
from collections.abc import Callable

from ltr.dvc_process import sigterm_when_dvc_ends
from ltr.errors import LtrError
from ltr.layout import is_main_process, what_was_kept

FULL_DISK = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # EFBIG: a file-size limit (`ulimit -f`)
# Each of torch's three CPU back-ends picks its kernels (and with them the order a sum adds its terms
# in) by the instruction set of the CPU it finds: ATen's vector code, oneDNN's convolutions and MKL's
# matrix products. Held at AVX2, which every x86-64 CPU of the last ten years has, an AVX-512 machine
# runs the kernels an AVX2 one runs (oneDNN may still block them by cache size). Set before torch
# loads; a value already in the environment wins. docs/reproducibility.md: what it costs, what still
# differs across CPUs
CPU_ISA_PINS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}


class Terminated(BaseException):
    """SIGTERM, raised where the stage is, so that it unwinds like Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated


def _has_avx2() -> bool:
    """Linux x86-64 with AVX2; elsewhere False (torch would fault on AVX2 kernels the CPU lacks)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:
        return False


def pin_cpu_isa() -> None:
    if _has_avx2():
        for name, value in CPU_ISA_PINS.items():
            os.environ.setdefault(name, value)


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
    pin_cpu_isa()
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
