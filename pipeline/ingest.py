"""Readers: WARC/WARC.gz (fastwarc), JSONL and Parquet documents, each turned into DOCUMENT_SCHEMA rows.

Every record read ends as a document, or as a decision row (dropped: not a document; quarantined: unreadable),
so the manifest can account for all of them. Reasons and evidence never quote record content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.schema import STATUS_DROPPED, STATUS_QUARANTINED, document_id
from pipeline.storage import S3Settings, filesystem_for

STAGE = "ingest"
HOST_CAPTURE_PATHS = {"/robots.txt": "robots", "/.well-known/tdmrep.json": "tdmrep"}
DOCUMENT_RECORD_TYPES = {"response", "resource"}


@dataclass(frozen=True)
class WorkUnit:
    """One input file: the unit of parallelism, of resume and of input provenance."""

    uri: str
    size: int
    format: str  # warc | jsonl | parquet
    source: str
    text_column: str = "text"
    id_column: str | None = "id"
    url_column: str | None = "url"
    licence_column: str | None = None
    rel: str = ""  # path relative to the input's base folder: ids do not change when the corpus moves

    @property
    def key(self) -> str:
        return hashlib.sha256(self.uri.encode()).hexdigest()[:20]

    def record_key(self, suffix: str) -> str:
        """What a record's id is derived from: dataset, file (relative to its input) and record within it."""
        return f"{self.source}\0{self.rel or self.uri.rsplit('/', 1)[-1]}\0{suffix}"


@dataclass
class IngestBatch:
    docs: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.docs) + len(self.decisions) + len(self.evidence)


def detect_format(uri: str, declared: str) -> str:
    if declared != "auto":
        return declared
    name = uri.lower().rsplit("/", 1)[-1]
    for suffix in (".gz", ".zst", ".bz2"):
        if name.endswith(suffix) and not name.endswith(".warc" + suffix):
            name = name[: -len(suffix)]
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    return "warc"


def _record(
    rid_key: str, source_uri: str, reason: str, evidence: dict[str, Any], status: str, url: str | None = None
) -> dict[str, Any]:
    return {
        "id": document_id(rid_key),
        "url": url,
        "source_uri": source_uri,
        "content_sha256": None,
        "language": None,
        "language_score": None,
        "status": status,
        "stage": STAGE,
        "reason": reason,
        "evidence": json.dumps(evidence, sort_keys=True, separators=(",", ":")),
    }


def _clean_url(url: str | None) -> str | None:
    if url is None:
        return None
    url = url.strip()
    if url.startswith("<") and url.endswith(">"):  # wget writes <uri>
        url = url[1:-1]
    return url


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return (urlsplit(url).hostname or None) if "://" in url else None
    except ValueError:
        return None


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}{port}"


class _Batcher:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.current = IngestBatch()

    def full(self) -> bool:
        return len(self.current) >= self.batch_size

    def take(self) -> IngestBatch:
        out, self.current = self.current, IngestBatch()
        return out


def read_unit(
    unit: WorkUnit, batch_size: int, max_record_bytes: int, s3: S3Settings | None = None
) -> Iterator[IngestBatch]:
    """Batches of documents, decisions and host captures for one input file. Never raises for bad data."""
    fs, path = filesystem_for(unit.uri, s3)
    batcher = _Batcher(batch_size)
    if unit.size == 0:
        batcher.current.decisions.append(
            _record(unit.record_key("file"), unit.uri, "ingest:empty-file", {"bytes": 0}, STATUS_QUARANTINED)
        )
        yield batcher.take()
        return
    reader = {"warc": _read_warc, "jsonl": _read_jsonl, "parquet": _read_parquet}[unit.format]
    yield from reader(unit, fs, path, batcher, max_record_bytes)
    if len(batcher.current):
        yield batcher.take()


def _unreadable(unit: WorkUnit, where: str, exc: BaseException, records_read: int) -> dict[str, Any]:
    return _record(
        unit.record_key(f"unreadable@{where}"),
        f"{unit.uri}#{where}",
        "ingest:unreadable-data",
        {"error": type(exc).__name__, "after": where, "records_read": records_read},
        STATUS_QUARANTINED,
    )


