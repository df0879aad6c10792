"""Host-level captures (robots.txt, /.well-known/tdmrep.json): the table the engine builds, and lookups in it.

The engine collects WARC response records whose URL path is /robots.txt or /.well-known/tdmrep.json from all
inputs into one Parquet file sorted by host; the rights stage indexes its metadata once per worker
(``HostIndex``) and reads a capture's body only when a document of that host needs it.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from sovereign.pipeline.schema import (
    HOST_EVIDENCE_SCHEMA,  # noqa: F401 - re-exported: one definition, shared with the engine
    parse_warc_date,
)
from sovereign.pipeline.schema import host_evidence_table as canonical_host_evidence_table
from sovereign.stages.rights.redact import shape

ROBOTS_PATH = "/robots.txt"
TDMREP_PATH = "/.well-known/tdmrep.json"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str | None:
    """``scheme://host[:port]`` in lower case, default port dropped; None for a URL without a host."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host or parts.scheme.lower() not in _DEFAULT_PORTS:
        return None
    scheme = parts.scheme.lower()
    netloc = host.lower() if port in (None, _DEFAULT_PORTS[scheme]) else f"{host.lower()}:{port}"
    return f"{scheme}://{netloc}"


def capture_kind(url: str) -> str | None:
    """ "robots" or "tdmrep" when the URL is a host capture, else None (the engine's routing rule)."""
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return None
    if path == ROBOTS_PATH:
        return "robots"
    if path == TDMREP_PATH:
        return "tdmrep"
    return None


def host_evidence_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Build the host-evidence table from capture dicts (keys as in HOST_EVIDENCE_SCHEMA; ``headers`` may be a
    list of pairs or its JSON; ``host`` and ``kind`` are derived from ``url`` when absent). Rows are sorted so
    the table is the same whatever order the inputs were read in."""
    out = []
    for row in rows:
        url = row.get("url") or ""
        headers = row.get("headers")
        if headers is not None and not isinstance(headers, str):
            headers = json.dumps([list(p) for p in headers], ensure_ascii=False, separators=(",", ":"))
        body = row.get("body")
        if isinstance(body, str):
            body = body.encode("utf-8")
        status = row.get("http_status")
        host = row.get("host") or host_key(url)
        kind = row.get("kind") or capture_kind(url)
        if not host or kind not in ("robots", "tdmrep"):
            raise ValueError(f"not a host capture (need a robots.txt or tdmrep.json URL): {url[:200]!r}")
        out.append(
            {
                "host": host.lower(),
                "kind": kind,
                "url": url,
                "http_status": None if status is None else int(status),
                "headers": headers,
                "body": body,
                "fetched_at": row.get("fetched_at"),
                "source_uri": row.get("source_uri"),
            }
        )
    return canonical_host_evidence_table(out)


def header_pairs(headers_json: str | None) -> list[tuple[str, str]]:
    """The captured [name, value] pairs; malformed JSON gives no headers (the ingest writes valid JSON)."""
    if not headers_json:
        return []
    try:
        pairs = json.loads(headers_json)
    except ValueError:
        return []
    out = []
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            out.append((str(pair[0]), str(pair[1])))
    return out


def header_values(pairs: list[tuple[str, str]], name: str) -> list[str]:
    """Values of one field, names compared case-insensitively (RFC 9110), OWS trimmed."""
    lname = name.lower()
    return [v.strip() for n, v in pairs if n.strip().lower() == lname]


class Capture:
    """One capture's metadata; its headers and body are read on demand from where the index keeps them."""

    __slots__ = (
        "host",
        "kind",
        "url",
        "http_status",
        "fetched_at",
        "when",
        "source_uri",
        "truncated",
        "_row",
        "_bodies",
    )

    def __init__(self, row: dict[str, Any], index: int, bodies: _Bodies) -> None:
        self.host: str = row.get("host") or ""
        self.kind: str = row.get("kind") or ""
        self.url: str = row.get("url") or ""
        self.http_status: int | None = row.get("http_status")
        self.fetched_at: str | None = row.get("fetched_at")  # as captured: quoted in evidence
        self.when: datetime | None = parse_warc_date(self.fetched_at)  # compared with the documents' fetched_at
        self.source_uri: str | None = row.get("source_uri")
        self.truncated: bool = bool(row.get("truncated"))
        self._row = index
        self._bodies = bodies

    @property
    def headers(self) -> str | None:
        return self._bodies.get(self._row)[0]

    @property
    def body(self) -> bytes | None:
        return self._bodies.get(self._row)[1]

    def ref(self) -> dict[str, Any]:
        """What identifies the capture in evidence."""
        # The capture's URL may carry a query (robots.txt?user=...): shaped like every value quoted from the crawl.
        out = {"url": shape(self.url), "status": self.http_status, "fetched_at": self.fetched_at}
        out["source"] = self.source_uri
        if self.truncated:
            out["truncated"] = True  # the body was cut at the ingest's cap (pipeline.ingest.CAPTURE_MAX_BYTES)
        return out


