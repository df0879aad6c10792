"""`sovereign audit verify`: recompute every digest and the record balance of a finished run."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
from pyarrow.fs import FileType

from sovereign.pipeline.runinfo import OUTPUT_DIRS, RUN_JSON, SUCCESS, printable, root_hash, sha256_bytes
from sovereign.pipeline.storage import Store, is_safe_rel

# run.json and _SUCCESS are a few MB even for large runs; a bigger one is not ours (and is not read into memory).
MAX_METADATA_BYTES = 256 << 20


def verify_run(run_uri: str) -> tuple[list[str], list[str]]:
    """(problems, facts). No problems means every check held. Malformed metadata is a problem, never a crash, and
    no path named in run.json is read outside the run's shards/ and manifest/."""
    store = Store(run_uri)
    problems: list[str] = []
    facts: list[str] = []
    if not store.exists(RUN_JSON):
        return [f"{store.uri(RUN_JSON)} not found: not a finished run"], facts
    if not store.exists(SUCCESS):
        return [f"{store.uri(SUCCESS)} not found: the run did not finish"], facts
    raw, why = _read_metadata(store, RUN_JSON)
    marker_raw, why_marker = _read_metadata(store, SUCCESS)
    if raw is None or marker_raw is None:
        return [why or why_marker or "unreadable metadata"], facts
    marker, why = _json_object(marker_raw, SUCCESS)
    if marker is None:
        return [why], facts
    bad = _marker_problems(marker)
    if bad:
        return bad, facts
    if sha256_bytes(raw) != marker["run_json_sha256"]:
        problems.append(
            f"{RUN_JSON} sha256 {sha256_bytes(raw)[:16]}… differs from the one recorded in {SUCCESS} "
            f"({marker['run_json_sha256'][:16]}…): run.json was modified"
        )
    run, why = _json_object(raw, RUN_JSON)
    if run is None:
        return problems + [why], facts
    bad = _run_json_problems(run)
    if bad:
        return problems + bad, facts
    try:
        problems += _verify_contents(store, run, marker, facts)
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:  # a shape the checks missed
        problems.append(f"{RUN_JSON}: malformed metadata ({type(exc).__name__})")
    return problems, facts


def _verify_contents(store: Store, run: dict[str, Any], marker: dict[str, Any], facts: list[str]) -> list[str]:
    problems: list[str] = []
    outputs: dict[str, dict[str, Any]] = run["outputs"]
    outside = sorted(rel for rel in outputs if not _is_output_path(store, rel))
    if outside:
        problems.append(
            f"{RUN_JSON} lists {len(outside)} outputs outside the run's {' and '.join(OUTPUT_DIRS)} folders "
            f"(first: {printable(outside[0][:200])}); they were not read"
        )
    inside = {rel: info for rel, info in outputs.items() if rel not in set(outside)}
    problems += _check_files(store, inside)
    recomputed = root_hash(outputs)
    if recomputed != run.get("root_hash"):
        problems.append(
            f"root hash over the listed outputs is {recomputed[:16]}…, run.json says {run.get('root_hash')}"
        )
    if marker.get("root_hash") != run.get("root_hash"):
        problems.append(f"root hash in {SUCCESS} differs from run.json")
    facts.append(f"checked {len(inside)} output files, root hash {recomputed[:16]}…")
    problems += _check_conservation(store, run, inside, facts)
    problems += check_input_records(store, run, inside, facts)
    problems += _check_packs(store)
    return problems


def _is_output_path(store: Store, rel: str) -> bool:
    """rel is a file of the run's own output folders: relative, no `..`, no symlink leading out."""
    return is_safe_rel(rel) and rel.split("/", 1)[0] in OUTPUT_DIRS and store.contains(rel)


