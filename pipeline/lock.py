"""One live run per output: a second run into an output that another live run holds refuses.

Local disk: an exclusive flock on <run>/.lock, released by the kernel when the holder dies (even by SIGKILL), so a
killed run never leaves a stale lock. S3: a lease object refreshed by a heartbeat; a lease older than its TTL is
taken over (the holder died), and so is one whose holder ran on this host and whose process is gone (a driver
killed by SIGKILL is resumed at once, not after the TTL).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any

from sovereign.pipeline.errors import SovereignError
from sovereign.pipeline.storage import Store

LEASE_TTL_S = 120.0


class RunLocked(SovereignError):
    pass


class RunLock:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._fh: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunLock:
        if self.store.local:
            self._acquire_local()
        else:
            self._acquire_lease()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _owner(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}

    def _acquire_local(self) -> None:
        import fcntl

        path = self.store.local_path(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")  # noqa: SIM115 - held for the run's lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            who = ""
            try:
                info = json.loads(holder)
                who = f" (pid {info['pid']} on {info['host']})"
            except (ValueError, KeyError):
                pass
            raise RunLocked(
                f"{self.store.root_uri} is in use by another live run{who}; wait for it or choose another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(self._owner()))
        fh.flush()
        self._fh = fh

    def _acquire_lease(self) -> None:
        if self.store.exists(".lock"):
            try:
                info = json.loads(self.store.read_bytes(".lock"))
                age = time.time() - float(info.get("heartbeat", 0))
            except (ValueError, OSError, AttributeError):
                info, age = {}, LEASE_TTL_S + 1
            if age < LEASE_TTL_S and not _holder_gone(info):
                raise RunLocked(
                    f"{self.store.root_uri} is in use by another live run (lease renewed {age:.0f}s ago); "
                    "wait for it or choose another --out"
                )
        self._write_lease()
        self._thread = threading.Thread(target=self._heartbeat, daemon=True)
        self._thread.start()

    def _write_lease(self) -> None:
        self.store.write_bytes(".lock", json.dumps({**self._owner(), "heartbeat": time.time()}).encode())

    def _heartbeat(self) -> None:
        while not self._stop.wait(LEASE_TTL_S / 4):
            self._write_lease()

    def release(self) -> None:
        self._stop.set()
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None
        elif self._thread is not None:
            try:
                self.store.fs.delete_file(self.store.path(".lock"))
            except OSError:
                pass


def _holder_gone(info: dict[str, Any]) -> bool:
    """The lease was taken on this host by a process that no longer exists. A pid can be reused, so a live pid
    counts as the holder (the lease then waits out its TTL); only a pid that is gone frees the lease early."""
    if info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
        return False
    if info["pid"] == os.getpid():
        return False
    try:
        os.kill(info["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
