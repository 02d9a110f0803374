"""The runtime must not outlive the Engine that started it (a stray process holds VRAM).

Two guards: the parent-death signal (Linux; it fires when the creating thread
exits, and never if the parent is already gone), and a thread that polls the
parent pid, which catches every other case.

Test switch (documented here, never set in normal use):

HEADROOM_FAULT_OUTLIVE_PARENT=1   no parent watch at all, and a non-daemon thread keeps
                                  the process alive after its stdin closes, as a runtime
                                  wedged in a driver call would: it outlives its Engine
                                  until killed (the GPU monitor's orphan tests).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
FAULT_OUTLIVE_PARENT = "HEADROOM_FAULT_OUTLIVE_PARENT"


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the polling thread still guards


def watch_parent(expected_parent: int | None = None, interval: float = 0.25) -> None:
    """Exit at once when the parent process is gone."""
    if os.environ.get(FAULT_OUTLIVE_PARENT) == "1":
        sys.stderr.write(f"headroom runtime {os.getpid()}: {FAULT_OUTLIVE_PARENT}=1: outliving its parent\n")
        threading.Thread(target=lambda: time.sleep(10**9), name="outlive-parent", daemon=False).start()
        return
    parent = expected_parent if expected_parent is not None else os.getppid()
    _set_parent_death_signal()

    def loop() -> None:
        while True:
            if os.getppid() != parent:
                sys.stderr.write(f"headroom runtime {os.getpid()}: parent {parent} is gone, exiting\n")
                sys.stderr.flush()
                os._exit(70)
            time.sleep(interval)

    if os.getppid() != parent:  # already orphaned before we looked
        os._exit(70)
    threading.Thread(target=loop, name="parent-watch", daemon=True).start()
