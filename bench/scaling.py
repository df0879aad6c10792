"""Scaling: docs/s with 1 and 2 workers on the local executor, Spark standalone and a 2-node Ray, same input.

Every row is one `sovereign run` of the wheel of this checkout (a fresh venv, as a cluster node would install it)
as a subprocess, on the demo crawl (generated at --pages, at most 600), all stages of configs/demo.yaml, input and
output on local disk (the nodes share this machine's disk; S3 would add moto_server's own cost to every row).
Clusters are real processes on loopback (tests/helpers/clusters.py, the launchers the cluster tests use):
- local: the process pool, workers 1 and 2;
- spark: a standalone master and one worker JVM with 2 cores; spark.cores.max 1 and 2;
- ray: a head with 1 CPU alone, then a head + a second node with 1 CPU each (token authentication).

Columns: wall time of the driver subprocess; docs/s over the wall and over the run's work phases (run.json
timings_s: host captures, map, reduce, shards, manifest; start-up, model loads and connecting are outside); the
same per core; the document (map) phase's rate per core and the reduce phase's seconds apart (on small inputs
Spark's and Ray's reduces are mostly per-job overhead: tens of seconds that do not grow with the input);
overhead = wall / wall of local with as many cores - 1; driver peak RSS (VmHWM of the
`sovereign run` process, sampled, and wait4's ru_maxrss, which is the largest of the driver and the children it
waited for: Spark's driver JVM is not among them); worker peak RSS (the summed RSS of the worker processes,
sampled every 0.2 s: local = the driver's descendants; spark = the worker JVM's descendants, i.e. the executor JVM
and its Python workers; ray = every process of the cluster, raylets and GCS included).

    .venv/bin/python bench/scaling.py [--pages 600] [--engines local,spark,ray] [--json out.json]

The machine is shared (2 cores): run it twice before quoting a number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.helpers.clusters import (  # noqa: E402 - the one copy of the cluster launchers
    WheelVenv,
    build_wheel_venv,
    clean_env,
    proc_status_bytes,
    ray_cluster,
    rss_bytes,
    spark_cluster,
    spark_conf,
)

WORK_PHASES = ("host_captures", "map", "reduce", "shards", "manifest")


@dataclass
class Row:
    engine: str
    setup: str
    cores: int
    records: int
    wall_s: float
    work_s: float
    driver_hwm_mb: float
    driver_maxrss_mb: float
    worker_peak_mb: float
    map_s: float = 0.0  # the document phase alone (all per-document stages), wall
    reduce_s: float = 0.0  # the global stages' reduces (dedup), wall: mostly per-job overhead on small inputs

    @property
    def docs_s(self) -> float:
        return self.records / self.wall_s

    @property
    def work_docs_s(self) -> float:
        return self.records / self.work_s if self.work_s else 0.0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(root: int) -> list[int]:
    tree, out, todo = _children(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def run_row(
    venv: WheelVenv, cfg: dict, cwd: Path, env: dict[str, str], worker_pids, engine: str, setup: str, cores: int
) -> Row:
    """One driver subprocess; samples the driver's VmHWM and the workers' summed RSS while it runs."""
    cwd.mkdir(parents=True, exist_ok=True)
    cfg_path = cwd / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    start = time.monotonic()
    with open(cwd / "driver.log", "wb") as log:
        proc = subprocess.Popen([str(venv.sovereign), "run", str(cfg_path)], cwd=cwd, env=env, stdout=log, stderr=log)
    peaks = {"hwm": 0, "workers": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peaks["hwm"] = max(peaks["hwm"], proc_status_bytes(proc.pid, "VmHWM"))
            peaks["workers"] = max(peaks["workers"], sum(rss_bytes(p) for p in worker_pids(proc.pid)))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} {setup}: driver exited {proc.returncode}; see {cwd / 'driver.log'}")
    run = json.loads((Path(cfg["output"]) / "run.json").read_text())
    timings = run["timings_s"]
    return Row(
        engine,
        setup,
        cores,
        run["counts"]["input_records"],
        wall,
        sum(timings.get(k, 0.0) for k in WORK_PHASES),
        peaks["hwm"] / 2**20,
        usage.ru_maxrss / 1024,
        peaks["workers"] / 2**20,
        timings.get("map", 0.0),
        timings.get("reduce", 0.0),
    )


def base_config(corpus: Path, out: Path) -> dict:
    from sovereign.pipeline.config import load_config
    from sovereign.pipeline.demo import DEMO_CONFIG

    data = load_config(DEMO_CONFIG).model_dump(mode="json")
    data["inputs"][0]["uri"] = str(corpus / "*.warc.gz")
    data["output"] = str(out)
    return data


def bench(pages: int, engines: list[str], tmp: Path) -> list[Row]:
    from sovereign.pipeline.synthetic.crawl import generate_demo_corpus

    corpus = tmp / "corpus"
    generate_demo_corpus(corpus, pages=pages)
    print(f"wheel venv and {pages}-page demo crawl ({len(list(corpus.glob('*.warc.gz')))} files) ready", flush=True)
    venv = build_wheel_venv(tmp / "wheel")
    rows: list[Row] = []

    def cfg_for(name: str, executor: dict) -> dict:
        data = base_config(corpus, tmp / "runs" / name)
        data["executor"].update(executor)
        return data

    if "local" in engines:
        for workers in (1, 2):
            cfg = cfg_for(f"local{workers}", {"kind": "local", "workers": workers})
            rows.append(
                run_row(
                    venv,
                    cfg,
                    tmp / f"d-local{workers}",
                    clean_env(),
                    _descendants,
                    "local",
                    f"{workers} worker process(es)",
                    workers,
                )
            )
            print(rows[-1], flush=True)
    if "spark" in engines:
        with spark_cluster(venv.python, tmp / "spark", cores=2, memory="3g") as cluster:
            worker_jvm = _spark_worker_pid(tmp / "spark")
            for cores in (1, 2):
                conf = {**spark_conf(cluster), "spark.cores.max": str(cores)}
                cfg = cfg_for(f"spark{cores}", {"kind": "spark", "spark": {"master": cluster.master_url, "conf": conf}})
                rows.append(
                    run_row(
                        venv,
                        cfg,
                        tmp / f"d-spark{cores}",
                        cluster.driver_env,
                        lambda _pid: _descendants(worker_jvm),
                        "spark",
                        f"standalone, {cores} executor core(s)",
                        cores,
                    )
                )
                print(rows[-1], flush=True)
    if "ray" in engines:
        for nodes in (1, 2):
            with ray_cluster(venv.python, nodes=nodes, cpus_per_node=1) as cluster:
                from tests.helpers.clusters import pids_with_arg

                cfg = cfg_for(f"ray{nodes}", {"kind": "ray", "ray": {"address": cluster.address}})
                marker = str(cluster.temp_dir)
                rows.append(
                    run_row(
                        venv,
                        cfg,
                        tmp / f"d-ray{nodes}",
                        cluster.driver_env,
                        lambda _pid, m=marker: pids_with_arg(m),
                        "ray",
                        "head only" if nodes == 1 else "head + 2nd node",
                        nodes,
                    )
                )
                print(rows[-1], flush=True)
    return rows


def _spark_worker_pid(base: Path) -> int:
    from tests.helpers.clusters import pids_with_arg

    pids = [p for p in pids_with_arg("org.apache.spark.deploy.worker.Worker") if str(base) in _cmdline(p)]
    if not pids:
        raise SystemExit("Spark worker JVM not found")
    return pids[0]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def print_table(rows: list[Row]) -> None:
    local = {r.cores: r for r in rows if r.engine == "local"}
    head = (
        f"{'engine':6} {'setup':32} {'cores':>5} {'records':>7} {'wall s':>7} {'docs/s':>7} {'/core':>6} "
        f"{'work docs/s':>11} {'/core':>6} {'overhead':>8} {'driver HWM MB':>13} {'driver maxrss MB':>16} "
        f"{'workers MB':>10} {'map docs/s/core':>15} {'reduce s':>8}"
    )
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        anchor = local.get(r.cores)
        overhead = f"{r.wall_s / anchor.wall_s - 1:+.0%}" if anchor and r.engine != "local" else "anchor"
        print(
            f"{r.engine:6} {r.setup:32} {r.cores:>5} {r.records:>7} {r.wall_s:>7.1f} {r.docs_s:>7.1f} "
            f"{r.docs_s / r.cores:>6.1f} {r.work_docs_s:>11.1f} {r.work_docs_s / r.cores:>6.1f} {overhead:>8} "
            f"{r.driver_hwm_mb:>13.0f} {r.driver_maxrss_mb:>16.0f} {r.worker_peak_mb:>10.0f} "
            f"{(r.records / r.map_s / r.cores if r.map_s else 0):>15.1f} {r.reduce_s:>8.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pages", type=int, default=600, help="pages in the generated demo crawl (the generator allows 150..600)"
    )
    ap.add_argument("--engines", default="local,spark,ray")
    ap.add_argument("--json", type=Path, help="write the rows as JSON")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sov-scaling-") as tmp:
        rows = bench(args.pages, args.engines.split(","), Path(tmp))
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
