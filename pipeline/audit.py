"""`sovereign audit verify`: recompute every digest and the record balance of a finished run."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq

from pipeline.runinfo import OUTPUT_DIRS, RUN_JSON, SUCCESS, root_hash, sha256_bytes
from pipeline.storage import Store


def verify_run(run_uri: str) -> tuple[list[str], list[str]]:
    """(problems, facts). No problems means every check held."""
    store = Store(run_uri)
    problems: list[str] = []
    facts: list[str] = []
    if not store.exists(RUN_JSON):
        return [f"{store.uri(RUN_JSON)} not found: not a finished run"], facts
    if not store.exists(SUCCESS):
        return [f"{store.uri(SUCCESS)} not found: the run did not finish"], facts
    raw = store.read_bytes(RUN_JSON)
    try:
        marker = json.loads(store.read_bytes(SUCCESS))
    except ValueError:
        return [f"{SUCCESS} is not valid JSON"], facts
    if sha256_bytes(raw) != marker.get("run_json_sha256"):
        problems.append(
            f"{RUN_JSON} sha256 {sha256_bytes(raw)[:16]}… differs from the one recorded in {SUCCESS} "
            f"({str(marker.get('run_json_sha256'))[:16]}…): run.json was modified"
        )
    try:
        run = json.loads(raw)
    except ValueError as exc:
        return problems + [f"{RUN_JSON} is not valid JSON ({exc.msg} at line {exc.lineno})"], facts
    outputs: dict[str, dict[str, Any]] = run.get("outputs", {})
    problems += _check_files(store, outputs)
    recomputed = root_hash(outputs)
    if recomputed != run.get("root_hash"):
        problems.append(
            f"root hash over the listed outputs is {recomputed[:16]}…, run.json says {run.get('root_hash')}"
        )
    if marker.get("root_hash") != run.get("root_hash"):
        problems.append(f"root hash in {SUCCESS} differs from run.json")
    facts.append(f"checked {len(outputs)} output files, root hash {recomputed[:16]}…")
    problems += _check_conservation(store, run, outputs, facts)
    problems += _check_packs(store)
    return problems, facts


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
    import duckdb
    import pyarrow.dataset as ds

    if not rels:
        return 0
    con = duckdb.connect()
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
        from pipeline.packs import verify_packs
    except ImportError:
        return []
    problems = []
    pack_dirs = sorted({rel.split("/")[0] for rel in store.list("packs", "")})
    for d in pack_dirs:
        problems += [f"packs/{d}: {p}" for p in verify_packs(store.uri(f"packs/{d}"))]
    return problems
