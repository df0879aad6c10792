"""The rights stage on WARC records read by the real ingest (pipeline.ingest): documents from `read_unit`, host
captures from `scan_host_captures` sorted as the engine's merged evidence file is, then the batch through the
engine's stage runner (its error isolation included)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from sovereign.pipeline.ingest import WorkUnit, read_unit, scan_host_captures
from sovereign.pipeline.schema import DOCUMENT_SCHEMA, host_evidence_table
from sovereign.pipeline.stage_runner import run_batch
from sovereign.stages.base import HostEvidence
from sovereign.stages.rights import RightsStage
from tests.helpers.warc import warc_bytes

# What the extract stage would leave of the test pages' <p>; the rights stage searches it for licence phrases.
PAGE_TEXT = "Some article text."
MAX_RECORD_BYTES = 10 << 20


def ingest_warc(data: bytes, source: str = "web") -> tuple[list[dict[str, Any]], pa.Table]:
    """(documents, host-evidence table) as the engine builds them from one WARC file."""
    with tempfile.TemporaryDirectory(prefix="sovereign-rights-") as tmp:
        path = Path(tmp) / "mem.warc.gz"
        path.write_bytes(data)
        unit = WorkUnit(uri=str(path), size=len(data), format="warc", source=source, rel=path.name)
        captures = [row for batch in scan_host_captures(unit, MAX_RECORD_BYTES) for row in batch]
        docs = [doc for batch in read_unit(unit, 256, MAX_RECORD_BYTES) for doc in batch.docs]
    for doc in docs:
        doc["text"] = PAGE_TEXT
    return docs, host_evidence_table(captures)


def run_stage(records: list[dict[str, Any]], **params: Any):
    """Run the stage over the WARC's pages; returns ({url: (status, reason, evidence)}, stage, kept table)."""
    docs, evidence = ingest_warc(warc_bytes(records))
    stage = RightsStage(**params)
    stage.host_evidence = HostEvidence(evidence)
    result = run_batch([stage], pa.Table.from_pylist(docs, schema=DOCUMENT_SCHEMA))
    out = {}
    for d in result.decisions:
        out[d["url"]] = (d["status"], d["reason"], json.loads(d["evidence"]) if d["evidence"] else None)
    for row in result.kept.to_pylist():
        out[row["url"]] = ("kept", row["licence"], json.loads(row["_rights_evidence"]))
    return out, stage, result.kept