_UNDATED = datetime.min.replace(tzinfo=UTC)  # an undated capture counts as taken before any document
_META_COLUMNS = ("host", "kind", "url", "http_status", "fetched_at", "source_uri", "truncated")


class _Bodies:
    """Headers and bodies by row: from an in-memory table, or from a Parquet file one row group at a time (the
    merged evidence file's groups hold a few MiB), with the last few groups cached."""

    def __init__(self, table: pa.Table | None = None, path: str | None = None, filesystem: Any = None) -> None:
        self.table = table.select(["headers", "body"]) if table is not None else None
        self.file = pq.ParquetFile(path, filesystem=filesystem) if path is not None else None
        self.starts: list[int] = []
        if self.file is not None:
            n = 0
            for g in range(self.file.metadata.num_row_groups):
                self.starts.append(n)
                n += self.file.metadata.row_group(g).num_rows
        self.groups: BoundedCache = BoundedCache(4)

    def metadata(self) -> pa.Table:
        if self.file is not None:
            names = [c for c in _META_COLUMNS if c in self.file.schema_arrow.names]
            return self.file.read(columns=names)
        return pa.table({})

    def get(self, row: int) -> tuple[str | None, bytes | None]:
        if self.table is not None:
            return self.table.column("headers")[row].as_py(), self.table.column("body")[row].as_py()
        assert self.file is not None
        g = bisect.bisect_right(self.starts, row) - 1
        if g not in self.groups:
            self.groups[g] = self.file.read_row_group(g, columns=["headers", "body"])
        group = self.groups[g]
        i = row - self.starts[g]
        return group.column("headers")[i].as_py(), group.column("body")[i].as_py()


