"""The one Arrow schema of the document stream, the decision rows and the manifest.

Stages add columns; they never rename or reinterpret others. Columns whose name starts with ``_`` are
internal (raw HTML, HTTP headers): they travel between stages and are dropped before shards are written.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

# Columns every document carries from ingest on.
DOCUMENT_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),  # stable: sha256 of the source key, 32 hex chars
    pa.field("text", pa.string()),  # extracted plain text (null until extraction for HTML records)
    pa.field("url", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("source", pa.string()),  # dataset name from the run config
    # "<source>:<path relative to the input's root>#offset=N" (WARC) or "#line=N" / "#row=N": portable, never the
    # building machine's absolute path (run.json's inputs map it to the file read)
    pa.field("source_uri", pa.string()),
    pa.field("fetched_at", pa.timestamp("us", tz="UTC")),  # WARC-Date (UTC); null where unknown or unparsable
    pa.field("content_sha256", pa.string()),  # sha256 of the raw record payload (or of the text for text inputs)
    pa.field("_raw", pa.binary()),  # HTTP body (HTML) for WARC records; null for text inputs
    pa.field("_http_headers", pa.string()),  # JSON list of [name, value] pairs, as captured
    pa.field("_content_type", pa.string()),
    pa.field("_charset", pa.string()),
    pa.field("_metadata", pa.string()),  # JSON object of extra input columns (JSONL/Parquet)
]
DOCUMENT_SCHEMA = pa.schema(DOCUMENT_FIELDS)

# The shard schema is derived from the run's stages (pipeline.stage_runner.shard_schema): the document columns
# above without the internal ones, then each stage's declared public columns.

# One row per dropped or quarantined document, emitted by the stage that decided.
DECISION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("source_uri", pa.string()),
        pa.field("content_sha256", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float32()),
        pa.field("status", pa.string(), nullable=False),  # dropped | quarantined
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("evidence", pa.string()),  # short JSON; never document text or PII values
    ]
)


def evidence_json(evidence: dict[str, Any] | None) -> str | None:
    """The one serialisation of evidence (docs/evidence.md): compact, keys sorted, UTF-8 kept."""
    if evidence is None:
        return None
    return json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# manifest/part-NNNNN.parquet: one row per input record. Kept rows have no stage/reason; their evidence holds
# what a keep relied on (e.g. the licence found by the rights stage).
MANIFEST_SCHEMA = pa.schema(
    [pa.field(f.name, f.type, nullable=f.name not in ("id", "status")) for f in DECISION_SCHEMA]
    + [
        pa.field("licence", pa.string()),  # registry id (licenses/registry.yaml), as in the shards
        pa.field("shard", pa.string()),  # relative path of the shard holding a kept document
        pa.field("row", pa.int64()),  # row index inside that shard
    ]
)

# Host-level captures found in the inputs (robots.txt, /.well-known/tdmrep.json), read by the rights stage.
HOST_EVIDENCE_SCHEMA = pa.schema(
    [
        pa.field("host", pa.string()),  # scheme://host[:port], lower-case
        pa.field("kind", pa.string()),  # robots | tdmrep
        pa.field("url", pa.string()),
        pa.field("http_status", pa.int32()),
        pa.field("headers", pa.string()),  # JSON list of [name, value]
        pa.field("body", pa.binary()),
        pa.field("fetched_at", pa.string()),  # WARC-Date as captured (quoted in evidence; compared parsed)
        pa.field("source_uri", pa.string()),
        pa.field("body_bytes", pa.int64()),  # the body's length as captured (body holds at most the ingest's cap)
        pa.field("truncated", pa.bool_()),  # body was cut at the cap
    ]
)
# Sort order of the host-evidence file (also the order every executor hands captures to the rights stage).
HOST_EVIDENCE_ORDER = ("host", "kind", "fetched_at", "url", "source_uri")


def host_evidence_table(rows: list[dict]) -> pa.Table:
    """Rows sorted so that every executor hands the rights stage the same table."""
    rows = sorted(
        rows,
        key=lambda r: (r["host"] or "", r["kind"], r["fetched_at"] or "", r["url"] or "", r["source_uri"] or ""),
    )
    return pa.Table.from_pylist(rows, schema=HOST_EVIDENCE_SCHEMA)


STATUS_KEPT = "kept"
STATUS_DROPPED = "dropped"
STATUS_QUARANTINED = "quarantined"


# WARC 1.1 (ISO 28500:2017, 5.4): W3C-ISO8601 in UTC, "YYYY-MM-DDThh:mm:ssZ", optionally with a fraction of a
# second; WARC 1.0 allows only whole seconds. A regex rather than datetime.fromisoformat: that also accepts dates
# without a zone, with other offsets, or spaces, which WARC-Date never holds.
_WARC_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)


def parse_warc_date(value: str | None) -> datetime | None:
    """A WARC-Date as a UTC datetime (microseconds), or None where absent or not a valid WARC date."""
    if not value:
        return None
    m = _WARC_DATE.fullmatch(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int((m.group(7) or "").ljust(6, "0")[:6])
    try:
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    except ValueError:  # e.g. month 13, 30 February, second 60
        return None


def document_id(source_key: str) -> str:
    """Stable id from what identifies the record at its source (WARC-Record-ID, or URI + offset)."""
    return hashlib.sha256(source_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def empty_documents() -> pa.Table:
    return DOCUMENT_SCHEMA.empty_table()
