"""Download a release (local path or s3://) to a local folder, every file checked against the release's SHA256SUMS.

The layout is the release contract (docs: README "Releases"): SHA256SUMS lists every file but itself and
release.json; release.json repeats each file's sha256 and size, and the two must agree before anything is fetched.
Each file is written to DIR/REL.part, hashed while it streams, and renamed to DIR/REL only when its sha256 and size
match; a file already there with the right sha256 is kept (a pull resumes), a `.part` left by an interrupted pull is
continued from where it stopped. A download that does not match is retried once from scratch, then reported.
SHA256SUMS and release.json are written last, and only when every selected file matched: their presence marks a
complete pull.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovereign.pipeline.errors import SovereignError
from sovereign.pipeline.storage import (
    READ_BUFFER_BYTES,
    S3Settings,
    Store,
    _short,
    is_safe_rel,
    open_sequential,
)

SUMS = "SHA256SUMS"
RELEASE_JSON = "release.json"
DOCUMENTS = "documents"
MANIFEST = "manifest"
PACK_ROOTS = ("packs", "docmaps")  # packs/<pack>/..., docmaps/<pack>/...: both selected by pack name
PART_SUFFIX = ".part"
CHUNK = READ_BUFFER_BYTES  # one GET per 8 MiB on object storage (storage.py)


class PullError(SovereignError):
    """The release cannot be pulled as asked (bad checksum list, unknown language or pack); one line, no secrets."""


@dataclass(frozen=True)
class Entry:
    rel: str
    sha256: str
    size: int | None  # from release.json; None if it does not say


@dataclass(frozen=True)
class ReleaseIndex:
    entries: dict[str, Entry]
    sums_bytes: bytes
    release_bytes: bytes
    release: dict[str, Any]

    @property
    def languages(self) -> list[str]:
        found = {_doc_language(rel) for rel in self.entries} - {None}
        declared = self.release.get("languages")
        if isinstance(declared, dict | list):
            found |= {str(k) for k in declared}
        return sorted(str(x) for x in found)

    @property
    def packs(self) -> list[str]:
        found = {rel.split("/")[1] for rel in self.entries if rel.split("/")[0] in PACK_ROOTS and rel.count("/") >= 2}
        for p in self.release.get("packs") or []:
            name = p.get("name") if isinstance(p, dict) else p
            if isinstance(name, str):
                found.add(name)
        return sorted(found)


@dataclass
class FileResult:
    rel: str
    status: str  # "fetched", "present" (already there, sha256 matched), "refetched" (local copy was wrong), "failed"
    fetched_bytes: int = 0
    message: str = ""


@dataclass
class PullResult:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failures(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def fetched_bytes(self) -> int:
        return sum(f.fetched_bytes for f in self.files)


def _short_hex(h: str) -> str:
    return h[:12]


def _doc_language(rel: str) -> str | None:
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == DOCUMENTS and parts[1].startswith("lang="):
        return parts[1][len("lang=") :]
    return None


def _pack_language(rel: str) -> str | None:
    """packs/<pack>/lang=<xx>/... (what `sovereign pack` writes) or packs/<pack>/<xx>/...; None for the pack's own
    files (pack.json, tokenizer files) that every language needs."""
    parts = rel.split("/")
    if len(parts) >= 4:
        return parts[2][len("lang=") :] if parts[2].startswith("lang=") else parts[2]
    return None


def parse_sums(data: bytes) -> dict[str, str]:
    """sha256sum format: "<64 hex>  <REL>" per line ("*" before REL marks binary mode and is allowed)."""
    out: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PullError(f"{SUMS} is not UTF-8 text") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition(" ")
        rel = rel[1:] if rel.startswith((" ", "*")) else rel
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
            raise PullError(f"{SUMS} line {n} is not '<sha256 hex>  <path>'")
        if not is_safe_rel(rel) or rel in (SUMS, RELEASE_JSON):
            raise PullError(f"{SUMS} line {n} names a path outside the release: {rel[:200]!r}")
        if rel in out:
            raise PullError(f"{SUMS} lists {rel} twice")
        out[rel] = digest.lower()
    if not out:
        raise PullError(f"{SUMS} lists no files")
    return out


def read_index(source: Store) -> ReleaseIndex:
    """SHA256SUMS and release.json of the release, checked against each other."""
    try:
        sums_bytes = source.read_bytes(SUMS)
        release_bytes = source.read_bytes(RELEASE_JSON)
    except FileNotFoundError:
        raise PullError(f"{source.root_uri} is not a release: it has no {SUMS} or no {RELEASE_JSON}") from None
    sums = parse_sums(sums_bytes)
    try:
        release = json.loads(release_bytes)
    except ValueError:
        raise PullError(f"{RELEASE_JSON} is not valid JSON") from None
    listed = release.get("sha256sums_sha256") if isinstance(release, dict) else None
    actual = hashlib.sha256(sums_bytes).hexdigest()
    if isinstance(listed, str) and listed.lower() != actual:
        raise PullError(
            f"{SUMS} and {RELEASE_JSON} disagree: {SUMS} has sha256 {_short_hex(actual)}…, "
            f"{RELEASE_JSON} names {_short_hex(listed.lower())}…"
        )
    files = release.get("files") if isinstance(release, dict) else None
    if not isinstance(files, dict):
        raise PullError(f"{RELEASE_JSON} has no 'files' table")
    files = {k: v for k, v in files.items() if k not in (SUMS, RELEASE_JSON)}
    problems = [f"{rel}: in {SUMS}, not in {RELEASE_JSON}" for rel in sorted(set(sums) - set(files))]
    problems += [f"{rel}: in {RELEASE_JSON}, not in {SUMS}" for rel in sorted(set(files) - set(sums))]
    entries: dict[str, Entry] = {}
    for rel in sorted(set(sums) & set(files)):
        info = files[rel] if isinstance(files[rel], dict) else {}
        sha, size = str(info.get("sha256", "")).lower(), info.get("bytes")
        if sha != sums[rel]:
            problems.append(f"{rel}: sha256 {_short_hex(sums[rel])}… in {SUMS}, {_short_hex(sha)}… in {RELEASE_JSON}")
        entries[rel] = Entry(rel, sums[rel], size if isinstance(size, int) and size >= 0 else None)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise PullError(f"{SUMS} and {RELEASE_JSON} disagree: " + "; ".join(problems[:5]) + more)
    return ReleaseIndex(entries, sums_bytes, release_bytes, release)


def select(
    index: ReleaseIndex, langs: Iterable[str] | None, packs: Iterable[str] | None, manifest: bool
) -> list[Entry]:
    """The files a pull fetches: every top-level file (card, croissant.json, run.json, ...), the documents of the
    given languages (all without a list), the manifest only when asked, the named packs (their doc maps too) limited
    to the given languages, and any other folder the release has."""
    lang_set = _checked("language", langs, index.languages)
    pack_set = _checked("pack", packs, index.packs) or set()
    chosen = []
    for rel, entry in index.entries.items():
        top = rel.split("/")[0]
        if "/" not in rel:
            keep = True
        elif top == DOCUMENTS:
            keep = lang_set is None or _doc_language(rel) in lang_set
        elif top == MANIFEST:
            keep = manifest
        elif top in PACK_ROOTS:
            lang = _pack_language(rel)
            keep = rel.split("/")[1] in pack_set and (lang is None or lang_set is None or lang in lang_set)
        else:
            keep = True
        if keep:
            chosen.append(entry)
    return chosen


def _checked(what: str, asked: Iterable[str] | None, available: list[str]) -> set[str] | None:
    if asked is None:
        return None
    wanted = {a.strip() for a in asked if a.strip()}
    unknown = sorted(wanted - set(available))
    if unknown:
        raise PullError(
            f"the release has no {what} {', '.join(unknown)}; available: {', '.join(available) or '(none)'}"
        )
    return wanted


def _hash_file(path: Path) -> tuple[Any, int]:
    """(running sha256 of the file's bytes, its size): a .part is continued with the same hasher."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h, n


class _Fetcher:
    """Fetches single files from the release into the target folder (thread-safe: no shared mutable state but the
    byte counter callback)."""

    def __init__(self, source: Store, target: Path, on_bytes: Callable[[int], None]) -> None:
        self.source = source
        self.target = target
        self.on_bytes = on_bytes
        self.guard = Store(str(target))

    def run(self, entry: Entry) -> FileResult:
        if not self.guard.contains(entry.rel):  # a symlink in DIR leading out of it
            return FileResult(entry.rel, "failed", message=f"{entry.rel}: the local path leads outside {self.target}")
        dest = self.target / entry.rel
        status = "fetched"
        if dest.exists():
            if self._matches(dest, entry):
                self.on_bytes(entry.size or 0)
                return FileResult(entry.rel, "present")
            status = "refetched"  # tampered or stale local copy: fetch it again
        fetched = 0
        message = ""
        for attempt in range(2):  # the retry starts from scratch, never from a .part
            try:
                ok, n, message = self._download(entry, dest, resume=attempt == 0)
            except OSError as exc:
                ok, n, message = False, 0, f"{entry.rel}: cannot read it from the release: {_short(exc)}"
            fetched += n
            if ok:
                return FileResult(entry.rel, status, fetched)
        if status == "refetched":  # the local copy is known to be wrong: it must not stay under the file's name
            dest.unlink(missing_ok=True)
            message += "; the wrong local copy was removed"
        return FileResult(entry.rel, "failed", fetched, message)

    def _matches(self, path: Path, entry: Entry) -> bool:
        if entry.size is not None and path.stat().st_size != entry.size:
            return False
        return _hash_file(path)[0].hexdigest() == entry.sha256

    def _download(self, entry: Entry, dest: Path, resume: bool) -> tuple[bool, int, str]:
        """(matched, bytes read from the release, mismatch message)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + PART_SUFFIX)
        h = hashlib.sha256()
        offset = 0
        if resume and part.exists() and (entry.size is None or part.stat().st_size <= entry.size):
            h, offset = _hash_file(part)
            self.on_bytes(offset)
        elif part.exists():
            part.unlink()
        limit = entry.size + 1 if entry.size is not None else None  # one byte past the size proves "too long"
        total = offset
        fetched = 0
        src_path = self.source.path(entry.rel)
        # No fsync: nothing trusts a file without hashing it (present files are hashed on every pull, a .part is
        # hashed before it is continued), so a file torn by a power cut is fetched again, never used.
        with open(part, "ab" if offset else "wb") as out:
            stream = self._open(src_path, offset)
            with stream:
                while limit is None or total < limit:
                    want = CHUNK if limit is None else min(CHUNK, limit - total)
                    chunk = stream.read(want)
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    total += len(chunk)
                    fetched += len(chunk)
                    self.on_bytes(len(chunk))
        got = h.hexdigest()
        if got == entry.sha256 and (entry.size is None or total == entry.size):
            os.replace(part, dest)
            return True, fetched, ""
        part.unlink()
        if entry.size is not None and total > entry.size:
            size_note = f"more than the expected {entry.size:,} bytes"
        elif entry.size is not None and total != entry.size:
            size_note = f"{total:,} bytes, expected {entry.size:,} (truncated)"
        else:
            size_note = f"{total:,} bytes"
        return (
            False,
            fetched,
            f"{entry.rel}: sha256 mismatch: expected {_short_hex(entry.sha256)}…, got {_short_hex(got)}…, {size_note}",
        )

    def _open(self, path: str, offset: int):  # noqa: ANN202 - a pyarrow NativeFile
        if offset == 0:
            return open_sequential(self.source.fs, path)
        f = self.source.fs.open_input_file(path)  # ranged reads from the offset: only the missing tail is fetched
        f.seek(offset)
        return f


def pull(
    uri: str,
    to: str | Path,
    langs: Iterable[str] | None = None,
    packs: Iterable[str] | None = None,
    manifest: bool = False,
    workers: int = 8,
    settings: S3Settings | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> PullResult:
    """Pull the release at uri into the local folder `to`. Raises PullError before any download when the release's
    checksum list is unusable or a language or pack is unknown; per-file mismatches are in the result's failures."""
    import time

    t0 = time.perf_counter()
    source = Store(uri, settings)
    index = read_index(source)
    chosen = sorted(select(index, langs, packs, manifest), key=lambda e: (-(e.size or 0), e.rel))  # big ones first
    target = Path(to).expanduser().absolute()
    target.mkdir(parents=True, exist_ok=True)
    if on_plan:
        on_plan(len(chosen), sum(e.size or 0 for e in chosen))
    lock = threading.Lock()

    def count(n: int) -> None:
        if on_bytes:
            with lock:
                on_bytes(n)

    fetcher = _Fetcher(source, target, count)
    result = PullResult()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pull") as pool:
        for res in pool.map(fetcher.run, chosen):
            result.files.append(res)
            if on_file:
                on_file(res)
    result.files.sort(key=lambda r: r.rel)
    if not result.failures:
        _check_run_root(target, index)
        for name, data in ((SUMS, index.sums_bytes), (RELEASE_JSON, index.release_bytes)):
            _write_atomic(target / name, data)
    result.seconds = time.perf_counter() - t0
    return result


def _check_run_root(target: Path, index: ReleaseIndex) -> None:
    """run.json (verified against SHA256SUMS) carries the run's root hash; release.json must name the same run."""
    expected = index.release.get("run_root_hash")
    path = target / "run.json"
    if not isinstance(expected, str) or not path.exists():
        return
    with contextlib.suppress(ValueError):
        actual = json.loads(path.read_bytes()).get("root_hash")
        if isinstance(actual, str) and actual != expected:
            raise PullError(
                f"{RELEASE_JSON} names run root hash {_short_hex(expected)}…, run.json has {_short_hex(actual)}…"
            )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + PART_SUFFIX)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
