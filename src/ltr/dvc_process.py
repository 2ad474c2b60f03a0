"""The `dvc` process that started this stage, and a watch on it.

DVC starts a stage's command through a shell: $SHELL when it is set, else /bin/sh. bash execs a lone
command, so the stage's parent is `dvc`; dash (Debian's /bin/sh, what DVC gets where SHELL is unset,
as under CI) does not, so a shell sits between them. Both the check that params.yaml did not change
under a running experiment and the rule that a stage ends with its `dvc` need the `dvc` process
itself, not whatever the parent happens to be. Linux reads /proc; elsewhere the parent is taken.
"""

import os
import signal
import threading
import time
from pathlib import Path

SHELLS = {"sh", "dash", "bash", "zsh", "fish", "ksh", "mksh"}


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])  # the name, in brackets, may hold spaces


def _name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def dvc_process() -> int:
    """The nearest ancestor that is not a shell: the `dvc` process under DVC."""
    pid = os.getppid()
    try:
        while pid > 1 and _name(pid) in SHELLS:
            pid = _parent(pid)
    except (OSError, ValueError, IndexError):
        return os.getppid()
    return pid if pid > 1 else os.getppid()


def sigterm_when_dvc_ends(poll_s: float = 0.2) -> bool:
    """When a shell sits between `dvc` and this process, the kernel's parent-death signal cannot see
    `dvc` end: a daemon thread watches the shell's parent instead and sends this process SIGTERM once
    `dvc` is gone. Returns whether a watch was needed (False: the parent is `dvc` itself)."""
    shell, dvc = os.getppid(), dvc_process()
    if dvc == shell:
        return False
    chain = [os.getpid(), shell]
    while chain[-1] != dvc:  # the shells between, each re-parented when the one above ends
        chain.append(_parent(chain[-1]))

    def watch():
        while True:
            try:
                if _parent(chain[-2]) != dvc:
                    break
            except (OSError, ValueError, IndexError):
                break
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="dvc-watch", daemon=True).start()
    return True
