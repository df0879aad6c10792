"""A release's documents and manifest carry the release in their own Parquet key-value metadata (issue 12: a file
found alone, far from release.json, still says which run and release it belongs to).

A run's files cannot hold the run's root hash (it hashes them) nor a release version (a run is released later,
maybe twice), so the release writes each Parquet file anew: the same row groups, rows and writer options, the run's
metadata kept, plus ``sovereign.run_root_hash``, ``sovereign.release_name`` and ``sovereign.release_version``.
The run's file is checked against the digest the run recorded before it is read; release.json keeps that digest
as ``source_sha256`` beside the new file's own sha256."""

from __future__ import annotations

import pyarrow.parquet as pq

from sovereign.pipeline.storage import PARQUET_OPTIONS, ROW_GROUP_SIZE, Store, sha256_stream

RUN_ROOT_HASH = "sovereign.run_root_hash"
RELEASE_NAME = "sovereign.release_name"
RELEASE_VERSION = "sovereign.release_version"


def stamped_metadata(run_root_hash: str, name: str, version: str) -> dict[str, str]:
    return {RUN_ROOT_HASH: run_root_hash, RELEASE_NAME: name, RELEASE_VERSION: version}


def stamp_parquet(src: Store, src_rel: str, dest: Store, dest_rel: str, extra: dict[str, str]) -> tuple[str, int, str]:
    """(sha256, bytes) of the stamped file at dest_rel and the sha256 of the run's file it was made from."""
    source_sha256, _ = sha256_stream(src.fs, src.path(src_rel))
    with src.fs.open_input_file(src.path(src_rel)) as raw:
        parquet = pq.ParquetFile(raw)
        schema = parquet.schema_arrow
        kept = {k: v for k, v in (schema.metadata or {}).items() if k != b"ARROW:schema"}
        schema = schema.with_metadata({**kept, **{k.encode(): v.encode() for k, v in extra.items()}})
        with dest.open_output(dest_rel) as out:
            with pq.ParquetWriter(out, schema, **PARQUET_OPTIONS) as writer:
                for i in range(parquet.num_row_groups):
                    writer.write_table(parquet.read_row_group(i), row_group_size=ROW_GROUP_SIZE)
    digest_hex, size = sha256_stream(dest.fs, dest.path(dest_rel))
    return digest_hex, size, source_sha256