def _read_warc(
    unit: WorkUnit, fs: pafs.FileSystem, path: str, batcher: _Batcher, max_bytes: int
) -> Iterator[IngestBatch]:
    from fastwarc.warc import ArchiveIterator

    seen_ids: set[str] = set()
    n = 0
    last_offset = 0
    intact_end = gzip_intact_end(fs, path)
    try:
        stream = open(path, "rb") if isinstance(fs, pafs.LocalFileSystem) else fs.open_input_file(path)  # noqa: SIM115
        with stream:
            for record in ArchiveIterator(stream, parse_http=False, auto_decode="all"):
                if intact_end is not None and record.stream_pos >= intact_end:
                    break  # fastwarc returns cut-off gzip members silently (or as empty records)
                n += 1
                last_offset = record.stream_pos
                _warc_record(unit, record, batcher.current, seen_ids, max_bytes)
                if batcher.full():
                    yield batcher.take()
        if intact_end is not None and intact_end < unit.size:
            batcher.current.decisions.append(
                _record(
                    unit.record_key(f"truncated@{intact_end}"),
                    f"{unit.uri}#offset={intact_end}",
                    "ingest:truncated-data",
                    {"after_offset": intact_end, "bytes_unreadable": unit.size - intact_end, "records_read": n},
                    STATUS_QUARANTINED,
                )
            )
            return
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - fastwarc raises OSError, and panics on some inputs
        batcher.current.decisions.append(_unreadable(unit, f"offset={last_offset}", exc, n))
        return
    if n == 0:
        batcher.current.decisions.append(
            _record(unit.record_key("file"), unit.uri, "ingest:no-records", {"bytes": unit.size}, STATUS_QUARANTINED)
        )


def gzip_intact_end(fs: pafs.FileSystem, path: str) -> int | None:
    """For a gzip file, the offset where its last complete member ends (== size when intact); None otherwise.

    fastwarc skips a cut-off last member without an error, so truncation is checked with zlib: one streaming
    inflate pass, which costs far less than extraction does."""
    import zlib

    with fs.open_input_stream(path, compression=None) as fh:
        head = fh.read(1 << 20)
        if not head.startswith(b"\x1f\x8b"):
            return None
        offset = 0  # compressed bytes consumed before `buf`
        member_end = 0
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        buf = head
        while True:
            if not buf:
                buf = fh.read(1 << 20)
                if not buf:
                    return member_end
            try:
                d.decompress(buf, 0)
                while d.unconsumed_tail:
                    d.decompress(d.unconsumed_tail, 1 << 16)
            except zlib.error:
                return member_end
            if d.eof:
                used = len(buf) - len(d.unused_data)
                offset += used
                member_end = offset
                buf = d.unused_data
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                if buf and not buf.startswith(b"\x1f"):
                    return member_end  # trailing garbage after the last member
                continue
            offset += len(buf)
            buf = b""