class BoundedCache(OrderedDict):
    """A dict that keeps its `maxsize` most recently used entries (parsed captures, row groups), so what a worker
    holds does not grow with the number of hosts it meets."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


class HostIndex:
    """Captures by (host, kind) and by URL (for redirects); chooses the capture in force for a document.

    Only metadata is held per capture; headers and bodies stay where the evidence is (see _Bodies)."""

    def __init__(self, table: pa.Table | None = None) -> None:
        self.by_host: dict[tuple[str, str], list[Capture]] = defaultdict(list)
        self.by_url: dict[str, list[Capture]] = defaultdict(list)
        if table is not None and table.num_rows:
            names = [c for c in _META_COLUMNS if c in table.column_names]
            self._add(table.select(names), _Bodies(table=table))
        self._sort()

    @classmethod
    def from_evidence(cls, evidence: Any, extra: pa.Table | None = None) -> HostIndex:
        """From a stages.base.HostEvidence (a table, or a file read lazily) plus extra captures in memory."""
        index = cls(extra)
        if evidence is not None and evidence.path is not None:
            bodies = _Bodies(path=evidence.path, filesystem=evidence.filesystem)
            index._add(bodies.metadata(), bodies)
        elif evidence is not None and evidence.table is not None and evidence.table.num_rows:
            names = [c for c in _META_COLUMNS if c in evidence.table.column_names]
            index._add(evidence.table.select(names), _Bodies(table=evidence.table))
        index._sort()
        return index

    def _add(self, meta: pa.Table, bodies: _Bodies) -> None:
        for i, row in enumerate(meta.to_pylist()):
            cap = Capture(row, i, bodies)
            # Re-derive the key from the URL so ":443"-style default ports match the documents' hosts.
            key = host_key(cap.url or "") or (cap.host or "").lower()
            self.by_host[(key, cap.kind)].append(cap)
            self.by_url[cap.url].append(cap)

    def _sort(self) -> None:
        for caps in list(self.by_host.values()) + list(self.by_url.values()):
            # by time (an undated capture first), not by the WARC-Date string: "00.5Z" sorts before "00Z"
            caps.sort(key=lambda c: (c.when or _UNDATED, c.fetched_at or "", c.url, c.source_uri or ""))

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_host.values())

    @staticmethod
    def _pick(caps: list[Capture], fetched_at: datetime | str | None, snapshot: str) -> Capture | None:
        if not caps:
            return None
        when = fetched_at if isinstance(fetched_at, datetime) or fetched_at is None else parse_warc_date(fetched_at)
        if snapshot == "latest" or when is None:
            return caps[-1]
        before = [c for c in caps if (c.when or _UNDATED) <= when]
        return before[-1] if before else caps[0]

    def find(
        self, host: str, kind: str, fetched_at: datetime | str | None, snapshot: str = "crawl-time"
    ) -> Capture | None:
        return self._pick(self.by_host.get((host, kind), []), fetched_at, snapshot)

    def follow(self, cap: Capture, max_redirects: int, snapshot: str) -> tuple[Capture | None, list[str]]:
        """Follow 3xx captures through the captures we hold (RFC 9309 2.3.1.2); None when the chain leaves them
        or is too long. Returns the final capture and the chain of URLs."""
        chain = [cap.url]
        cur: Capture | None = cap
        for _ in range(max_redirects + 1):
            if cur is None or cur.http_status is None or not 300 <= cur.http_status < 400:
                return cur, chain
            loc = header_values(header_pairs(cur.headers), "location")
            if not loc:
                return None, chain
            target = urljoin(cur.url, loc[0])
            chain.append(target)
            cur = self._pick(self.by_url.get(target, []), cur.when, snapshot)
        return None, chain


def load_robots_source(path: str) -> list[dict[str, Any]]:
    """Extra robots evidence: a WARC file (its robots.txt / tdmrep.json responses) or a folder of ``<host>.txt``
    robots.txt files (status 200, applied to both http and https of that host)."""
    p = Path(path)
    if p.is_dir():
        rows = []
        for f in sorted(p.glob("*.txt")):
            hostname = f.name[: -len(".txt")].lower()
            for scheme in ("http", "https"):
                rows.append(
                    {
                        "host": f"{scheme}://{hostname}",
                        "kind": "robots",
                        "url": f"{scheme}://{hostname}{ROBOTS_PATH}",
                        "http_status": 200,
                        "headers": [],
                        "body": f.read_bytes(),
                        "fetched_at": None,
                        "source_uri": f.resolve().as_uri(),
                    }
                )
        return rows
    return captures_from_warc(str(p))


def captures_from_warc(path: str) -> list[dict[str, Any]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    rows = []
    uri = Path(path).resolve().as_uri()
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            url = (rec.headers.get("WARC-Target-URI") or "").strip().strip("<>")
            if capture_kind(url) is None or host_key(url) is None or rec.http_headers is None:
                continue
            rows.append(
                {
                    "url": url,
                    "http_status": rec.http_headers.status_code,
                    "headers": [[k, v] for k, v in rec.http_headers.items()],
                    "body": rec.reader.read(),
                    "fetched_at": rec.headers.get("WARC-Date"),
                    "source_uri": f"{uri}#offset={rec.stream_pos}",
                }
            )
    return rows
