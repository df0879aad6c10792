"""One streaming walk over the members of a gzip file, shared by the reader's truncation check and verify's
independent record count."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

STEP = 1 << 16  # inflated bytes per zlib call: a decompression bomb costs time, never memory
READ = 1 << 20


def gzip_members(fh: Any, head: bytes, keep: int = 7) -> Iterator[tuple[int, bytes]]:
    """(offset where the member ends, its first ``keep`` inflated bytes) for each complete member of the gzip stream
    whose first bytes are ``head`` and whose rest ``fh.read`` returns. Stops at a cut-off member, a zlib error or
    trailing bytes that are not gzip; the inflated data is discarded as it comes."""
    offset = 0  # compressed bytes consumed before `buf`
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    buf, start = head, b""
    while True:
        if not buf:
            buf = fh.read(READ)
            if not buf:
                return
        try:
            out = d.decompress(buf, STEP)
            start += out[: keep - len(start)]
            while d.unconsumed_tail and not d.eof:
                out = d.decompress(d.unconsumed_tail, STEP)
                start += out[: keep - len(start)]
            while not d.eof and (out := d.decompress(b"", STEP)):  # output zlib still holds after all the input
                start += out[: keep - len(start)]
        except zlib.error:
            return
        if not d.eof:
            offset += len(buf)
            buf = b""
            continue
        offset += len(buf) - len(d.unused_data)
        yield offset, start
        buf, d, start = d.unused_data, zlib.decompressobj(16 + zlib.MAX_WBITS), b""
        if buf and not buf.startswith(b"\x1f"):
            return  # trailing garbage after the last member