def _read_metadata(store: Store, rel: str) -> tuple[bytes | None, str]:
    try:
        info = store.fs.get_file_info(store.path(rel))
        if info.type != FileType.File:
            return None, f"{rel} is not a file"
        if (info.size or 0) > MAX_METADATA_BYTES:
            return None, f"{rel} is {info.size:,} bytes, too large for a run's metadata"
        return store.read_bytes(rel), ""
    except OSError as exc:
        return None, f"{rel} cannot be read ({type(exc).__name__})"


def _json_object(raw: bytes, rel: str) -> tuple[dict[str, Any] | None, str]:
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        return None, f"{rel} is not UTF-8 JSON"
    except ValueError as exc:
        where = f" ({exc.msg} at line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        return None, f"{rel} is not valid JSON{where}"
    except RecursionError:
        return None, f"{rel} is nested too deeply to be a run's metadata"
    if not isinstance(data, dict):
        return None, f"{rel} is not a JSON object (got {type(data).__name__})"
    return data, ""


def _is_hex(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _marker_problems(marker: dict[str, Any]) -> list[str]:
    keys = ("run_json_sha256", "root_hash")
    return [f"{SUCCESS}: {k} is not a sha256 hex digest" for k in keys if not _is_hex(marker.get(k))]


def _run_json_problems(run: dict[str, Any]) -> list[str]:
    """Types of every field verify relies on; each wrong one is named (without quoting the value)."""
    problems = []
    outputs = run.get("outputs")
    if not isinstance(outputs, dict):
        problems.append(f"{RUN_JSON}: outputs is not an object")
    else:
        for rel, info in outputs.items():
            if not (isinstance(info, dict) and _is_hex(info.get("sha256")) and _is_count(info.get("bytes"))):
                problems.append(f"{RUN_JSON}: outputs entry {printable(rel[:200])} lacks a sha256 digest or a size")
                break
    if not _is_hex(run.get("root_hash")):
        problems.append(f"{RUN_JSON}: root_hash is not a sha256 hex digest")
    inputs = run.get("inputs")
    if not isinstance(inputs, list) or not all(
        isinstance(i, dict) and isinstance(i.get("uri"), str) and _is_count(i.get("records")) for i in inputs
    ):
        problems.append(f"{RUN_JSON}: inputs is not a list of objects with a uri and a record count")
    counts = run.get("counts")
    if not isinstance(counts, dict) or not all(
        _is_count(counts.get(k)) for k in ("input_records", "kept", "dropped", "quarantined")
    ):
        problems.append(f"{RUN_JSON}: counts lacks whole-number input_records, kept, dropped and quarantined")
    return problems


def _check_files(store: Store, outputs: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for rel, info in sorted(outputs.items()):
        if not store.exists(rel):
            problems.append(f"{rel}: listed in run.json but missing")
            continue
        digest, size = store.sha256(rel)
        if digest != info["sha256"]:
            problems.append(f"{rel}: sha256 {digest[:16]}… but run.json records {info['sha256'][:16]}…")
        elif size != info.get("bytes", size):
            problems.append(f"{rel}: {size} bytes but run.json records {info['bytes']}")
    for d in OUTPUT_DIRS:
        for rel in store.list(d, ""):
            if f"{d}/{rel}" not in outputs:
                problems.append(f"{d}/{rel}: present but not listed in run.json")
    return problems


def _check_conservation(
    store: Store, run: dict[str, Any], outputs: dict[str, dict[str, Any]], facts: list[str]
) -> list[str]:
    problems: list[str] = []
    counts = run.get("counts", {})
    inputs = sum(i.get("records", 0) for i in run.get("inputs", []))
    status: dict[str, int] = {"kept": 0, "dropped": 0, "quarantined": 0}
    kept_by_shard: dict[str, int] = {}
    ids_seen = 0
    for rel in sorted(r for r in outputs if r.startswith("manifest/")):
        try:
            t = pq.read_table(store.path(rel), filesystem=store.fs, columns=["id", "status", "shard"])
        except Exception as exc:  # noqa: BLE001 - a damaged file is a finding, not a crash
            problems.append(f"{rel}: unreadable Parquet ({type(exc).__name__})")
            continue
        ids_seen += t.num_rows
        for s, shard in zip(t.column("status").to_pylist(), t.column("shard").to_pylist(), strict=True):
            status[s] = status.get(s, 0) + 1
            if s == "kept":
                kept_by_shard[shard] = kept_by_shard.get(shard, 0) + 1
    duplicates = _duplicate_ids(store, sorted(r for r in outputs if r.startswith("manifest/")))
    if duplicates:
        problems.append(f"manifest: {duplicates} ids appear more than once (every input record needs its own row)")
    total = status["kept"] + status["dropped"] + status["quarantined"]
    facts.append(
        f"input records {inputs:,} = kept {status['kept']:,} + dropped {status['dropped']:,} "
        f"+ quarantined {status['quarantined']:,} ({'holds' if total == inputs else 'DOES NOT HOLD'})"
    )
    if total != inputs or ids_seen != inputs:
        problems.append(f"conservation: {inputs} input records but the manifest holds {ids_seen} rows ({status})")
    for key in ("kept", "dropped", "quarantined"):
        if counts.get(key) != status[key]:
            problems.append(f"counts.{key} in run.json is {counts.get(key)}, the manifest says {status[key]}")
    if counts.get("input_records") != inputs:
        problems.append(f"counts.input_records {counts.get('input_records')} != sum of inputs' records {inputs}")
    for rel in sorted(r for r in outputs if r.startswith("shards/")):
        try:
            rows = pq.ParquetFile(store.fs.open_input_file(store.path(rel))).metadata.num_rows
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{rel}: unreadable Parquet ({type(exc).__name__})")
            continue
        if rows != kept_by_shard.get(rel, 0):
            problems.append(f"{rel}: {rows} rows but the manifest places {kept_by_shard.get(rel, 0)} kept docs there")
    return problems


def _duplicate_ids(store: Store, rels: list[str]) -> int:
    """Rows minus distinct ids over the whole manifest, counted by DuckDB (spills to disk beyond its memory)."""
    import pyarrow.dataset as ds

    from sovereign.pipeline import duck

    if not rels:
        return 0
    con = duck.connect(threads=None)
    try:
        con.register("m", ds.dataset([store.path(r) for r in rels], filesystem=store.fs, format="parquet"))
        (dup,) = con.execute("SELECT count(*) - count(DISTINCT id) FROM m").fetchone()
    except Exception:  # noqa: BLE001 - unreadable parts are reported by the checks above
        return 0
    finally:
        con.close()
    return int(dup)


def _check_packs(store: Store) -> list[str]:
    if not store.exists("packs"):
        return []
    try:
        from sovereign.pipeline.packs import verify_packs
    except ImportError:
        return []
    problems = []
    pack_dirs = sorted({rel.split("/")[0] for rel in store.list("packs", "")})
    for d in pack_dirs:
        outside = _pack_paths_outside(store, d)
        if outside:  # verify_packs would read (and report on) files outside the run
            problems.append(f"packs/{d}: pack.json lists files outside the pack (first: {printable(outside[:200])})")
            continue
        problems += [f"packs/{d}: {p}" for p in verify_packs(store.uri(f"packs/{d}"))]
    return problems


def _pack_paths_outside(store: Store, pack: str) -> str | None:
    """The first file pack.json lists that is not a plain path inside the pack, or None."""
    try:
        files = json.loads(store.read_bytes(f"packs/{pack}/pack.json")).get("files")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None  # verify_packs reports a missing or unreadable pack.json itself
    if not isinstance(files, dict):
        return None
    for rel in files:
        if not store.contains(f"packs/{pack}/{rel}") or not is_safe_rel(rel):
            return str(rel)
    return None


def check_input_records(
    store: Store, run: dict[str, Any], outputs: dict[str, dict[str, Any]], facts: list[str]
) -> list[str]:
    """Records per input file, cross-checked: the manifest rows that name the file must equal the `records` run.json
    gives it, and an independent byte scan of the file (JSONL: non-blank lines; WARC: record headers, or gzip
    members holding one) must not find more records than were read. Conservation alone cannot see records the
    reader never reached. Inputs no longer readable are skipped and said so."""
    import pyarrow.dataset as ds

    from sovereign.pipeline import duck

    problems: list[str] = []
    inputs = [i for i in run.get("inputs", []) if isinstance(i, dict) and isinstance(i.get("uri"), str)]
    rels = sorted(r for r in outputs if r.startswith("manifest/"))
    rows: dict[str, int] = {}
    if rels:
        con = duck.connect(threads=None)
        try:
            con.register("m", ds.dataset([store.path(r) for r in rels], filesystem=store.fs, format="parquet"))
            rows = dict(
                con.execute(
                    "SELECT regexp_replace(source_uri, '#(offset|line|row)=[0-9]+$', ''), count(*) FROM m GROUP BY 1"
                ).fetchall()
            )
        except Exception:  # noqa: BLE001 - unreadable parts are reported by the other checks
            rows = {}
        finally:
            con.close()
    scanned = skipped = 0
    for item in inputs:
        uri, records = item["uri"], int(item.get("records") or 0)
        named = item.get("ref") or uri  # the manifest names a file "<source>:<rel path>" (run.json's ref)
        if rows and rows.get(named, 0) != records:
            problems.append(f"input {uri}: run.json says {records} records, the manifest has {rows.get(named, 0)} rows")
        found = _independent_count(uri, str(item.get("format") or ""), store)
        if found is None:
            skipped += 1
            continue
        scanned += 1
        if found > records:
            problems.append(f"input {uri}: a scan finds {found} records, the run read {records}: records were lost")
    facts.append(f"input record counts cross-checked for {scanned} files ({skipped} not readable now or not scanned)")
    return problems


def _independent_count(uri: str, fmt: str, store: Store) -> int | None:
    """Records in an input file by a streaming byte scan, not by the readers the run used; None if unreadable."""
    from sovereign.pipeline.storage import filesystem_for

    try:
        fs, path = filesystem_for(uri, store.settings)
        if fmt == "jsonl":
            return _count_lines(fs, path)
        if fmt == "warc":
            return _count_warc(fs, path)
    except Exception:  # noqa: BLE001 - a moved or unreadable input is not a finding about the run
        return None
    return None


def _count_lines(fs: Any, path: str) -> int:
    count = 0
    content = False  # the current line has a non-blank byte
    with fs.open_input_stream(path, compression="detect") as fh:
        while chunk := fh.read(1 << 20):
            pieces = chunk.split(b"\n")
            for piece in pieces[:-1]:
                count += content or bool(piece.strip())
                content = False
            content = content or bool(pieces[-1].strip())
    return count + content


def _count_warc(fs: Any, path: str) -> int:
    """Plain WARC: lines `WARC/1.0` or `WARC/1.1` followed by CRLF. .warc.gz: gzip members whose data starts with
    `WARC/1.` (inflated 64 KiB at a time and discarded). A scan, so a lower bound where members hold several
    records; a body that quotes a whole WARC header line at a line start would be counted too."""
    import re

    from sovereign.pipeline.gzip_scan import gzip_members

    with fs.open_input_stream(path, compression=None) as fh:
        head = fh.read(1 << 20)
        if head.startswith(b"\x1f\x8b"):
            return sum(first == b"WARC/1." for _, first in gzip_members(fh, head))
        pattern = re.compile(rb"\nWARC/1\.[01]\r\n")
        count, data = 0, b"\n" + head
        while True:
            count += len(pattern.findall(data))
            more = fh.read(1 << 20)
            if not more:
                return count
            tail = data[-11:]
            count -= len(pattern.findall(tail))  # matches wholly inside the overlap were counted already
            data = tail + more
