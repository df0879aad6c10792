"""Process lifetime: helpers so that no worker outlives the process that started it."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux prctl PR_SET_PDEATHSIG).

    A SIGKILLed driver cannot clean up, so its workers must be told by the kernel; without this they are
    re-parented to init and keep committing work after the run's lock is gone. No-op off Linux."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        return
    # The parent may have died between fork and prctl: then the signal would never come.
    if os.getppid() == 1:
        os.kill(os.getpid(), sig)