def _warc_record(unit: WorkUnit, record: Any, out: IngestBatch, seen_ids: set[str], max_bytes: int) -> None:
    offset = record.stream_pos
    source_uri = f"{unit.uri}#offset={offset}"
    rtype = str(record.record_type)
    url = _clean_url(record.headers.get("WARC-Target-URI"))
    record_id = record.record_id or ""
    suffix = record_id if record_id and record_id not in seen_ids else f"offset={offset}"
    key = unit.record_key(suffix)
    seen_ids.add(record_id)

    def decide(reason: str, evidence: dict[str, Any], status: str = STATUS_DROPPED) -> None:
        row = _record(key, source_uri, reason, evidence, status, url)
        out.decisions.append(row)

    if rtype not in DOCUMENT_RECORD_TYPES:
        decide("ingest:not-a-document-record", {"warc_type": rtype})
        return
    if record.content_length > max_bytes:
        decide("ingest:record-too-large", {"bytes": record.content_length, "limit": max_bytes}, STATUS_QUARANTINED)
        return
    http_headers: list[list[str]] = []
    status_code: int | None = None
    if rtype == "response":
        try:
            record.parse_http()
            parsed = record.http_headers is not None and record.http_headers.status_code is not None
        except Exception:  # noqa: BLE001 - garbage header blocks
            parsed = False
        if not parsed:
            decide("ingest:bad-http-headers", {"warc_type": rtype}, STATUS_QUARANTINED)
            return
        status_code = record.http_headers.status_code
        http_headers = [[k, v] for k, v in record.http_headers.astuples()]
        content_type = record.http_content_type
        charset = record.http_charset
    else:
        content_type = (record.headers.get("Content-Type") or "").split(";")[0].strip().lower() or None
        charset = None
    body = record.reader.read()
    if len(body) < record.content_length and rtype == "resource":
        decide("ingest:truncated-record", {"bytes": len(body), "declared": record.content_length}, STATUS_QUARANTINED)
        return
    if url:
        parts = urlsplit(url) if "://" in url else None
        kind = HOST_CAPTURE_PATHS.get(parts.path) if parts else None
        if kind:
            out.evidence.append(
                {
                    "host": _origin(url),
                    "kind": kind,
                    "url": url,
                    "http_status": status_code,
                    "headers": json.dumps(http_headers, ensure_ascii=False),
                    "body": body,
                    "fetched_at": record.headers.get("WARC-Date"),
                    "source_uri": source_uri,
                }
            )
            decide("ingest:host-capture", {"kind": kind, "http_status": status_code})
            return
    if status_code is not None and not 200 <= status_code < 300:
        decide("ingest:http-status", {"http_status": status_code})
        return
    out.docs.append(
        {
            "id": document_id(key),
            "text": None,
            "url": url,
            "domain": _host(url),
            "source": unit.source,
            "source_uri": source_uri,
            "fetched_at": record.headers.get("WARC-Date"),
            "content_sha256": hashlib.sha256(body).hexdigest(),
            "_raw": body,
            "_http_headers": json.dumps(http_headers, ensure_ascii=False),
            "_content_type": content_type,
            "_charset": charset,
            "_metadata": None,
        }
    )


def _text_doc(unit: WorkUnit, key: str, source_uri: str, row: dict[str, Any], text: str) -> dict[str, Any]:
    url = row.get(unit.url_column) if unit.url_column else None
    url = str(url) if url is not None else None
    meta = {
        k: v for k, v in row.items() if k not in {unit.text_column, unit.id_column, unit.url_column} and v is not None
    }
    if unit.id_column and row.get(unit.id_column) is not None:
        meta["source_id"] = str(row[unit.id_column])
    if unit.licence_column and row.get(unit.licence_column) is not None:
        meta["licence"] = str(row[unit.licence_column])
    return {
        "id": document_id(key),
        "text": text,
        "url": url,
        "domain": _host(url),
        "source": unit.source,
        "source_uri": source_uri,
        "fetched_at": None,
        "content_sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        "_raw": None,
        "_http_headers": None,
        "_content_type": "text/plain",
        "_charset": None,
        "_metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str) if meta else None,
    }


def _doc_key(unit: WorkUnit, row: dict[str, Any], position: str) -> str:
    if unit.id_column and row.get(unit.id_column) is not None:
        return unit.record_key(f"id={row[unit.id_column]}")
    return unit.record_key(position)


def _read_jsonl(
    unit: WorkUnit, fs: pafs.FileSystem, path: str, batcher: _Batcher, max_bytes: int
) -> Iterator[IngestBatch]:
    line_no = 0
    seen: set[str] = set()
    try:
        with fs.open_input_stream(path, compression="detect") as stream:
            pending = b""
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line_no += 1
                    _jsonl_line(unit, raw, line_no, batcher.current, max_bytes, seen)
                    if batcher.full():
                        yield batcher.take()
            if pending.strip():
                line_no += 1
                _jsonl_line(unit, pending, line_no, batcher.current, max_bytes, seen)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - truncated gzip, I/O errors
        batcher.current.decisions.append(_unreadable(unit, f"line={line_no}", exc, line_no))
        return
    if line_no == 0:
        batcher.current.decisions.append(
            _record(unit.record_key("file"), unit.uri, "ingest:no-records", {"bytes": unit.size}, STATUS_QUARANTINED)
        )


