"""The one stage-running path: a child process per worker that holds the run's stages and runs batches through
them under a time and memory budget per document.

Crawled input is hostile: a regex can backtrack for hours, a parser can go quadratic on deep nesting, a library can
crash the interpreter or allocate gigabytes. None of that can be interrupted from inside the process that runs it
(C code ignores Python signals), so the stages run in a child the worker can watch and kill:

- a batch gets ``doc_timeout_s + n * BATCH_SLACK_S`` of the child's CPU time (wall time 3x that as a backstop) and
  ``memory_mb`` of resident memory; the child reports which stage it is in;
- when a batch overruns, crashes or outgrows the budget, the child is killed and started again, and the batch is
  replayed one document at a time, each with ``doc_timeout_s``: only the documents that overrun again are
  quarantined (``error:timeout``, ``error:memory-limit``, ``error:worker-crash``), the others come out exactly as
  they would have in the batch (stages are per-document; the batched ones give the same verdicts for a batch of
  one).

CPU time rather than wall time decides, so a loaded machine does not quarantine a document that an idle one keeps.
The child is a fresh interpreter (``python -m sovereign.pipeline.sandbox``), not a fork or a multiprocessing spawn:
Spark and Ray worker processes run threads and have their own ``__main__``, and neither survives a fork or
re-import well.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sovereign.pipeline.errors import SovereignError
from sovereign.pipeline.schema import STATUS_QUARANTINED
from sovereign.stages.base import StageError, decision_row

BATCH_SLACK_S = 0.25  # CPU seconds per document a batch may take on top of one document's budget
WALL_FACTOR = 3.0  # wall-clock backstop, for a child that blocks without using CPU
POLL_S = 0.05
START_TIMEOUT_S = 300.0  # loading models on a cold, busy node
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# The reasons of documents the sandbox quarantines (docs/evidence.md); the stage that ran is in the evidence.
REASONS: dict[str, str] = {
    "error:timeout": "the stages took more than the per-document CPU budget (executor.doc_timeout_s) on it",
    "error:memory-limit": "the stage process grew past executor.memory_mb on it",
    "error:worker-crash": "the stage process died on it (a crash in native code, a signal)",
}


class SandboxError(StageError):
    """The sandbox cannot run at all (the stages do not load, the budget is below what they need)."""


@dataclass
class _Overrun:
    reason: str  # error:timeout | error:memory-limit | error:worker-crash
    evidence: dict[str, Any]


# --- framing: pickles over pipes (the child is our own code, started by us) ------------------------------------
# A frame is a header (pickle length, buffer count, buffer lengths), the pickle, then its out-of-band buffers
# (pickle protocol 5): Arrow columns go through the pipe straight from and into their own memory, one copy each way.
# Through in-band pickles a batch's HTML was copied four times per direction (~13% of the stages' own time).

_HEAD = struct.Struct(">QI")
_LEN = struct.Struct(">Q")


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _write_frame(fd: int, obj: Any) -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    head = _HEAD.pack(len(data), len(raws)) + b"".join(_LEN.pack(r.nbytes) for r in raws)
    for part in (head, data, *raws):
        _write_all(fd, memoryview(part).cast("B"))


def _read_into(fd: int, n: int) -> bytearray:
    out = bytearray(n)
    view = memoryview(out)
    while view:
        got = os.readv(fd, [view])
        if not got:
            raise EOFError
        view = view[got:]
    return out


def _read_frame(fd: int) -> Any:
    size, count = _HEAD.unpack(_read_into(fd, _HEAD.size))
    lengths = [_LEN.unpack(_read_into(fd, _LEN.size))[0] for _ in range(count)] if count else []
    data = _read_into(fd, size)
    return pickle.loads(data, buffers=[_read_into(fd, n) for n in lengths])


def _poll_frame(fd: int, timeout: float) -> Any | None:
    """The child's next frame if one starts within ``timeout`` seconds, else None (EOFError when the child is gone),
    so the parent can watch the clock and the child's memory meanwhile. A frame that has begun is read whole: the
    child writes it in one go after its work is done."""
    ready, _, _ = select.select([fd], [], [], timeout)
    return _read_frame(fd) if ready else None


# --- the child's resources as the parent sees them -------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / (1 << 20)
    except (OSError, IndexError, ValueError):
        return 0.0


def strip_url(url: str) -> str:
    """scheme://host/path of a URL: what is left when its query, fragment or userinfo could not be checked."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return ""


# --- the parent side ---------------------------------------------------------------------------------------------


