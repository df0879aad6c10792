"""Parquet key-value metadata of a run's shards and manifest: what ties a file to the run that wrote it.

The run's root hash cannot be in a file: it hashes the files. What is known when a file is written is: the run's
name, the sovereign version, the schema version, the hash of the config as far as it decides the output, and the
run id derived from that and the inputs' digests. ``run.json`` carries the same ``run_id`` and lists every file's
sha256, so a file is tied to its run by ``run_id`` (which run) and by its sha256 in ``run.json`` (that exact file);
the root hash covers them all. Nothing machine-specific (paths, executor, worker count, output URI) goes in: the
same input and config give byte-identical files on every executor and machine. The root hash and a release's name
and version are added by ``sovereign release``, which writes its own stamped copies (pipeline/release/stamp.py)
and never changes the run, so the run stays verifiable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from sovereign.pipeline.config import RunConfig
from sovereign.pipeline.runinfo import package_version

SCHEMA_VERSION = "2"  # 2: typed fetched_at, quality_signals, pii_counts; registry licence ids; portable source_uri
PREFIX = "sovereign."
RUN_NAME = PREFIX + "run_name"
RUN_ID = PREFIX + "run_id"
CONFIG = PREFIX + "output_config_sha256"
VERSION = PREFIX + "version"
SCHEMA = PREFIX + "schema_version"
TABLE = PREFIX + "table"  # documents | manifest
KEYS = (RUN_NAME, RUN_ID, CONFIG, VERSION, SCHEMA, TABLE)

# Config sections that do not change a byte of the output (where it runs and writes), left out of the hash.
_NOT_OUTPUT = ("output", "executor", "s3")
_NOT_OUTPUT_INPUT = ("uri",)  # an input's files are identified by their digests (run_id), not by where they lie


def output_config_sha256(cfg: RunConfig) -> str:
    """sha256 of the config as far as it decides the output: run.json's config_sha256 also covers the executor
    and the output URI, which would make the files of a Spark run differ from those of a local one."""
    data = cfg.model_dump(mode="json")
    for key in _NOT_OUTPUT:
        data.pop(key, None)
    data["inputs"] = [{k: v for k, v in spec.items() if k not in _NOT_OUTPUT_INPUT} for spec in data["inputs"]]
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def run_id(cfg: RunConfig, inputs: Iterable[Mapping[str, Any]]) -> str:
    """sha256 over the output config hash and every input file's (ref, sha256), in ref order: the same run of the
    same data on any executor or machine has the same id; a changed input or stage parameter changes it."""
    files = sorted((str(i.get("ref") or i["uri"]), str(i["sha256"])) for i in inputs)
    payload = json.dumps({"config": output_config_sha256(cfg), "inputs": files}, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def run_metadata(cfg: RunConfig, inputs: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The pairs every file of the run carries (hashable: it travels inside the executors' task objects)."""
    return (
        (RUN_NAME, cfg.name),
        (RUN_ID, run_id(cfg, inputs)),
        (CONFIG, output_config_sha256(cfg)),
        (VERSION, package_version()),
        (SCHEMA, SCHEMA_VERSION),
    )


def with_metadata(schema: pa.Schema, pairs: Iterable[tuple[str, str]], table: str) -> pa.Schema:
    """The schema carrying the run's pairs and the table's name; pyarrow writes them as the file's key-value
    metadata (beside its own ARROW:schema)."""
    pairs = tuple(pairs)
    if not pairs:
        return schema
    return schema.with_metadata({**dict(pairs), TABLE: table})


def read_metadata(path: str, filesystem: Any = None) -> dict[str, str]:
    """The sovereign.* pairs of a Parquet file's key-value metadata."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path, filesystem=filesystem).metadata or {}
    return {k.decode(): v.decode() for k, v in meta.items() if k.startswith(PREFIX.encode())}
