"""`sovereign status RUN`: how far a run got, read from what the engine leaves in the output (local or S3).

While a run works, the engine writes `_work/progress.json` at the start of each phase (`record_phases`). Units are
done when their `_work/units/<key>/done.json` commit marker exists (the same test resume uses), shards when their
index file exists, manifest parts when their file exists. A finished run is read from `run.json` alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from typing import Any

from sovereign.pipeline.runinfo import RUN_JSON, SUCCESS
from sovereign.pipeline.storage import S3Settings, Store

WORK = "_work"  # = stage_runner.WORK, not imported from there: status must not load the stage registry
PROGRESS = f"{WORK}/progress.json"
PROGRESS_FORMAT = "sovereign-progress/1"
NOT_DOCUMENTS = ("ingest:not-a-document-record", "ingest:host-capture")
LEASE_TTL_S = 120.0  # = lock.LEASE_TTL_S


class NotARun(LookupError):
    """The URI holds neither a finished nor an unfinished Sovereign run."""


# --- written by the engine ----------------------------------------------------------------------------------------


def record_phases(hooks: Any, store: Store, units: list[Any], stages: list[Any]) -> Any:
    """The run's hooks, whose phase() also writes _work/progress.json (one small object per phase)."""
    from sovereign.stages.base import GlobalStage

    state: dict[str, Any] = {
        "format": PROGRESS_FORMAT,
        "units": len(units),
        "input_bytes": sum(u.size for u in units),
        "global_stages": [s.name for s in stages if isinstance(s, GlobalStage)],
        "phase": None,
        "phase_total": None,
        "phases": [],
    }
    inner = hooks.phase

    def phase(name: str, total: int) -> None:
        state.update(phase=name, phase_total=total)
        state["phases"].append({"name": name, "total": total, "started_at": round(time.time(), 3)})
        # Progress is advice for humans: a failed write must never fail the run.
        with contextlib.suppress(OSError):
            store.write_bytes(PROGRESS, json.dumps(state, sort_keys=True).encode())
        inner(name, total)

    return dataclasses.replace(hooks, phase=phase)


# --- read by `sovereign status` -----------------------------------------------------------------------------------


def run_status(run_uri: str, settings: S3Settings | None = None) -> dict[str, Any]:
    """What `sovereign status` shows, as a dict (also its --json output). Reads only; never writes or locks."""
    store = Store(run_uri, settings or S3Settings.from_env())
    if store.exists(SUCCESS) and store.exists(RUN_JSON):
        return _finished(store)
    if not store.exists(f"{WORK}/config.sha256"):
        raise NotARun(f"{store.root_uri} holds no Sovereign run (neither run.json nor {WORK}/)")
    return _unfinished(store)


def _finished(store: Store) -> dict[str, Any]:
    run = json.loads(store.read_bytes(RUN_JSON))
    counts = run.get("counts", {})
    n_units = len(run.get("inputs", []))
    return {
        "run": store.root_uri,
        "state": "finished",
        "phase": "finished",
        "name": run.get("name"),
        "executor": run.get("executor"),
        "units_done": n_units,
        "units_total": n_units,
        "input_bytes": sum(i.get("bytes", 0) for i in run.get("inputs", [])),
        "counts": {
            **{k: counts.get(k, 0) for k in ("input_records", "kept", "dropped", "quarantined")},
            "not_documents": sum(counts.get("by_reason", {}).get("ingest", {}).get(r, 0) for r in NOT_DOCUMENTS),
        },
        "timings_s": {k: v for k, v in run.get("timings_s", {}).items() if isinstance(v, int | float)},
        "rates": work_rates(run),
        "outputs": len(run.get("outputs", {})),
        "root_hash": run.get("root_hash"),
    }


def _unfinished(store: Store) -> dict[str, Any]:
    progress: dict[str, Any] = {}
    if store.exists(PROGRESS):
        with contextlib.suppress(ValueError, OSError):
            progress = json.loads(store.read_bytes(PROGRESS))
    units_done = sum(1 for rel in store.list(f"{WORK}/units", "done.json") if rel.count("/") == 1)
    units_total = progress.get("units")
    phase = progress.get("phase")
    done_in_phase = _done_in_phase(store, phase)
    globals_ = progress.get("global_stages") or []
    # The global reduces run between the documents and shards phases without a phase of their own.
    if phase == "documents" and units_total is not None and units_done == units_total and globals_:
        phase = "reduce"
        done_in_phase = len(store.list(f"{WORK}/reduce", ".parquet"))
    live, lease_age = _lock(store)
    return {
        "run": store.root_uri,
        "state": "running" if live else "stopped",
        "lease_age_s": lease_age,
        "phase": phase or "starting",
        "phase_done": done_in_phase,
        "phase_total": len(globals_) if phase == "reduce" else progress.get("phase_total"),
        "units_done": units_done,
        "units_total": units_total,
        "input_bytes": progress.get("input_bytes"),
        "phases": progress.get("phases", []),
    }


