"""run.json: what a run did and the digests that let anyone check it later (sovereign audit verify)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

RUN_JSON = "run.json"
SUCCESS = "_SUCCESS"  # completion marker, written last: {"run_json_sha256", "root_hash"}
OUTPUT_DIRS = ("shards", "manifest")


def root_hash(outputs: dict[str, dict[str, Any]]) -> str:
    """One hash over every output file: sha256 of the sorted "path<TAB>sha256" lines."""
    h = hashlib.sha256()
    for rel in sorted(outputs):
        h.update(f"{rel}\t{outputs[rel]['sha256']}\n".encode())
    return h.hexdigest()


def package_version() -> str:
    try:
        return metadata.version("sovereign")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    repo = Path(__file__).resolve().parents[1]
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def dumps(obj: Any, indent: int = 2) -> bytes:
    """Canonical JSON bytes (sorted keys, UTF-8, a final newline); pack.json keeps the indent=1 it was made with."""
    return (json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Bidirectional overrides and isolates reorder what a terminal shows (a URL can be made to read as another).
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {c: f"\\u{c:04x}" for c in _BIDI}
_ESCAPES_KEEP_NL = {c: v for c, v in _ESCAPES.items() if c != 0x0A}


def printable(text: object, keep_newlines: bool = False) -> str:
    """Text from a run's data (URLs, evidence, paths) made safe to print on a terminal: C0 and C1 control
    characters (ESC starts terminal escape sequences), DEL and bidi controls become visible \\xNN / \\uNNNN escapes,
    so crawled data can neither drive the terminal nor forge lines of the report."""
    return str(text).translate(_ESCAPES_KEEP_NL if keep_newlines else _ESCAPES)
