"""A loopback HTTP proxy in front of an S3 server (moto_server) that injects faults, and counts requests.

Faults are decided per request from (seed, method, target, Range, how often that request was seen), never by thread
timing, so the same run sees the same faults. A request is faulted at most `max_consecutive` times in a row, so a
client that retries more often than that always gets through. Kinds:
  drop      read the request, close the connection without a response
  reset     read the request, close with a TCP RST (SO_LINGER 0): "connection reset by peer"
  slowdown  503 with S3's SlowDown error XML
  error500  500 with S3's InternalError error XML
  cut       GET only: forward it, send the headers and half the body, then close (a read that dies mid-stream)
  delay     wait `delay_s`, then forward normally (not a failure)
Hand-rolled on the stdlib because the tests may add no dependency and no library injects S3-shaped faults.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

FAULT_KINDS = ("drop", "reset", "slowdown", "error500", "cut", "delay")
_ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    "<RequestId>fault-proxy</RequestId></Error>"
)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


@dataclass
class FaultRates:
    """Share of requests per fault kind (their sum at most 1)."""

    drop: float = 0.0
    reset: float = 0.0
    slowdown: float = 0.0
    error500: float = 0.0
    cut: float = 0.0
    delay: float = 0.0

    def pick(self, r: float, method: str) -> str | None:
        for kind in FAULT_KINDS:
            share = getattr(self, kind)
            if r < share:
                return None if kind == "cut" and method != "GET" else kind
            r -= share
        return None


@dataclass
class ProxyStats:
    requests: int = 0
    by_method: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    bytes_out: int = 0  # response body bytes sent to the client
    events: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, method, target, range) per fault

    @property
    def failures(self) -> int:
        """Faults the client had to retry (delays are not failures)."""
        return sum(n for kind, n in self.faults.items() if kind != "delay")


class FaultProxy:
    def __init__(
        self,
        upstream_port: int,
        rates: FaultRates | None = None,
        seed: int = 0,
        max_consecutive: int = 2,
        delay_s: float = 0.2,
    ) -> None:
        self.upstream_port = upstream_port
        self.rates = rates or FaultRates()
        self.seed = seed
        self.max_consecutive = max_consecutive
        self.delay_s = delay_s
        self.stats = ProxyStats()
        self._seen: Counter = Counter()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _close_quietly(conn)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _decide(self, method: str, target: str, rng_range: str) -> str | None:
        key = f"{method} {target} {rng_range}"
        with self._lock:
            seen = self._seen[key]
            self._seen[key] += 1
            self.stats.requests += 1
            self.stats.by_method[method] += 1
            digest = hashlib.sha256(f"{self.seed}\0{key}\0{seen}".encode()).digest()
            kind = self.rates.pick(random.Random(digest).random(), method)
            failing = kind not in (None, "delay")
            if failing and self._seen[f"fail {key}"] >= self.max_consecutive:
                kind, failing = None, False  # only max_consecutive failures in a row: this attempt goes through
            self._seen[f"fail {key}"] = self._seen[f"fail {key}"] + 1 if failing else 0
            if kind is not None:
                self.stats.faults[kind] += 1
                self.stats.events.append((kind, method, target, rng_range))
        return kind

    def _serve(self, conn: socket.socket) -> None:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        reader = conn.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                method, target, headers, body = request
                kind = self._decide(method, target, _header(headers, "range") or "")
                if kind == "drop":
                    return
                if kind == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if kind in ("slowdown", "error500"):
                    code, status, message = (
                        ("SlowDown", 503, "Please reduce your request rate.")
                        if kind == "slowdown"
                        else ("InternalError", 500, "We encountered an internal error. Please try again.")
                    )
                    xml = _ERROR_XML.format(code=code, message=message).encode()
                    reason = "Slow Down" if status == 503 else "Internal Server Error"
                    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
                    conn.sendall(f"{head}Content-Length: {len(xml)}\r\n\r\n".encode() + xml)
                    continue
                if kind == "delay":
                    time.sleep(self.delay_s)
                upstream.request(method, target, body=body, headers=dict(headers))
                resp = upstream.getresponse()
                data = resp.read()
                out = [f"HTTP/1.1 {resp.status} {resp.reason}"]
                for name, value in resp.getheaders():
                    if name.lower() in _HOP_HEADERS or (name.lower() == "content-length" and method != "HEAD"):
                        continue
                    out.append(f"{name}: {value}")
                if method != "HEAD":
                    out.append(f"Content-Length: {len(data)}")
                head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
                if kind == "cut" and len(data) > 1:
                    conn.sendall(head + data[: len(data) // 2])
                    return
                conn.sendall(head + (b"" if method == "HEAD" else data))
                with self._lock:
                    self.stats.bytes_out += len(data)
        except (OSError, http.client.HTTPException):
            return
        finally:
            upstream.close()
            with self._lock:
                self._conns.discard(conn)
            _close_quietly(conn)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _read_request(reader) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    line = reader.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while (raw := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    if (_header(headers, "transfer-encoding") or "").lower() == "chunked":
        body = b""
        while (size := int(reader.readline().split(b";")[0], 16)) > 0:
            body += reader.read(size)
            reader.readline()
        while reader.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        headers.append(("Content-Length", str(len(body))))
    else:
        body = reader.read(int(_header(headers, "content-length") or 0))
    headers = [(k, v) for k, v in headers if k.lower() not in _HOP_HEADERS]
    return method, target, headers, body


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