def _done_in_phase(store: Store, phase: str | None) -> int | None:
    if phase == "host captures":
        return len(store.list(f"{WORK}/evidence", ".parquet"))
    if phase == "documents":
        return sum(1 for rel in store.list(f"{WORK}/units", "done.json") if rel.count("/") == 1)
    if phase == "shards":
        return len(store.list(f"{WORK}/index", ".parquet"))
    if phase == "manifest":
        return len(store.list("manifest", ".parquet"))
    return None


def _lock(store: Store) -> tuple[bool, float | None]:
    """Whether a live run holds the output's lock, and on S3 the lease's age. Local disk: the run's flock (the
    kernel drops it when the run dies, even by SIGKILL). S3: a lease renewed within its TTL; a killed run's lease
    still looks live until it expires."""
    if not store.exists(".lock"):
        return False, None
    if not store.local:
        try:
            age = time.time() - float(json.loads(store.read_bytes(".lock")).get("heartbeat", 0))
        except (ValueError, OSError, AttributeError):
            return False, None
        return age < LEASE_TTL_S, round(age, 1)
    import fcntl

    # A shared lock is refused while the run holds its exclusive one; taken, it is dropped at once.
    with open(store.local_path(".lock"), "rb") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, None
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False, None


# --- rates ---------------------------------------------------------------------------------------------------------


def work_rates(run: dict[str, Any]) -> dict[str, float | None]:
    """Documents and input MB per second of the document map phase, from the units' own busy seconds (each unit
    times itself after its worker's stages and models are loaded: start-up and model loading are not in them),
    per worker, and per wall second of all work phases together."""
    counts = run.get("counts", {})
    by_reason = counts.get("by_reason", {}).get("ingest", {})
    docs = counts.get("input_records", 0) - sum(by_reason.get(r, 0) for r in NOT_DOCUMENTS)
    mb = sum(i.get("bytes", 0) for i in run.get("inputs", [])) / 1e6
    timings = run.get("timings_s", {})
    busy = timings.get("map_busy")
    wall = sum(v for k, v in timings.items() if isinstance(v, int | float) and k != "map_busy")
    return {
        "documents": docs,
        "input_mb": round(mb, 3),
        "map_busy_s": busy,
        "docs_per_s_per_worker": round(docs / busy, 2) if busy else None,
        "mb_per_s_per_worker": round(mb / busy, 3) if busy else None,
        "work_wall_s": round(wall, 3),
    }


def render_status(st: dict[str, Any]) -> list[str]:
    """The status as lines for the terminal."""
    total = st.get("units_total")
    units = f"{st['units_done']:,}/{total:,}" if total is not None else f"{st['units_done']:,}/?"
    state = st["state"]
    if st.get("lease_age_s") is not None:
        state += (
            f" (lease renewed {st['lease_age_s']:.0f} s ago; a killed run's lease expires after {LEASE_TTL_S:.0f} s)"
        )
    lines = [f"run: {st['run']}", f"state: {state}  phase: {st['phase']}", f"work units done: {units}"]
    if st["state"] == "finished":
        c, r = st["counts"], st["rates"]
        lines.append(
            f"records: {c['input_records']:,} in ({c['not_documents']:,} not documents), {c['kept']:,} kept, "
            f"{c['dropped'] - c['not_documents']:,} documents dropped, {c['quarantined']:,} quarantined"
        )
        lines.append(f"outputs: {st['outputs']:,} files, root hash {str(st['root_hash'])[:16]}…")
        if r["docs_per_s_per_worker"] is not None:
            lines.append(
                f"map phase: {r['docs_per_s_per_worker']:,.1f} docs/s and {r['mb_per_s_per_worker']:,.2f} MB/s "
                f"per worker; work phases {r['work_wall_s']:,.1f} s wall"
            )
        return lines
    if st.get("phase_total") is not None and st.get("phase_done") is not None:
        lines.append(f"{st['phase']}: {st['phase_done']:,}/{st['phase_total']:,} done")
    started = [f"{p['name']} {time.strftime('%H:%M:%S', time.localtime(p['started_at']))}" for p in st["phases"]]
    if started:
        lines.append("phases started: " + ", ".join(started))
    if st["state"] == "stopped":
        lines.append("no live run holds it: start the same `sovereign run` again to resume where it stopped")
    return lines