def _jsonl_line(unit: WorkUnit, raw: bytes, line_no: int, out: IngestBatch, max_bytes: int, seen: set[str]) -> None:
    if not raw.strip():
        return
    source_uri = f"{unit.uri}#line={line_no}"

    def quarantine(reason: str, evidence: dict[str, Any]) -> None:
        out.decisions.append(
            _record(unit.record_key(f"line={line_no}"), source_uri, reason, evidence, STATUS_QUARANTINED)
        )

    if len(raw) > max_bytes:
        return quarantine("ingest:record-too-large", {"bytes": len(raw), "limit": max_bytes})
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return quarantine("ingest:invalid-utf8", {"byte_offset": exc.start})
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return quarantine("ingest:invalid-json", {"column": exc.colno, "error": "JSONDecodeError"})
    if not isinstance(row, dict):
        return quarantine("ingest:invalid-json", {"error": f"expected an object, got {type(row).__name__}"})
    text = row.get(unit.text_column)
    if not isinstance(text, str):
        return quarantine("ingest:missing-text", {"column": unit.text_column})
    key = _doc_key(unit, row, f"line={line_no}")
    if key in seen:
        key = unit.record_key(f"line={line_no}")
    seen.add(key)
    out.docs.append(_text_doc(unit, key, source_uri, row, text))


def _read_parquet(
    unit: WorkUnit, fs: pafs.FileSystem, path: str, batcher: _Batcher, max_bytes: int
) -> Iterator[IngestBatch]:
    row_no = 0
    seen: set[str] = set()
    try:
        with fs.open_input_file(path) as fh:
            pfile = pq.ParquetFile(fh)
            for rb in pfile.iter_batches(batch_size=batcher.batch_size):
                for row in rb.to_pylist():
                    position = f"row={row_no}"
                    source_uri = f"{unit.uri}#{position}"
                    row_no += 1
                    text = row.get(unit.text_column)
                    problem: tuple[str, dict[str, Any]] | None = None
                    if not isinstance(text, str):
                        problem = ("ingest:missing-text", {"column": unit.text_column})
                    elif len(text) > max_bytes:
                        problem = ("ingest:record-too-large", {"bytes": len(text.encode()), "limit": max_bytes})
                    if problem:
                        batcher.current.decisions.append(
                            _record(unit.record_key(position), source_uri, *problem, STATUS_QUARANTINED)
                        )
                        continue
                    key = _doc_key(unit, row, position)
                    if key in seen:
                        key = unit.record_key(position)
                    seen.add(key)
                    batcher.current.docs.append(_text_doc(unit, key, source_uri, row, text))
                    if batcher.full():
                        yield batcher.take()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - not a Parquet file, corrupt pages
        batcher.current.decisions.append(_unreadable(unit, f"row={row_no}", exc, row_no))


def _is_host_capture(record: Any) -> bool:
    url = _clean_url(record.headers.get("WARC-Target-URI"))
    if not url or "://" not in url:
        return False
    try:
        return urlsplit(url).path in HOST_CAPTURE_PATHS
    except ValueError:
        return False


def scan_host_captures(unit: WorkUnit, max_record_bytes: int, s3: S3Settings | None = None) -> list[dict[str, Any]]:
    """Host-level captures only (robots.txt, tdmrep.json), read before the main pass so that the rights stage
    sees every host's evidence whichever input file it sits in. Unreadable data is left to the main pass."""
    from fastwarc.warc import ArchiveIterator

    fs, path = filesystem_for(unit.uri, s3)
    batch = IngestBatch()
    try:
        stream = open(path, "rb") if isinstance(fs, pafs.LocalFileSystem) else fs.open_input_file(path)  # noqa: SIM115
        with stream:
            for record in ArchiveIterator(stream, parse_http=False, auto_decode="all", func_filter=_is_host_capture):
                _warc_record(unit, record, batch, set(), max_record_bytes)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - the main pass quarantines it with a reason
        pass
    return batch.evidence
