"""Hostile configs, run metadata and crawled strings for the CLI and output-safety tests (issue 9, findings 8-10).

Each generator takes a size parameter so that bench/hostile.py can call it at growing sizes."""

from __future__ import annotations

import json
import random

# ESC [ ... : a terminal escape sequence (clear screen, then a colour), an OSC 8 hyperlink, C1 CSI, and a bidi
# override: what a crawled URL can carry into `audit explain` and `audit verify` output.
TERMINAL_ESCAPES = ("\x1b[2J\x1b[31m", "\x1b]8;;https://evil.example/\x07", "\x9b6n", "\u202e")


def alias_bomb_yaml(levels: int, fanout: int = 9) -> bytes:
    """A valid-looking "billion laughs" config: `levels` anchors, each a list of `fanout` aliases to the previous
    one, so a few hundred bytes expand to fanout**levels strings. The name field uses the last anchor.
    Promise: loading is refused with a one-line ConfigError, in memory bounded by the file, not the expansion."""
    lines = ["lol0: &lol0 [" + ", ".join(['"lol"'] * fanout) + "]"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * fanout) + "]")
    lines.append(f"stages: [{{name: extract, params: {{x: *lol{levels - 1}}}}}]")
    return ("\n".join(lines) + "\n").encode()


def invalid_alias_bomb_yaml(levels: int, fanout: int = 9) -> bytes:
    """The bomb placed where validation fails (workers must be an integer), so the error message itself would have
    to describe the expanded value. Promise: a short ConfigError, bounded memory."""
    lines = ["a0: &a0 [" + ", ".join(["x"] * fanout) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]")
    lines.append(f"executor: {{workers: *a{levels - 1}}}")
    return ("\n".join(lines) + "\n").encode()


def recursive_alias_yaml(copies: int) -> bytes:
    """Anchors that contain an alias to themselves (a cycle), `copies` times. Promise: ConfigError, no hang."""
    return "".join(f"k{i}: &k{i} [*k{i}]\n" for i in range(copies)).encode()


def deep_yaml(depth: int) -> bytes:
    """One value nested `depth` flow sequences deep. Promise: ConfigError (never RecursionError / internal)."""
    return b"name: " + b"[" * depth + b"]" * depth + b"\n"


def binary_config(size: int, seed: int = 9) -> bytes:
    """Random bytes (a PNG header first, as if the wrong file was passed). Promise: a one-line ConfigError that says
    it is not UTF-8 text, never `internal error: UnicodeDecodeError`."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(max(0, size - 8))


def escaped_url(n: int) -> str:
    """A URL whose path carries `n` rounds of terminal escape sequences and bidi controls. Promise: `audit explain`
    and `audit verify` print no ESC, C1 or bidi control character."""
    junk = "".join(TERMINAL_ESCAPES[i % len(TERMINAL_ESCAPES)] for i in range(n))
    return f"https://www.beispiel.de/seite{junk}?q=1"


def outside_outputs(run_json: bytes, count: int, target: str) -> bytes:
    """A finished run's run.json with `count` extra outputs that all name `target` (an absolute path of a file
    outside the run): through `../`, through `shards/../../`, and as an absolute path, made distinct by `./`
    segments. Promise: verify answers FAIL and never reads or prints a digest of the outside file."""
    run = json.loads(run_json)
    up = "../" * (target.count("/") + 8)  # enough `..` to reach / from any run folder
    forms = [up + target.lstrip("/"), "shards/" + up + target.lstrip("/"), target]
    for i in range(count):
        form = forms[i % 3]
        rel = form if i < 3 else ("./" * (i // 3) + form if not form.startswith("/") else "/." * (i // 3) + form)
        run["outputs"][rel] = {"sha256": "0" * 64, "bytes": 1}
    return json.dumps(run, indent=2).encode()


def malformed_markers(count: int) -> list[bytes]:
    """`count` malformed _SUCCESS / run.json bodies: bad JSON, wrong top-level types, wrong field types, deep
    nesting, non-UTF-8. Promise: verify answers FAIL (exit 2), never an internal error (exit 1)."""
    base = [
        b"",
        b"{not json",
        b"[]",
        b"42",
        b'"text"',
        b"null",
        b'{"run_json_sha256": 5, "root_hash": []}',
        b'{"run_json_sha256": null}',
        b'{"run_json_sha256": {"a": 1}, "root_hash": "x"}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,
    ]
    return [base[i % len(base)] for i in range(count)]


def malformed_run_jsons(count: int) -> list[dict]:
    """`count` run.json objects with wrong field types (outputs a list, entries without digests, records as text).
    Promise: verify answers FAIL (exit 2) naming the field."""
    base: list[dict] = [
        {"outputs": [], "root_hash": "0" * 64},
        {"outputs": {"shards/x.parquet": "abc"}, "root_hash": "0" * 64},
        {"outputs": {"shards/x.parquet": {"sha256": 7, "bytes": "many"}}, "root_hash": "0" * 64},
        {"outputs": {}, "root_hash": None, "inputs": "all", "counts": []},
        {"outputs": {}, "root_hash": "0" * 64, "inputs": [{"uri": "x", "records": "12"}], "counts": {}},
    ]
    return [base[i % len(base)] for i in range(count)]
