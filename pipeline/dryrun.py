"""`sovereign run CONFIG --dry-run`: what a run would do (work units, stages, outputs), reading only.

It lists the inputs and the output folder and builds the stage objects (to report their versions and checked
params); it takes no lock, starts no executor, loads no model and writes nothing anywhere.
"""

from __future__ import annotations

import json
from typing import Any

from sovereign.pipeline.config import RunConfig
from sovereign.pipeline.runinfo import RUN_JSON, SUCCESS
from sovereign.pipeline.status import WORK, NotARun, run_status
from sovereign.pipeline.storage import S3Settings, Store


def plan(cfg: RunConfig, show_units: int = 10, force_out: bool = False) -> dict[str, Any]:
    from sovereign.pipeline.engine import check_output, plan_units, resolve
    from sovereign.pipeline.stage_runner import build_stages
    from sovereign.pipeline.tasks import manifest_rel

    cfg = resolve(cfg)
    settings = S3Settings.from_env(cfg.s3.endpoint_url, cfg.s3.region)
    store = Store(cfg.output, settings)
    units = plan_units(cfg, settings)
    stages = [s.describe() for s in build_stages(cfg)]  # constructs only: models load in ensure_setup()
    check_output(store, force_out)  # the error a real run would stop with, before anything else
    parts = cfg.shards.manifest_parts
    last_shard = cfg.shards.shards_per_language - 1
    return {
        "name": cfg.name,
        "config_sha256": cfg.sha256(),
        "executor": cfg.executor.model_dump(mode="json"),
        "units": {
            "count": len(units),
            "bytes": sum(u.size for u in units),
            "first": [
                {"uri": u.uri, "bytes": u.size, "format": u.format, "source": u.source} for u in units[:show_units]
            ],
        },
        "stages": stages,
        "output": {
            "run": store.root_uri,
            "state": _output_state(store, cfg),
            "shards": store.uri(
                "shards/lang=<language>/part-00000" + (f"..part-{last_shard:05d}" if last_shard else "") + ".parquet"
            ),
            "shards_per_language": cfg.shards.shards_per_language,
            "manifest": [store.uri(manifest_rel(p)) for p in (0, parts - 1)]
            if parts > 1
            else [store.uri(manifest_rel(0))],
            "manifest_parts": parts,
            "run_json": store.uri(RUN_JSON),
        },
    }


def _output_state(store: Store, cfg: RunConfig) -> str:
    """What `sovereign run` would do with the output: start, resume (and how far the last try got), or refuse."""
    if store.exists(SUCCESS):
        return "holds a finished run: `run` refuses without --overwrite (which replaces it)"
    marker = f"{WORK}/config.sha256"
    if not store.exists(marker):
        return "empty: a new run starts"
    if store.read_bytes(marker).decode(errors="replace").strip() != cfg.sha256():
        return "holds an unfinished run of another config: `run` refuses without --overwrite"
    try:
        st = run_status(store.root_uri, store.settings)
    except NotARun:
        return "holds an unfinished run of this config: `run` resumes it"
    return f"holds an unfinished run of this config: `run` resumes it ({st['units_done']} work units already done)"


def render(p: dict[str, Any]) -> list[str]:
    ex = p["executor"]
    where = {
        "local": f", {ex['workers'] or 'all cores as'} workers",
        "spark": f", master {ex['spark']['master']}",
        "ray": f", address {ex['ray']['address'] or 'local'}",
    }
    lines = [
        f"Dry run of '{p['name']}': nothing was run and nothing was written.",
        f"executor: {ex['kind']}{where[ex['kind']]}  config sha256: {p['config_sha256'][:16]}…",
        f"work units: {p['units']['count']:,} input files, {p['units']['bytes'] / 1e6:,.2f} MB",
    ]
    for i, u in enumerate(p["units"]["first"], 1):
        lines.append(f"  {i:>4}. {u['bytes'] / 1e6:>10,.2f} MB  {u['format']:<7} {u['uri']}")
    if p["units"]["count"] > len(p["units"]["first"]):
        lines.append(f"        … and {p['units']['count'] - len(p['units']['first']):,} more")
    lines.append(f"stages: {len(p['stages'])}")
    for s in p["stages"]:
        params = json.dumps(s.get("params", {}), sort_keys=True, separators=(",", ":"))
        lines.append(f"  {s['name']:<12} v{s['version']}  {params}")
    out = p["output"]
    lines += [
        f"output: {out['run']}  ({out['state']})",
        f"  shards:   {out['shards']}  ({out['shards_per_language']} per language)",
        f"  manifest: {' .. '.join(out['manifest'])}  ({out['manifest_parts']} parts)",
        f"  run.json: {out['run_json']}",
    ]
    return lines