class StageSandbox:
    """Runs batches through the run's stages in a child process, within the per-document budget."""

    def __init__(self, run_uri: str, config_json: str, doc_timeout_s: float, memory_mb: int) -> None:
        self.run_uri = run_uri
        self.config_json = config_json
        self.doc_timeout_s = doc_timeout_s
        self.memory_mb = memory_mb
        self.schema: pa.Schema | None = None  # columns a work unit keeps (stage_runner.unit_schema), from the child
        self.scrubs_urls = False  # a stage of the run (pii) can scrub URLs
        self._proc: subprocess.Popen[bytes] | None = None
        self._to_child = -1
        self._from_child = -1

    # lifecycle
    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)  # the child imports sovereign as this interpreter does (installed, or editable)
        self._proc = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
            [sys.executable, "-m", "sovereign.pipeline.sandbox", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # stages never print data; keep the protocol pipes clean
            env=env,
            start_new_session=False,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._to_child = to_child_w
        self._from_child = from_child_r
        _write_frame(self._to_child, ("setup", self.run_uri, self.config_json))
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                msg = _poll_frame(self._from_child, POLL_S * 4)
            except EOFError:
                code = self._proc.wait()
                self._close()
                raise SandboxError(f"the stage process exited while loading the stages (exit code {code})") from None
            if msg is not None:
                break
            if time.monotonic() > deadline:
                self._kill()
                raise SandboxError(f"the stages did not load within {START_TIMEOUT_S:.0f} s")
        if msg[0] == "fatal":
            self._kill()
            raise SandboxError(msg[1])
        _, self.schema, rss, self.scrubs_urls = msg
        if rss > 0.75 * self.memory_mb:
            self._kill()
            raise SandboxError(
                f"the stages need {rss:.0f} MB once loaded; executor.memory_mb={self.memory_mb} leaves too little "
                f"room for documents (set it to at least {int(rss / 0.75) + 1})"
            )

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._close()

    def _close(self) -> None:
        if self._to_child >= 0:
            os.close(self._to_child)
            self._to_child = -1
        if self._from_child >= 0:
            os.close(self._from_child)
            self._from_child = -1
        self._proc = None

    def close(self) -> None:
        if self._alive() and self._to_child >= 0:
            try:
                _write_frame(self._to_child, ("exit",))
                self._proc.wait(timeout=5)  # type: ignore[union-attr]
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()

    def unit_schema(self) -> pa.Schema:
        """The unit schema of the run's stages, as the child built them (the parent never imports the stages'
        heavy modules)."""
        if not self._alive():
            self._start()
        assert self.schema is not None
        return self.schema

    # running
    def _attempt(self, request: pa.Table | tuple[str, Any], budget_s: float) -> tuple[Any, _Overrun | None]:
        """Send one batch (or another request); (result, None) or (None, overrun) with the child killed."""
        if not self._alive():
            self._start()
        assert self._proc is not None
        pid = self._proc.pid
        cpu0 = _cpu_seconds(pid)
        wall0 = time.monotonic()
        stage = None
        try:
            _write_frame(self._to_child, request if isinstance(request, tuple) else ("batch", request))
            while True:
                msg = _poll_frame(self._from_child, POLL_S)
                if msg is not None:
                    if msg[0] == "stage":
                        stage = msg[1]
                        continue
                    if msg[0] == "result":
                        return msg[1:], None
                    if msg[0] == "fatal":  # a stage broke outside any document (e.g. lost its model)
                        self._kill()
                        raise SandboxError(msg[1])
                cpu = _cpu_seconds(pid) - cpu0
                wall = time.monotonic() - wall0
                if cpu > budget_s or wall > WALL_FACTOR * budget_s:
                    self._kill()
                    return None, _Overrun(
                        "error:timeout", {"error": "timeout", "limit_s": round(budget_s, 3), "stage": stage}
                    )
                rss = _rss_mb(pid)
                if rss > self.memory_mb:
                    self._kill()
                    return None, _Overrun(
                        "error:memory-limit", {"error": "memory-limit", "limit_mb": self.memory_mb, "stage": stage}
                    )
        except (EOFError, BrokenPipeError):
            code = self._proc.wait() if self._proc is not None else None
            self._close()
            died = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return None, _Overrun("error:worker-crash", {"error": "worker-crash", "exit": died, "stage": stage})

    def run(self, table: pa.Table) -> tuple[pa.Table, list[dict[str, Any]], Counter]:
        """(kept documents, decision rows, seconds per stage) for one batch."""
        budget = self.doc_timeout_s + BATCH_SLACK_S * table.num_rows
        result, overrun = self._attempt(table, budget)
        if overrun is None:
            kept, decisions, seconds = result
            return kept, decisions, seconds
        if table.num_rows == 1:
            return self._quarantined(table, overrun)
        # Replay one document at a time: only the ones that overrun on their own are quarantined.
        kept_parts: list[pa.Table] = []
        decisions: list[dict[str, Any]] = []
        seconds: Counter = Counter()
        for i in range(table.num_rows):
            one = table.slice(i, 1)
            result, overrun = self._attempt(one, self.doc_timeout_s)
            if overrun is not None:
                k, d, _ = self._quarantined(one, overrun)
                decisions.extend(d)
                continue
            k, d, s = result
            if k.num_rows:
                kept_parts.append(k)
            decisions.extend(d)
            seconds.update(s)
        if kept_parts:
            kept = pa.concat_tables(kept_parts, promote_options="permissive")
        else:
            kept = table.slice(0, 0)
        return kept, decisions, seconds

    def scrub_urls(self, urls: list[str]) -> list[str]:
        """URLs with personal data replaced by the run's pii stage (identity when the run has none): the manifest
        rows of documents dropped before that stage carry their URL too. Over budget or crashed, the URLs lose
        their query, fragment and userinfo instead (fail closed)."""
        if not self._alive():
            self._start()
        if not urls or not self.scrubs_urls:
            return urls
        result, overrun = self._attempt(("urls", urls), self.doc_timeout_s + BATCH_SLACK_S * len(urls))
        if overrun is not None:
            return [strip_url(u) for u in urls]
        return result[0]

    def _quarantined(self, one: pa.Table, overrun: _Overrun) -> tuple[pa.Table, list[dict[str, Any]], Counter]:
        doc = one.select([c for c in one.column_names if c != "_raw"]).to_pylist()[0]
        stage = overrun.evidence.get("stage") or "sandbox"
        row = decision_row(doc, stage, overrun.reason, overrun.evidence, STATUS_QUARANTINED)
        return one.slice(0, 0), [row], Counter()


_SANDBOXES: dict[tuple[str, str], StageSandbox] = {}


def sandbox_for(run_uri: str, config_json: str, doc_timeout_s: float, memory_mb: int) -> StageSandbox:
    """One sandbox per worker process and run config (its child keeps the loaded models between tasks)."""
    key = (run_uri, config_json)
    if key not in _SANDBOXES:
        for old in _SANDBOXES.values():
            old.close()
        _SANDBOXES.clear()
        _SANDBOXES[key] = StageSandbox(run_uri, config_json, doc_timeout_s, memory_mb)
    return _SANDBOXES[key]


@atexit.register
def close_all() -> None:
    """Stop this process's stage children (the driver calls it after the map phase when it ran units inline)."""
    for box in _SANDBOXES.values():
        box.close()
    _SANDBOXES.clear()


# --- the child ---------------------------------------------------------------------------------------------------


def _child(read_fd: int, write_fd: int) -> None:
    from sovereign.pipeline.procs import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from sovereign.pipeline.stage_runner import run_batch, unit_schema

    msg = _read_frame(read_fd)
    if msg[0] != "setup":
        return
    _, run_uri, config_json = msg
    try:
        from sovereign.pipeline.stage_runner import run_stages

        stages = run_stages(run_uri, config_json)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        _write_frame(write_fd, ("fatal", f"cannot set up the stages: {type(exc).__name__}: {exc}"[:500]))
        return
    scrubs = any(hasattr(s, "scrub_urls") for s in stages)
    schema = unit_schema(stages)
    _write_frame(write_fd, ("ready", schema, _rss_mb(os.getpid()), scrubs))
    while True:
        try:
            msg = _read_frame(read_fd)
        except EOFError:
            return
        if msg[0] == "urls":
            scrub = next((s.scrub_urls for s in stages if hasattr(s, "scrub_urls")), None)
            try:
                urls = scrub(msg[1]) if scrub else msg[1]
            except Exception:  # noqa: BLE001 - a detector that did not finish: keep only what needs no check
                urls = [strip_url(u) for u in msg[1]]
            _write_frame(write_fd, ("result", urls))
            continue
        if msg[0] != "batch":
            return
        try:
            out = run_batch(stages, msg[1], on_stage=lambda name: _write_frame(write_fd, ("stage", name)))
        except Exception as exc:  # noqa: BLE001 - _run_stage isolates documents; this is a broken stage
            where = traceback.extract_tb(exc.__traceback__)[-1]
            _write_frame(
                write_fd,
                (
                    "fatal",
                    f"stage failed outside any document: {type(exc).__name__} at "
                    f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}"
                    + (f": {str(exc)[:300]}" if isinstance(exc, SovereignError) else ""),  # its message is safe
                ),
            )
            return
        # Only the unit's columns go back: the HTML (_raw) and headers stay here.
        kept = out.kept.select([c for c in out.kept.column_names if c in schema.names])
        _write_frame(write_fd, ("result", kept, out.decisions, out.seconds))


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
