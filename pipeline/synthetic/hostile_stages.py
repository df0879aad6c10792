"""Stages that misbehave on marked documents the way real detectors do on hostile input: spin in Python, stall
in C (a backtracking regex ignores signals), allocate without bound, crash the interpreter, recurse.

Configs name them as ``sovereign.pipeline.synthetic.hostile_stages:Misbehave``; the marker decides what a document
does, so one batch can mix innocent and hostile documents. Tests and bench/hostile.py use them to check the stage
sandbox.
"""

from __future__ import annotations

import ctypes
import os
import re
import time
from typing import Any, ClassVar

from sovereign.stages.base import DocumentStage, Drop

SPIN = "@@SPIN@@"  # a pure-Python endless loop
STALL = "@@STALL@@"  # exponential backtracking inside the C regex engine: no Python signal gets in
BLOAT = "@@BLOAT@@"  # allocates and touches memory until something stops it
CRASH = "@@CRASH@@"  # SIGSEGV in C
ABORT = "@@ABORT@@"  # os.abort(): SIGABRT
RECURSE = "@@RECURSE@@"  # unbounded recursion (RecursionError, caught per document like any exception)
SLOW = "@@SLOW@@"  # busy for SLOW_SECONDS, then fine: under the budget it must be kept

SLOW_SECONDS = 0.3
_BACKTRACK = re.compile(r"^(?:\W*(?:share|sharing|sharing\ it)\W*)+$")  # the old boilerplate furniture shape


def _recurse(n: int) -> int:
    return _recurse(n + 1) + 1


class Misbehave(DocumentStage):
    """Keeps every document except that marked ones misbehave (see the markers above)."""

    name: ClassVar[str] = "misbehave"
    version: ClassVar[str] = "1"

    def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
        text = doc.get("text") or ""
        if SPIN in text:
            while True:
                pass
        if STALL in text:
            _BACKTRACK.match("share, " * 64 + "x")
        if BLOAT in text:
            hoard = []
            while True:
                block = bytearray(32 << 20)
                block[::4096] = b"\1" * len(block[::4096])  # touch every page: resident, not just reserved
                hoard.append(block)
        if CRASH in text:
            ctypes.string_at(0)
        if ABORT in text:
            os.abort()
        if RECURSE in text:
            _recurse(0)
        if SLOW in text:
            end = time.process_time() + SLOW_SECONDS
            while time.process_time() < end:
                pass
        return {}


MARKERS = (SPIN, STALL, BLOAT, CRASH, ABORT, RECURSE)


def documents(n_innocent: int, markers: tuple[str, ...] = MARKERS) -> list[dict[str, Any]]:
    """JSONL rows: innocent documents with hostile ones spread among them."""
    rows = [{"id": f"doc-{i:05d}", "text": f"An innocent document number {i}. " * 3} for i in range(n_innocent)]
    step = max(1, n_innocent // (len(markers) + 1))
    for j, marker in enumerate(markers):
        rows.insert((j + 1) * step, {"id": f"hostile-{j}", "text": f"A hostile document {marker} here."})
    return rows
